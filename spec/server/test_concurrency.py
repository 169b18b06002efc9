"""Concurrency: a concurrent server serves many clients at once, each with its own data.

Seed sections 6 and 7: the point of a child process or a thread per client
is that one client never waits for another, and so is the point of an
evented server's one loop that waits on every socket at once.  The tests run
for every concurrent model (forking, threaded, evented, any).  Clients here
connect first and stay connected, then talk in interleaved rounds; every
reply must reach the client that asked, and no other.
"""

from __future__ import annotations

import pytest

from sockspec.failure import Hint, check
from sockspec.i18n import N_, _
from sockspec.payloads import pattern
from sockspec.serverspec import flood

pytestmark = [
    pytest.mark.behaviour(
        "concurrency: many clients are served at once, each getting its own data",
        notes="§6 multi-process, §7 multi-threaded",
        checks_replies=True,
    ),
    pytest.mark.models("forking", "threaded", "evented", "any"),
]

BLOCKED_HINT = Hint(
    N_(
        "the server serves one client at a time: a forking or threaded server must hand each accepted "
        "connection to a new child process or thread and go straight back to accept(); an evented server "
        "must never block on one client (non-blocking sockets, and send() only what the socket takes now)"
    ),
    causes=("not-concurrent", "blocking-send-under-lock"),
)


@pytest.mark.likely_bug(
    BLOCKED_HINT,
    causes=("not-concurrent", "concurrency-cap", "wrong-client-fd"),
)
def test_fifty_clients_interleaved(server):
    """Connect 50 clients and keep them all connected; then, three rounds in a row, every client
    sends a message naming itself and must get its own reply."""
    clients = server.connect_many(50)
    for round_ in range(3):
        server.chat_all([(c, b"round %d from %s" % (round_, c.name.encode())) for c in clients])


@pytest.mark.likely_bug(BLOCKED_HINT, causes=("not-concurrent",))
def test_idle_client_does_not_block_others(server):
    """Client A connects and sends nothing; client B connects and chats: B must be served while A
    stays silent and connected.  Then A chats too."""
    a = server.connect("idle A")
    b = server.connect("B")
    server.chat(b, b"B does not wait for A")
    server.chat(a, b"A wakes up")


@pytest.mark.replies("echo")  # in the chat, any bytes are a message awaiting the operator's line
@pytest.mark.likely_bug(BLOCKED_HINT, causes=("not-concurrent",))
def test_slow_client_does_not_block_others(server):
    """Client A sends half a message and stalls; client B connects and chats: B must be served."""
    a = server.connect("slow A")
    server.ask(a, b"half of a")
    b = server.connect("B")
    server.chat(b, b"B does not wait for A")
    server.expect_answer(a, b"half of a")


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    BLOCKED_HINT,
    causes=("blocking-send-under-lock", "blocking-send-in-loop", "not-concurrent"),
)
def test_flooding_client_does_not_block_others(server):
    """Client A sends megabytes without reading any reply, until no buffer has room and the server
    has stopped sending to it; client B connects and chats: B must be served while A's connection
    is stuck."""
    a = server.connect("flooding A")
    server.flood_until_blocked(a, for_good=True)
    b = server.connect("B")
    server.chat(b, b"B does not wait for A")


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    "the server keeps reading from a client that does not read its replies, and keeps every reply in "
    "memory: it must stop reading from that client until what it owes it is sent (asyncio: await "
    "writer.drain() after write(); Node: pause when write() returns false, or pipe())",
    causes=("hoards-replies",),
)
def test_client_that_never_reads_is_not_answered_into_memory(server):
    """Client A sends without ever reading a reply: the server must stop taking A's bytes once the
    kernel's buffers are full and it cannot send the echo (it waits to send), before it has taken
    64 MiB from A."""
    a = server.connect("flooding A")
    sent = server.flood_until_blocked(a)
    check(
        sent < flood.LIMIT,
        _(
            "the server to stop reading from {client}, who reads none of its replies, once the buffers on "
            "the way are full (a few MiB)"
        ).format(client=a.name),
        _("it took all {mib} MiB {client} sent and still read on: the replies wait in its memory").format(
            mib=sent >> 20, client=a.name
        ),
    )


