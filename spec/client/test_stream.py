"""Stream: a reply that arrives in pieces, or late, is still shown whole.

Seed section 2: recv() returns what has arrived so far, which can be part
of what the server sent.  The notes' client calls recv() once per typed
line, so the rest of a reply split across TCP segments shows up only after
the user types again, and a client that gives up waiting loses a late
reply.  A client must keep reading the socket whenever it is readable.
"""

from __future__ import annotations

import pytest

from sockspec.i18n import _
from sockspec.payloads import text

pytestmark = pytest.mark.behaviour(
    "stream: replies split across segments or arriving late are shown whole", notes="§2 recv returns what arrived"
)

PIECES = {
    "three-pieces": [b"HELLO, ", b"CLIENT, IN ", b"THREE PIECES"],
    "one-byte-pieces": [bytes([c]) for c in b"ONE BYTE AT A TIME"],
    "around-1024": [text(3000)[:1023], text(3000)[1023:1025], text(3000)[1025:]],
}


@pytest.mark.parametrize("pieces", PIECES.values(), ids=list(PIECES))
@pytest.mark.likely_bug(
    "the client calls recv() once per typed line (as the notes' client does), so a reply that arrives in pieces is "
    "cut; wait on stdin and the socket together (select() or poll()) and print whatever the socket brings",
    causes=("waits-in-input", "recv-is-not-a-message"),
)
def test_reply_in_pieces(client, pieces):
    """Type a line; the server sends its reply in pieces, each its own TCP segment, and each only once
    the previous piece has appeared on stdout (so the client receives them in separate recv() calls):
    the whole reply must appear, without the user typing anything more."""
    server = client.connect()
    mark = client.type_line(b"a reply in pieces, please")
    server.expect_line(b"a reply in pieces, please")
    for count, piece in enumerate(pieces, 1):
        server.send(piece)
        what = _("the first {count} of {total} pieces of the reply").format(count=count, total=len(pieces))
        client.expect_shown(b"".join(pieces[:count]), mark, what)


@pytest.mark.likely_bug(
    "the client stops waiting for the reply (a receive timeout, MSG_DONTWAIT, or a non-blocking socket read "
    "once): a reply may come at any time; wait for it in select() or poll() without a timeout",
    causes=("waits-in-input",),
)
def test_late_reply(client):
    """Type a line; the server reads it, stays silent for a while (the `silence` window), then replies:
    the reply must appear on stdout, without the user typing anything more."""
    server = client.connect()
    mark = client.type_line(b"take your time")
    server.expect_line(b"take your time")
    server.stay_silent(client.timeouts.silence)
    server.send(b"SORRY I AM LATE")
    client.expect_shown(b"SORRY I AM LATE", mark)
