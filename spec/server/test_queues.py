"""The two queues and the single-process server: a second client waits, then is served.

Seed sections 3 and 5.4: the kernel completes a connection's handshake and
puts it in the queue of completed connections, where it waits until the
server calls accept().  A single-process server serving client A does not
call accept(), so client B's connect() succeeds but B gets no reply until A
leaves; then the server accepts B and serves it.
"""

from __future__ import annotations

import pytest

from sockspec.failure import SpecFailure
from sockspec.i18n import _

pytestmark = [
    pytest.mark.behaviour(
        "the two queues: a second client of a single-process server waits, then is served",
        notes="§3 two queues, §5.4 multiple clients",
    ),
    pytest.mark.models("iterative"),
]


@pytest.mark.likely_bug(
    "if B is answered while A is connected, the server is not single-process (declare its real model); "
    "if B is never answered, the server does not go back to accept() after A leaves",
    causes=("wrong-model", "one-reply-per-connection"),
)
def test_second_client_waits_until_first_leaves(server):
    """Client A connects and chats.  Client B connects (the handshake completes in the kernel's
    queue) and sends a message: B must get no reply while A is connected.  A closes: B must then
    get its reply."""
    a = server.connect("A")
    server.chat(a, b"I am client A")
    b = server.connect("B")
    server.ask(b, b"I am client B")
    try:
        b.expect_silence(server.timeouts.silence)
    except SpecFailure as failure:  # served at once: say what it looks like instead
        failure.happened = _("{happened}: {looks_like}, not an iterative one").format(
            happened=failure.happened, looks_like=server.looks_like([a, b]).words
        )
        raise
    a.close()
    server.expect_answer(b, b"I am client B")
    server.chat(b, b"B again")


@pytest.mark.likely_bug(
    "the server handles one client and then exits or stops accepting: call accept() in a loop "
    "(the notes' single-process server breaks out and returns after its first client)",
    causes=("exits-after-first-client",),
)
def test_second_client_served_after_first_leaves(server):
    """A chats and closes; then B connects and must be served."""
    with server.connect("A") as a:
        server.chat(a, b"first client")
    with server.connect("B") as b:
        server.chat(b, b"second client")


@pytest.mark.likely_bug(
    "the server ends when a connection it accepts is already reset: accept() may return a socket whose "
    "client is gone, and getpeername(), recv() or send() on it fail; that ends only this client",
    causes=("exits-on-client-error",),
)
def test_queued_client_that_resets_does_not_stop_the_server(server):
    """While A is served, B connects (B waits in the queue of completed connections) and resets
    its connection (SO_LINGER 0) before the server accepted it.  A closes: the server then accepts
    B's dead connection, and must go on to serve C."""
    a = server.connect("A")
    server.chat(a, b"I am client A")
    b = server.connect("B")
    b.reset()
    a.close()
    with server.connect("C") as c:
        server.chat(c, b"I am client C")
    server.expect_running(_("after accepting a connection whose client had reset it"))
