"""Lifecycle: the server keeps running and serving, client after client, whatever clients do.

Seed sections 5 to 7 show servers that stop with Ctrl-C, not by themselves.
A server must survive clients that leave, reset, or vanish while it writes,
children that exit while it waits in accept(), and it must be possible to
restart it on the same port at once.
"""

from __future__ import annotations

import signal

import pytest

from sockspec.failure import Hint, SpecFailure, check
from sockspec.i18n import N_, _
from sockspec.serverspec.launch import ServerStartError

pytestmark = pytest.mark.behaviour(
    "lifecycle: the server keeps running and serving client after client", notes="§5-§7 servers"
)


@pytest.mark.likely_bug(
    "the server stops after a client leaves: accept() must be called again in a loop, and a client's "
    "end (recv() == 0) must end only that client's loop, not the server (the notes' single-process "
    "server returns from main after its first client)",
    causes=("exits-after-first-client", "swapped-fork-branches", "operator-input-out-of-step"),
)
def test_serves_client_after_client(server):
    """Ten clients, one after the other: each connects, chats twice and closes."""
    for i in range(10):
        with server.connect(f"client {i + 1}") as client:
            server.chat(client, b"hello from client %d" % (i + 1))
            server.chat(client, b"goodbye from client %d" % (i + 1))
    server.expect_running(_("after ten clients came and went"))


REUSEADDR_HINT = Hint(
    N_(
        "the server cannot bind its port again at once: set SO_REUSEADDR on the listening socket before "
        "bind(), or connections left over from the stopped server block the port for a minute"
    ),
    causes=("no-reuseaddr",),
)


@pytest.mark.blocks_port
@pytest.mark.likely_bug(REUSEADDR_HINT, causes=("no-reuseaddr",))
def test_restart_on_same_port(start_server):
    """Start the server, connect three clients (chatting on those it serves at once), stop the
    server with Ctrl-C (SIGINT) while they are still connected, then start it again on the same
    port at once: it must listen and serve."""
    first = start_server()
    # A single-process server accepts one client; more would wait in a listen() queue that may
    # hold only one (a backlog of 0), and the one it serves is enough to hold the port.
    clients = first.connect_many(3 if first.model != "iterative" else 1)
    for client in clients:
        first.chat(client, b"before the restart")
    first.stop(signal.SIGINT)
    port = first.port
    for client in clients:
        client.close()
    try:
        second = start_server(port=port)
    except ServerStartError as error:
        raise SpecFailure(
            _("the server to start again on port {port} at once").format(port=port), error.reason, REUSEADDR_HINT
        ) from None
    with second.connect("after restart") as client:
        second.chat(client, b"after the restart")


@pytest.mark.likely_bug(
    "the server catches or ignores SIGINT and goes on: a bare `except:` (or `except BaseException`) "
    "around accept() swallows Ctrl-C's KeyboardInterrupt; a SIGINT handler must end the server",
    causes=("ctrl-c-swallowed",),
)
def test_ctrl_c_stops_the_server(server):
    """After a client came and went, press Ctrl-C, as the notes stop their servers: SIGINT to the
    server's process group, as a terminal sends it.  The server must exit."""
    server.warm_up()
    server.interrupt()
    check(
        server.wait_exit(),
        _("the server to exit after Ctrl-C"),
        _("it still runs {seconds:g} s later").format(seconds=server.timeouts.exit),
    )


@pytest.mark.models("forking", "any")
@pytest.mark.likely_bug(
    "accept() fails with EINTR when SIGCHLD arrives while the server waits in it: retry accept() on "
    "EINTR (or install the handler with sigaction and SA_RESTART) instead of exiting",
    causes=("eintr-kills-accept",),
)
def test_child_exits_while_parent_waits_in_accept(server):
    """Five times: a client chats and closes, the spec waits until its child process has exited
    (so SIGCHLD reaches the parent while it waits in accept()), then the next client must be served."""
    for i in range(5):
        with server.connect(f"client {i + 1}") as client:
            server.chat(client, b"round %d" % (i + 1))
        # An exited child sends SIGCHLD whether or not it is reaped (zombies are other tests' business).
        # If it never exits, no SIGCHLD comes (other tests report that): waiting for more rounds is no use.
        if server.client_children(server.wait_state(lambda s: not server.client_children(s))):
            break
    with server.connect("last client") as client:
        server.chat(client, b"still accepting?")
    server.expect_running(_("after its children exited while it waited in accept()"))


SEND_ERROR_HINT = Hint(
    N_(
        "the server does not close the connection's socket when send() fails (EPIPE, ECONNRESET: the "
        "client is gone): close it on that path too, as when recv() returns 0"
    ),
    causes=("fd-leak", "exits-on-client-error"),
)
SIGPIPE_HINT = Hint(
    N_(
        "writing to a connection the client has reset raises SIGPIPE, which kills the process: "
        "ignore it (signal(SIGPIPE, SIG_IGN)) or send with MSG_NOSIGNAL, and treat the failed send as "
        "'this client is gone'"
    ),
    causes=("sigpipe", "exits-on-client-error"),
)


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    SIGPIPE_HINT,
    causes=("sigpipe", "fd-leak"),
)
def test_reset_while_server_sends(server):
    """After a first client came and went, a client sends megabytes without reading the echo,
    until no socket buffer has room (the server is then blocked sending to it), and resets the
    connection; the server must keep running, close that client's socket, and serve the next
    client."""
    server.warm_up()
    flooding = server.connect("flooding client")
    server.flood_until_blocked(flooding)
    flooding.reset()
    with server.connect("next client") as client:
        server.chat(client, b"are you still there?")
    server.expect_running(_("after a client reset the connection while the server was sending to it"))
    server.expect_fds_back(_("after its clients left"), SEND_ERROR_HINT)


@pytest.mark.replies("stdin")
@pytest.mark.likely_bug(
    SIGPIPE_HINT,
    causes=("sigpipe", "exits-on-client-error"),
)
def test_reset_while_server_waits_for_operator(server):
    """After a first client came and went, a client sends a message and, once the server has read
    it, resets the connection; then the operator types the reply, which the server cannot deliver.
    The server must keep running, close that client's socket, and serve the next client."""
    server.warm_up()
    leaving = server.connect("leaving client")
    server.chat(leaving, b"first message")
    server.ask(leaving, b"second message")
    server.expect_read(leaving, _("the client's second message"))
    leaving.reset()
    server.type_unanswered_line(what="typed a reply for the client that reset")
    with server.connect("next client") as client:
        server.chat(client, b"are you still there?")
    server.expect_running(_("after writing to a connection its client had reset"))
    server.expect_fds_back(_("after its clients left"), SEND_ERROR_HINT)
