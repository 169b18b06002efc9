"""Idle CPU: a client waiting for the user or for the server burns no CPU.

Seed section 5.1 blocks in getline() and recv(), which costs nothing.  A
client that polls instead (a non-blocking socket read in a loop, select()
with a zero timeout, `continue` after a failed call) burns a whole core
while nothing happens, and slows down everything else on the machine.
"""

from __future__ import annotations

import pytest

from sockspec.clientspec.hints import SPIN as SPIN_HINT
from sockspec.i18n import _

pytestmark = pytest.mark.behaviour(
    "idle CPU: no busy-waiting for input or for the server", notes="§5.1 blocking getline() and recv()"
)


@pytest.mark.likely_bug(
    SPIN_HINT,
    causes=("busy-poll", "spin-on-eof"),
)
def test_no_cpu_while_waiting_for_input(client):
    """Chat once; then, while the client waits for the user to type, measure its CPU use over a window:
    it must be (almost) none."""
    server = client.connect()
    client.chat(server, b"hello", b"HELLO, TAKE YOUR TIME")
    client.expect_idle(_("while it waits for the user"))


@pytest.mark.likely_bug(SPIN_HINT, causes=("busy-poll",))
def test_no_cpu_while_waiting_for_reply(client):
    """Type a line; the server reads it and does not answer yet: measure the client's CPU use over a window
    (it must be almost none); then the server answers and the reply must appear."""
    server = client.connect()
    mark = client.type_line(b"answer slowly")
    server.expect_line(b"answer slowly")
    client.expect_idle(_("while it waits for the server's reply"))
    server.send(b"HERE IS MY SLOW ANSWER")
    client.expect_shown(b"HERE IS MY SLOW ANSWER", mark)
