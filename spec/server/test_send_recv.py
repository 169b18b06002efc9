"""send() and recv(): every byte a client sends comes back, in order, nothing dropped, nothing added.

Seed section 2: recv() returns how many bytes it received, which can be
fewer than were sent, or bytes of several send() calls at once.  TCP is a
byte stream, not a message queue, so the spec sends messages whole, split
and merged, and only ever checks the concatenation.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from sockspec.failure import Hint, SpecFailure, check
from sockspec.i18n import N_, _
from sockspec.payloads import flood_bytes, pattern

pytestmark = pytest.mark.behaviour(
    "send/recv: the server answers every message, byte for byte", notes="§2 send/recv", checks_replies=True
)

MIB = 1024 * 1024
# Sent after a reply: its echo must come next, so anything the server added after that reply shows
# up where the sentinel is due, without waiting for something that may never come.
SENTINEL = b"#end"


@pytest.mark.likely_bug(
    "the server never sends what it received, or sends something else",
    causes=("drops-bytes", "sends-whole-buffer", "operator-input-out-of-step"),
)
def test_one_message(server):
    """Connect, send one short message and expect its reply; then a second short message, whose
    reply must come next (so nothing was added after the first)."""
    with server.connect() as client:
        server.chat(client, b"hello, server")
        server.chat(client, SENTINEL)


@pytest.mark.likely_bug(
    "each reply must be exactly what the spec expects: no added newline, no NUL terminator, no prompt text",
    causes=("one-reply-per-connection", "adds-bytes", "buffer-never-cleared", "sends-whole-buffer"),
)
def test_many_messages_on_one_connection(server):
    """Send 50 messages one after another on one connection, each after the previous reply."""
    with server.connect() as client:
        for i in range(50):
            server.chat(client, b"message %d" % i)


@pytest.mark.likely_bug(
    "the server sends more than it received, e.g. the whole buffer (sizeof(buf)) instead of recv()'s count",
    causes=("sends-whole-buffer", "adds-bytes"),
)
def test_nothing_added_before_close(server):
    """Chat once, then half-close (shutdown SHUT_WR): nothing may arrive before end of file."""
    with server.connect() as client:
        server.chat(client, b"one message")
        client.shutdown_write()
        client.expect_eof()


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    'the server treats the data as a C string: strlen(), printf("%s") or a string copy stops at the first NUL byte',
    causes=("strlen-on-binary", "decodes-text", "drops-bytes"),
)
def test_binary_data_with_nul_bytes(server):
    """Send binary data with NUL bytes at the start, in the middle and at the end; expect it back
    unchanged, and nothing after it."""
    with server.connect() as client:
        client.echo(b"\x00starts with NUL\x00\xff\xfe middle \x00\x00 ends with NUL\x00")
        client.echo(SENTINEL)


# Bytes a server that handles text lines (fgets(), getline(), readline(), a "\r\n" to "\n"
# translation, skipping blank lines) would change, drop or hold back, and words it might take for
# commands of its own: an echo server has none.
LINE_BYTES = [
    b"\n", b"\r\n", b"\r", b"\n\n", b"two\r\nlines\r\n", b" ", b"\t", b"no newline at the end",
    b"quit\n", b"exit\r\n", b"bye",
]  # fmt: skip


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    "the server handles the data as text lines: it translates line endings (\\r\\n to \\n), skips "
    "empty lines or white space, waits for a newline, or takes words (quit, exit) for commands; echo "
    "the bytes exactly as recv() returned them",
    causes=("drops-bytes",),
)
def test_line_endings_and_white_space(server):
    """Send messages made of line endings and white space (a lone newline, \\r\\n, \\r, a blank line,
    a space, a tab, text without a newline) and words a server might take for commands (quit, exit,
    bye), each after the echo of the one before: each must come back unchanged, and nothing after
    them."""
    with server.connect() as client:
        for message in LINE_BYTES:
            client.echo(message)
        client.echo(SENTINEL)


@pytest.mark.replies("echo")
@pytest.mark.parametrize("size", [1, 1023, 1024, 1025, 4096, 65536, 65537, MIB], ids=lambda n: f"{n}B")
@pytest.mark.likely_bug(
    "a fixed-size buffer: the server receives or sends at most its buffer's size (the notes' is 1024 bytes) "
    "and drops, overflows or never sends the rest; call recv() and send() in a loop until all is handled",
    causes=("recv-is-not-a-message", "recv-length-overflow", "partial-send-ignored", "drains-socket"),
)
def test_message_sizes(server, size):
    """Send one message of this many bytes (binary, NUL bytes included) in one send(); expect it
    back whole, and nothing after it (a short second message's echo must come next)."""
    with server.connect() as client:
        client.echo(pattern(size))
        client.echo(SENTINEL)


# The same examples on every run (a grade must not change between runs), no
# example database left on disk, no per-example deadline (timing is the
# spec's job), and no shrinking: each shrink step against a server that hangs
# would cost a whole reply deadline.
STREAM_EXAMPLES = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    phases=(Phase.explicit, Phase.generate),
    report_multiple_bugs=False,  # the first failing example is the report; the rest would only repeat it
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    "the server assumes one recv() is one whole message: TCP may split a message or merge several",
    causes=("recv-is-not-a-message",),
)
@STREAM_EXAMPLES
@given(
    payload=st.binary(min_size=1, max_size=8192),
    cuts=st.lists(st.integers(min_value=1, max_value=8191), max_size=8, unique=True),
    wait_for_echo=st.booleans(),
)
@example(payload=b"\x00" * 2048, cuts=[1, 1024, 1025], wait_for_echo=True)
@example(payload=b"hello\r\n\r\nworld\n\n", cuts=[5, 6, 7, 13], wait_for_echo=True)
@example(payload=pattern(3000), cuts=[], wait_for_echo=False)
def test_stream_split_anywhere(server, payload, cuts, wait_for_echo):
    """Send a payload cut into pieces at random places, each piece its own send() (and, in some
    examples, only after the echo of the previous pieces came back); expect the whole payload back."""
    points = sorted(c for c in cuts if c < len(payload))
    pieces = [payload[a:b] for a, b in zip([0, *points], [*points, len(payload)], strict=True)]
    with server.connect() as client:
        try:
            client.echo(payload, chunks=pieces, wait_for_echo=wait_for_echo)
        except SpecFailure as failure:
            failure.happened += " " + _("(the payload of {count} bytes was cut into pieces of {sizes} bytes)").format(
                count=len(payload), sizes=[len(p) for p in pieces]
            )
            raise


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    "the server loses or reorders data when several messages arrive at once: process everything recv() returned",
    causes=("drains-socket", "recv-is-not-a-message", "adds-bytes"),
)
def test_pipelined_messages(server):
    """Send 200 messages back to back without waiting for any reply, then expect all replies in order,
    and nothing after them."""
    messages = [b"pipelined message %03d;" % i for i in range(200)]
    with server.connect() as client:
        client.echo(b"".join(messages), chunks=messages)
        client.echo(SENTINEL)


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    "the server drops data when send() cannot take it all at once: send() may send fewer bytes than "
    "asked (or fail with EAGAIN on a non-blocking socket); send the rest, in a loop, until all is sent",
    causes=("partial-send-ignored", "busy-poll"),
)
def test_client_that_reads_late_gets_everything(server):
    """Send data without reading any of the echo until no socket buffer has room (the server then
    waits in send(), using no CPU), and only then read: every byte sent must come back, in order."""
    with server.connect() as client:
        sent = server.flood_until_blocked(client)
        server.expect_idle(_("while its client does not read"), spin_hint=SEND_SPIN_HINT)
        client.expect(flood_bytes(sent))
        client.echo(SENTINEL)


