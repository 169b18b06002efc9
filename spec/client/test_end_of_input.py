"""End of input: when stdin ends, the client closes its connection and exits; it never spins or hangs.

Seed section 5.1: `while(1) { getline(cin, s); send(...); recv(...); }`.
At end of file getline() fails at once, forever: the notes' client sends empty
messages (send() of 0 bytes sends nothing) and blocks in recv(), so the
server never learns the user is done.  A client must stop at end of file:
close (or shutdown(SHUT_WR)) the connection, and exit once the server has
closed its end.
"""

from __future__ import annotations

import pytest

from sockspec.failure import Hint
from sockspec.i18n import N_, _

pytestmark = pytest.mark.behaviour(
    "end of input: end of file on stdin closes the connection and ends the client", notes="§5.1 while(1) getline"
)

EOF_HINT = Hint(
    N_(
        "the client ignores end of file on stdin: check getline()/fgets()/read() for end of file and then "
        "close() the socket (or shutdown(fd, SHUT_WR) and read until the server closes), and exit"
    ),
    causes=("ignores-end-of-input", "spin-on-eof"),
)


@pytest.mark.likely_bug(
    EOF_HINT,
    causes=("ignores-end-of-input", "spin-on-eof"),
)
def test_end_of_input_closes_the_connection(client):
    """Chat once, then end the client's stdin (end of file, as Ctrl-D does): the server must read end of
    file on the connection; then the server closes its end and the client must exit (any status, but not
    killed by a signal)."""
    server = client.connect()
    client.chat(server, b"one line, then Ctrl-D", b"NOTED")
    client.end_input()
    server.expect_eof(after=_("after the user ended the input"))
    server.close()
    client.expect_exit(_("after its input ended and the server closed the connection"))


@pytest.mark.likely_bug(EOF_HINT, causes=("ignores-end-of-input",))
def test_end_of_input_before_any_line(client):
    """End the client's stdin before typing anything: the server must read end of file; then the server
    closes its end and the client must exit (any status, but not killed by a signal)."""
    server = client.connect()
    client.end_input()
    server.expect_eof(after=_("after the user ended the input"))
    server.close()
    client.expect_exit(_("after its input ended and the server closed the connection"))


@pytest.mark.likely_bug(
    "the client spins at end of file: getline()/fgets()/read() returns at once, forever; stop reading "
    "stdin (or exit) once it has ended",
    causes=("spin-on-eof", "ignores-end-of-input"),
)
def test_no_cpu_after_end_of_input(client):
    """Chat once, end the client's stdin, and keep the connection open: over a window, the client must use
    (almost) no CPU, whether it has already exited or still waits for the server."""
    server = client.connect()
    client.chat(server, b"one line, then Ctrl-D", b"NOTED")
    client.end_input()
    client.expect_idle(_("after its input ended"))