# The DID is looked up in the catalog as written, so the docstring names the limit itself; this keeps it true.
assert f"{flood.LIMIT >> 20} MiB" in (test_client_that_never_reads_is_not_answered_into_memory.__doc__ or "")


@pytest.mark.replies("echo")
@pytest.mark.likely_bug(
    "clients share data inside the server: a global or static buffer (or one buffer passed to every "
    "thread) is overwritten by another client's data; give each client its own buffer",
    causes=("shared-buffer",),
)
def test_distinct_payloads_at_the_same_moment(server):
    """Twenty clients each send 64 KiB of data unique to them, all at the same time, in 2 KiB
    pieces (each piece sent once the previous one came back, so every server thread goes through
    many receive-then-send cycles while the others do too), three rounds in a row; each client must
    get back exactly its own bytes."""
    clients = server.connect_many(20)
    for round_ in range(3):
        payloads = [pattern(65536, seed=i * 3 + round_ + 1) for i in range(len(clients))]
        server.echo_all(
            [(c, [p[k : k + 2048] for k in range(0, len(p), 2048)]) for c, p in zip(clients, payloads, strict=True)],
            wait_for_echo=True,
        )


@pytest.mark.likely_bug(
    "each connection must reach its own thread or child: a thread given the address of the accept "
    "loop's variable (&fd) reads it after the next accept() has overwritten it; pass the value",
    causes=("shared-fd-variable", "wrong-client-fd"),
)
def test_connections_accepted_back_to_back(server):
    """Ten times, two clients connect back to back (the second before the server could have handled
    the first), then both chat: each must get its own reply."""
    for pair in range(10):
        first, second = server.connect(f"client {2 * pair + 1}"), server.connect(f"client {2 * pair + 2}")
        server.chat_all([(c, b"hello from %s" % c.name.encode()) for c in (first, second)])


@pytest.mark.likely_bug(
    "the server limits how many clients it serves at once (a fixed-size table of clients or "
    "threads, or too few file descriptors)",
    causes=("concurrency-cap", "not-concurrent"),
)
def test_two_hundred_clients_at_once(server):
    """Connect 200 clients and keep them all connected; every one of them chats."""
    clients = server.connect_many(200)
    server.chat_all([(c, b"hello from %s" % c.name.encode()) for c in clients])


# select() watches descriptors below FD_SETSIZE (1024) only. The first 1000 clients stay below it,
# whatever few descriptors the server holds of its own; the next hundred go beyond it.
BELOW_SELECT_LIMIT = 1000
BEYOND_SELECT = 1100


@pytest.mark.models("evented")
@pytest.mark.replies("echo")  # in the chat, the operator would type 1100 lines one after another
@pytest.mark.likely_bug(
    "the server waits with select(), which watches only descriptors below FD_SETSIZE (1024): a client "
    "whose descriptor is above it is turned away or never served (and FD_SET() past the end of the set "
    "corrupts memory); wait with poll() or epoll instead",
    causes=(
        "fd-setsize",
        "concurrency-cap",
    ),
)
def test_more_clients_than_select_can_watch(server):
    """Connect 1100 clients one after another and keep them all connected, more descriptors than
    select() can watch, each chatting once connected; then every one of them chats again."""
    if reason := server.too_few_descriptors(BEYOND_SELECT):
        pytest.skip(reason)
    clients = server.connect_many(BELOW_SELECT_LIMIT)
    for i in range(BELOW_SELECT_LIMIT, BEYOND_SELECT):
        client = server.connect(f"client {i + 1}")
        server.chat(client, b"hello from %s" % client.name.encode())  # its failure is this test's own
        clients.append(client)
    server.chat_all([(c, b"again from %s" % c.name.encode()) for c in clients])
