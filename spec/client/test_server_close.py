"""Server close: when the server closes the connection, the client notices, says so and exits with status 0.

Seed section 2.2: recv() == 0 means the peer closed the connection; the
notes' client then prints " server shutdown!" and ends.  But it only calls
recv() after the user typed a line: while it waits in getline() it cannot
notice anything, and a reply followed by a close leaves it waiting for
input forever.  A client must watch the socket while it waits for input.
"""

from __future__ import annotations

import pytest

from sockspec.failure import Hint
from sockspec.i18n import N_, _

pytestmark = pytest.mark.behaviour(
    "server close: recv() == 0 is noticed at once, reported, and ends the client with status 0",
    notes="§2.2 recv() == 0, §6.3 ' server shutdown!'",
)

SAY_SO_HINT = Hint(
    N_('the client ends without a word: when recv() returns 0, say so (the notes\' client prints " server shutdown!")'),
    causes=("silent-on-close", "exit-status-on-close"),
)
WAITS_IN_INPUT_HINT = Hint(
    N_(
        "the client blocks in getline()/fgets() and only calls recv() after the user typed a line: wait on "
        "stdin and the socket together (select() or poll()), and end when recv() returns 0"
    ),
    causes=("waits-in-input",),
)


@pytest.mark.likely_bug(
    WAITS_IN_INPUT_HINT,
    causes=("waits-in-input", "silent-on-close", "exit-status-on-close", "spin-on-eof"),
)
def test_server_closes_while_client_waits_for_input(client):
    """Chat once; then, while the client waits for the user to type, the server closes the connection:
    without any more input, the client must say so (on stdout or stderr) and exit with status 0."""
    server = client.connect()
    client.chat(server, b"hello", b"HELLO, AND GOODBYE")
    marks = client.output_marks()
    server.close()
    client.expect_exit(_("after the server closed the connection"), status="zero")
    client.expect_message(_("that the server closed the connection"), since=marks, hint=SAY_SO_HINT)


@pytest.mark.likely_bug(
    "when recv() returns 0 the client must say so and end with exit status 0 (return 0 from main): "
    "the server closing is a normal end, not an error",
    causes=("exit-status-on-close", "silent-on-close", "spin-on-eof"),
)
def test_server_closes_instead_of_replying(client):
    """Type a line; the server reads it and closes the connection without replying: the client must
    say so (on stdout or stderr) and exit with status 0."""
    server = client.connect()
    marks = client.output_marks()
    client.type_line(b"anyone there?")
    server.expect_line(b"anyone there?")
    server.close()
    client.expect_exit(_("after the server closed the connection"), status="zero")
    client.expect_message(_("that the server closed the connection"), since=marks, hint=SAY_SO_HINT)


@pytest.mark.likely_bug(WAITS_IN_INPUT_HINT, causes=("waits-in-input",))
def test_reply_then_close(client):
    """Type a line; the server replies and closes the connection at once: the reply must appear on stdout,
    and the client must exit with status 0 without any more input."""
    server = client.connect()
    mark = client.type_line(b"last words?")
    server.expect_line(b"last words?")
    server.send(b"LAST WORDS FROM THE SERVER")
    server.close()
    client.expect_shown(b"LAST WORDS FROM THE SERVER", mark)
    client.expect_exit(_("after the server replied and closed the connection"), status="zero")
