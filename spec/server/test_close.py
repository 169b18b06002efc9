"""recv() == 0: when a client closes, the server notices, closes its end and frees the socket.

Seed section 2.2: recv() returns 0 when the peer has closed the connection,
and < 0 on an error such as a reset.  Either way that client is done: the
server must close the connection's socket (so the client sees end of file
and the descriptor is freed) and carry on serving others.
"""

from __future__ import annotations

import pytest

from sockspec.failure import Hint
from sockspec.i18n import N_, _
from sockspec.payloads import flood_bytes, pattern

pytestmark = pytest.mark.behaviour(
    "recv() == 0: a closed connection is noticed, closed and released", notes="§2.2 recv return values"
)

CLOSE_HINT = Hint(
    N_(
        "the server does not stop when recv() returns 0 (or < 0) and never closes the connection's socket; "
        "in a forking server the parent must also close its copy of the accepted socket"
    ),
    causes=("no-close-on-eof", "parent-keeps-socket", "fd-leak"),
)


@pytest.mark.likely_bug(
    CLOSE_HINT,
    causes=("no-close-on-eof", "parent-keeps-socket", "linger-reset", "spin-on-eof"),
)
def test_half_close_gets_end_of_file(server):
    """Chat once, then shutdown(SHUT_WR): the server's recv() returns 0, so it must close its end;
    the client, still reading, must see end of file."""
    with server.connect() as client:
        server.chat(client, b"last message before closing")
        client.shutdown_write()
        client.expect_eof()


@pytest.mark.likely_bug(
    CLOSE_HINT,
    causes=("no-close-on-eof", "adds-bytes", "spin-on-eof"),
)
def test_close_without_sending(server):
    """Connect and half-close at once without sending anything: the client must see end of file."""
    with server.connect() as client:
        client.shutdown_write()
        client.expect_eof()


@pytest.mark.likely_bug(
    CLOSE_HINT,
    causes=("fd-leak", "no-close-on-eof", "parent-keeps-socket"),
)
def test_socket_released_after_close(server):
    """After a first client came and went, another chats and closes the connection: the
    server's open descriptors must go back to what they were before it came."""
    server.warm_up()
    client = server.connect()
    server.chat(client, b"about to leave")
    client.close()
    server.expect_fds_back(_("after its client closed"))


@pytest.mark.likely_bug(
    "when recv() returns 0 the server closes at once, before all it received is sent back, or it "
    "resets the connection (SO_LINGER 0, or close() with unread data): finish sending, then close()",
    causes=("linger-reset", "no-close-on-eof"),
)
@pytest.mark.replies("echo")
def test_half_close_right_after_a_large_message(server):
    """Send 1 MiB and half-close (shutdown SHUT_WR) as soon as the last byte is sent, while the
    echo is still on its way: the whole MiB must come back, then a clean end of file."""
    with server.connect() as client:
        client.echo(pattern(1024 * 1024, seed=3), half_close=True)
        client.expect_eof()


@pytest.mark.likely_bug(
    "when recv() returns 0 the server closes at once, while echoes of what it read are still waiting "
    "to be sent (in its own buffers, or on their way through a helper): finish sending, then close(); "
    "an evented server must not take EPOLLRDHUP/POLLHUP for 'close now'",
    causes=("linger-reset", "no-close-on-eof"),
)
@pytest.mark.replies("echo")
def test_half_close_while_every_buffer_is_full(server):
    """Send without reading any echo until no socket buffer has room (the server waits to send),
    then half-close (shutdown SHUT_WR), and only then read: every byte sent must come back, then a
    clean end of file."""
    with server.connect() as client:
        sent = server.flood_until_blocked(client)
        client.shutdown_write()
        client.expect(flood_bytes(sent))
        client.expect_eof()


@pytest.mark.likely_bug(
    "the server gives up on a half-closed client that reads slowly: some time after recv() returned 0 it "
    "closes, while echoes are still waiting to be sent (in its buffers, or in a helper's pipe); a client "
    "may take as long as it likes to read: keep sending until every echo is out, then close()",
    causes=("closes-with-replies-pending",),
)
@pytest.mark.replies("echo")
def test_half_closed_client_reads_slowly(server):
    """Send without reading any echo until no socket buffer has room, half-close (shutdown SHUT_WR),
    read only until the server has taken every byte and the end of file, then read the rest slowly
    (what the kernel's buffers hold then, over the idle window): every byte sent must come back, then
    a clean end of file."""
    with server.connect() as client:
        sent = server.flood_until_blocked(client)
        client.shutdown_write()
        server.read_slowly(client, sent, server.read_until_all_taken(client, sent))
        client.expect_eof()


@pytest.mark.likely_bug(
    "the server does not close the connection's socket when recv() fails (< 0, e.g. ECONNRESET): "
    "a reset client is gone too; close its socket",
    causes=("fd-leak",),
)
def test_socket_released_after_reset(server):
    """After a first client came and went, another chats and resets the connection (SO_LINGER 0):
    the server's open descriptors must go back to what they were before it came."""
    server.warm_up()
    client = server.connect()
    server.chat(client, b"about to reset")
    client.reset()
    server.expect_fds_back(_("after its client reset the connection"))


VANISH_HINT = Hint(
    N_(
        "the server dies or stops serving when a client disappears: treat recv() < 0 or == 0 as "
        "'this client is gone', close its socket and go on; ignore SIGPIPE"
    ),
    causes=("exits-on-client-error", "sigpipe"),
)


@pytest.mark.likely_bug(
    VANISH_HINT,
    causes=("exits-on-client-error", "no-close-on-eof", "operator-input-out-of-step"),
)
def test_client_closes_mid_message(server):
    """Send the first half of a message and close the connection without reading any reply;
    the server must keep running and serve the next client."""
    vanishing = server.connect("vanishing client")
    vanishing.send(b"the first half of a mess")
    vanishing.close()
    if server.reply == "stdin":
        # The server received a message, so it reads one reply line for it (which it cannot deliver).
        server.type_unanswered_line(what="typed a reply for the client that left")
    with server.connect("next client") as client:
        server.chat(client, b"are you still there?")
    server.expect_running(_("after a client closed its connection mid-message"))


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    VANISH_HINT,
    causes=("exits-on-client-error", "sigpipe"),
)
def test_client_resets_mid_message(server):
    """Send the first half of a message and reset the connection (SO_LINGER 0) without reading
    any reply; the server must keep running and serve the next client."""
    vanishing = server.connect("vanishing client")
    vanishing.send(b"the first half of a mess")
    vanishing.reset()
    with server.connect("next client") as client:
        server.chat(client, b"are you still there?")
    server.expect_running(_("after a client reset its connection mid-message"))


@pytest.mark.likely_bug(
    "the server ends when recv() or send() fails with ECONNRESET: that only ends this client, not the server",
    causes=("exits-on-client-error", "sigpipe", "exits-after-first-client"),
)
def test_reset_after_chatting(server):
    """Chat, then reset the connection (SO_LINGER 0, close): the server must keep running and
    serve the next client."""
    client = server.connect("resetting client")
    server.chat(client, b"hello before reset")
    client.reset()
    with server.connect("next client") as client:
        server.chat(client, b"are you still there?")
    server.expect_running(_("after a client reset its connection"))
