"""Reset: a server that resets the connection does not kill the client with SIGPIPE.

Seed section 2: send() returns < 0 on failure.  But writing to a connection
the peer has reset first fails with ECONNRESET and then raises SIGPIPE,
whose default action kills the process before send() can return.  The
notes' client prints the error, `continue`s, and dies at the next line the
user types.  A client must ignore SIGPIPE (or send with MSG_NOSIGNAL),
treat a failed recv() or send() as the end of the connection, and exit.
"""

from __future__ import annotations

import pytest

from sockspec.failure import Hint
from sockspec.i18n import N_, _

pytestmark = pytest.mark.behaviour(
    "reset: a reset connection ends the client cleanly, never by SIGPIPE", notes="§2 send/recv errors"
)

RESET_HINT = Hint(
    N_(
        "the client keeps using a connection the server reset: when recv() or send() fails (ECONNRESET, EPIPE), "
        "the server is gone; report it and exit instead of `continue` (with SIGPIPE ignored, so that the failed "
        "send() can return at all)"
    ),
    causes=("sigpipe", "waits-in-input"),
)
MORE_LINES = 2  # the notes' client survives the first send() after a reset, and dies at the second


def type_until_exit(client) -> None:
    """Type more lines, each once the client has read the previous one and waits again, until it exits."""
    for i in range(MORE_LINES):
        if not client.wait_waiting():
            return
        client.type_line(b"still there? (%d)" % (i + 1))


@pytest.mark.likely_bug(
    RESET_HINT,
    causes=("sigpipe", "waits-in-input"),
)
def test_reset_instead_of_reply(client):
    """Type a line; the server reads it and resets the connection (SO_LINGER 0, close) instead of replying.
    The user types up to two more lines (each once the client waits again). The client must exit within the
    reply deadline, with any status but not killed by a signal."""
    server = client.connect()
    client.type_line(b"are you there?")
    server.expect_line(b"are you there?")
    server.reset()
    type_until_exit(client)
    client.expect_exit(_("after the server reset the connection"))


@pytest.mark.likely_bug(
    RESET_HINT,
    causes=("sigpipe", "waits-in-input"),
)
def test_reset_while_client_waits_for_input(client):
    """Chat once; then, while the client waits for input, the server resets the connection. The user types
    up to two more lines (each once the client waits again). The client must exit within the reply
    deadline, with any status but not killed by a signal."""
    server = client.connect()
    client.chat(server, b"hello", b"HELLO, THEN A RESET")
    server.reset()
    type_until_exit(client)
    client.expect_exit(_("after the server reset the connection"))
