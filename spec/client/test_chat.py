"""Chat: every line the user types reaches the server, and the server's reply appears on stdout.

Seed section 5.1: the client reads a line with getline(), send()s it, and
prints what recv() returns after "server say:".  The harness plays both the
user (it types on the client's stdin) and the server (it scripts every
reply).  The notes' client sends a line without its newline; the spec accepts it
with or without.  Prompts and labels are free: a reply is shown when its
bytes appear, in order, on stdout after the line was typed.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.behaviour(
    "chat: each typed line goes to the server, and the server's reply is shown", notes="§5.1 client loop"
)


@pytest.mark.likely_bug(
    "the client does not send what the user typed: it must read a line from stdin and send() it "
    "(the notes' client sends s.c_str() with s.size() bytes)",
    causes=("waits-for-server", "typed-line-changed"),
)
def test_typed_line_reaches_server(client):
    """Start the client and type one line: the server must receive that line."""
    server = client.connect()
    client.type_line(b"hello server")
    server.expect_line(b"hello server")


@pytest.mark.likely_bug(
    "the client does not print what recv() returned, or prints fewer bytes than it received "
    "(print exactly recv()'s count of bytes, not one less)",
    causes=("drops-bytes", "strlen-on-binary", "waits-in-input"),
)
def test_reply_is_shown(client):
    """Type a line; the server answers with a reply of its own: the reply must appear on stdout."""
    server = client.connect()
    client.chat(server, b"hello server", b"HELLO CLIENT, THIS IS THE SERVER")


@pytest.mark.likely_bug(
    'the client reads a word, not a line: cin >> s and scanf("%s") stop at the first space; use getline() or fgets()',
    causes=("typed-line-changed",),
)
def test_line_with_spaces_and_punctuation(client):
    """Type a line with spaces, a tab and punctuation: the server must receive it whole."""
    server = client.connect()
    client.chat(server, b"hello, server!  two spaces,\ta tab; and: a question?", b"GOT IT")


@pytest.mark.likely_bug(
    "the client sends more than the line: the whole buffer (sizeof(buf)) or its NUL terminator "
    "(strlen(buf) + 1); or it mixes up lines and replies",
    causes=("adds-bytes", "typed-line-changed"),
)
def test_twenty_lines_in_a_row(client):
    """Twenty times: type a line, the server receives exactly that line (nothing before it, nothing
    added) and answers; each reply must appear on stdout before the next line is typed."""
    server = client.connect()
    for i in range(20):
        client.chat(server, b"line %d from the user" % i, b"REPLY #%d FROM THE SERVER" % i)


@pytest.mark.likely_bug(
    "the client cuts long lines: a fixed-size line buffer (fgets(buf, N)) whose rest is thrown away; "
    "read the whole line, or send it in several pieces",
    causes=("typed-line-changed", "recv-length-overflow"),
)
def test_long_line(client):
    """Type a 2000-character line: the server must receive all of it."""
    server = client.connect()
    line = b"".join(b"word%04d " % i for i in range(222))[:2000]
    client.chat(server, line, b"THAT WAS A LONG ONE")
