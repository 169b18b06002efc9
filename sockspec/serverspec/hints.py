"""The usual causes the harness itself names, in the course's words, when a failure shows one.

A test's own usual cause is its `likely_bug` marker; these are the causes a
failure can show whatever the test (a server that spins while measured idle,
one that stops serving while others are connected), so the handle attaches
them where it sees them.
"""

from __future__ import annotations

import signal

from sockspec.failure import Hint
from sockspec.i18n import N_

NOT_CONCURRENT = Hint(
    N_(
        "the server stops answering while other clients are connected: a forking or threaded server must "
        "hand each accepted connection to a new child process or thread and go straight back to accept(); "
        "an evented server must wait for every socket at once (select/poll/epoll), never block in one recv()"
    ),
    causes=("not-concurrent", "concurrency-cap"),
    general=True,
)
CAPPED = Hint(
    N_(
        "the server serves a fixed number of clients at once and no more (a table of client slots, a "
        "thread or process pool, socketserver's max_children = 40): size it for every client the "
        "assignment expects, or do not limit it"
    ),
    causes=("concurrency-cap", "slots-never-freed"),
    general=True,
)
CROWD = Hint(
    N_(
        "the server is slow to serve each new client: threads or child processes that spin (a "
        "non-blocking recv() in a loop, `continue` on recv() < 0) while their client is silent eat "
        "the CPU the others need (block in recv(), or select()/poll(), instead), or every reply is held "
        "back (a sleep before sending, TCP_CORK never taken off)"
    ),
    causes=("busy-poll", "not-concurrent"),
    general=True,
)
BEFORE_THE_MODEL = Hint(
    N_(
        "an ordinary exchange went wrong before the model could be looked at: the server did not answer "
        "a client as an echo server must (it closed or reset the connection, or never replied); the "
        "send/recv, close and lifecycle tests say why"
    ),
    causes=(),
    general=True,
)
NOT_CLOSED = Hint(
    N_("a socket is never closed: close() the accepted socket when its client is done"),
    causes=("fd-leak", "no-close-on-eof"),
    general=True,
)
SPIN = Hint(
    N_(
        "a loop that never blocks: e.g. `continue` after recv() returned < 0 or == 0, or after accept() "
        "failed, spins forever; when recv() returns 0 the client is gone: close and stop"
    ),
    causes=("spin-on-eof", "busy-poll", "child-falls-into-accept"),
    general=True,
)
POLL = Hint(
    N_(
        "a loop that polls: trying a non-blocking accept() or recv() again after a short sleep (or "
        "select()/poll() with a tiny timeout) wakes the server up all the time; block in accept() and "
        "recv() (or select()/poll() without a timeout) instead"
    ),
    causes=("busy-poll",),
    general=True,
)

SIGNALS = {
    signal.SIGPIPE: Hint(
        N_(
            "the server wrote to a connection its client had closed and was killed by SIGPIPE: "
            "ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) or send with MSG_NOSIGNAL"
        ),
        causes=("sigpipe",),
    ),
    signal.SIGSEGV: Hint(
        N_(
            "the server crashed with a memory error: a buffer overflow, e.g. recv() given a length "
            "larger than its buffer (strlen(buf) - 1 of an empty buffer is huge)"
        ),
        causes=("recv-length-overflow",),
    ),
    signal.SIGABRT: Hint(
        N_("the server aborted: often the C library detecting a buffer overflow or a double free"),
        causes=("recv-length-overflow",),
    ),
    signal.SIGBUS: N_("the server crashed with a memory error"),
}
