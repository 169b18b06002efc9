"""The usual causes the client half names itself, in the course's words, when a failure shows one.

A test's own usual cause is its `likely_bug` marker; these are the causes a
failure can show whatever the test: a death by signal, a client that spins.
"""

from __future__ import annotations

import signal

from sockspec.failure import Hint
from sockspec.i18n import N_

SIGNALS = {
    signal.SIGPIPE: Hint(
        N_(
            "the client wrote to a connection the server had reset and was killed by SIGPIPE: ignore "
            "SIGPIPE (signal(SIGPIPE, SIG_IGN)) or send with MSG_NOSIGNAL, and treat a failed send() or recv() as "
            "'the server is gone'"
        ),
        causes=("sigpipe",),
    ),
    signal.SIGSEGV: Hint(
        N_(
            "the client crashed with a memory error: a buffer overflow, e.g. recv() given a length "
            "larger than its buffer (the notes' strlen(buf) - 1 of an empty buffer is huge)"
        ),
        causes=("recv-length-overflow",),
    ),
    signal.SIGABRT: Hint(
        N_(
            "the client aborted: often the C library detecting a buffer overflow ('stack smashing "
            "detected': recv() wrote past the end of its buffer) or a double free"
        ),
        causes=("recv-length-overflow",),
    ),
    signal.SIGBUS: N_("the client crashed with a memory error"),
}
SPIN = Hint(
    N_(
        "a loop that never blocks: e.g. `continue` after recv() returned 0 or < 0, after getline()/fgets() "
        "hit end of file, or polling a non-blocking socket without waiting in select()/poll()"
    ),
    causes=("busy-poll", "spin-on-eof"),
    general=True,
)