SEND_SPIN_HINT = Hint(
    N_(
        "the server retries send() at once when it fails with EAGAIN (a non-blocking socket whose buffer "
        "is full): it spins while the client does not read; wait for room with poll()/select() (POLLOUT), "
        "or keep the socket blocking"
    ),
    causes=("busy-poll", "partial-send-ignored"),
)


# Lines a person might type as the notes' operator: long, with runs of spaces, a tab, punctuation.
TYPED_LINES = [
    b"Hi! ClientA! I'm Server!",
    b"a long line: " + b"the quick brown fox jumps over the lazy dog, " * 7 + b"the end",
    b"spaces   and\ta tab, (brackets), 'quotes' & \"double quotes\"; 100% done?",
    b"  leading and trailing spaces  ",
]


@pytest.mark.replies("stdin")
@pytest.mark.likely_bug(
    'the server reads the operator\'s line in pieces or in part: one word only (cin >> s, scanf("%s")), '
    "at most a small buffer's worth (fgets() with a short buffer), or trimmed (strip()); read the whole line "
    "(getline(), fgets() into a buffer of 1024) and send it all, without the newline",
    causes=("operator-line-changed",),
)
def test_operator_lines_are_sent_as_typed(server):
    """A client sends messages, and to each the operator types a line a person might type (a long
    one, one with spaces, a tab and punctuation, one with spaces at both ends): the client must
    receive exactly that line."""
    with server.connect() as client:
        for i, line in enumerate(TYPED_LINES):
            server.ask(client, b"message %d" % (i + 1))
            server.expect_typed_answer(client, line)
        server.chat(client, SENTINEL)


@pytest.mark.replies("stdin")
@pytest.mark.likely_bug(
    'an empty line from the operator ends the chat or the server: fgets() returns "\\n", which without '
    "its newline is an empty line, not the end of input (fgets() returning NULL is); send it (0 bytes) "
    "and go on",
    causes=("empty-operator-line",),
)
def test_empty_operator_line_sends_nothing_and_the_chat_goes_on(server):
    """A client sends a message and the operator just presses Enter: the line without its newline is
    empty, so the server sends nothing.  The client sends again and the operator types a line: the
    client must receive exactly that line, on the same connection."""
    with server.connect() as client:
        server.chat(client, b"hello")
        server.ask(client, b"are you there?")
        server.expect_read(client, _("the client's message"))
        check(
            server.type_unanswered_line(b"", "pressed Enter on an empty line"),
            _("the server to read the operator's empty line"),
            _("it stays unread on the server's stdin after {seconds:g} s").format(seconds=server.timeouts.reply),
        )
        server.ask(client, b"still there?")
        server.expect_answer(client, b"still there?")
