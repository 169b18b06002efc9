"""Resources: an idle server burns no CPU, and serving many clients leaks nothing.

Seed sections 5 to 7 loop forever around accept() and recv().  A loop that
does not block (spinning on recv() == 0, on a failed accept(), or polling
without a timeout) burns a whole core; one that polls with a short sleep
between tries wakes up a thousand times a second; a socket, thread or
child that is not released per client adds up until the server falls over.
"""

from __future__ import annotations

import pytest

from sockspec.failure import Hint, SpecFailure, check
from sockspec.i18n import N_, _, ngettext
from sockspec.proc import TreeState
from sockspec.serverspec.hints import SPIN as SPIN_HINT

pytestmark = pytest.mark.behaviour(
    "resources: no busy-waiting, and no leaks over many clients", notes="§5-§7 server loops"
)

# More than 256: a fixed table of 256 client slots that are never given back runs out.
LEAK_CLIENTS = 300
# Descriptors, threads and children are checked after this many clients too, so that a server
# leaking one per client fails at once.
FIRST_CHECK = 20

# A thread that ends without being joined or detached keeps its stack mapped (two memory areas:
# the stack and its guard page). Allocators and thread-stack caches add a bounded number of areas,
# far below one per client.
MAPPINGS_LIMIT = 100


@pytest.mark.likely_bug(SPIN_HINT, causes=("busy-poll",))
def test_no_cpu_while_idle(server):
    """With no client connected, measure the server's CPU use and wake-ups over a window: both must
    be (almost) none."""
    server.wait_state(lambda s: not server.client_children(s))  # zombies use no CPU: other tests report them
    expect_idle_before_any_end(server, _("while no client is connected"), _("no client has connected yet"))


def expect_idle_before_any_end(server, what: str, while_: str, seconds: float | None = None) -> None:
    """expect_idle, where no connection has ended yet: CPU used then is polling, not a loop that
    goes on after end of file, which is evidence of the cause."""
    try:
        server.expect_idle(what, seconds)
    except SpecFailure as failure:
        failure.evidence.append(
            ("busy-poll", _("it uses CPU while {state}, before any connection ended").format(state=while_))
        )
        raise


@pytest.mark.likely_bug(
    SPIN_HINT,
    causes=("spin-on-eof", "child-falls-into-accept", "busy-poll"),
)
def test_no_cpu_after_clients_leave(server):
    """Three clients chat and close; then measure the server's CPU use and wake-ups (children
    included) over a window: both must be (almost) none."""
    for client in server.connect_many(3) if server.model != "iterative" else [server.connect()]:
        server.chat(client, b"soon gone")
        client.close()
    server.wait_state(lambda s: not server.client_children(s))
    server.expect_idle(_("after its clients left"))


@pytest.mark.likely_bug(
    SPIN_HINT,
    causes=("busy-poll", "recv-timeout"),
)
def test_silent_client_uses_no_cpu_and_stays_connected(server):
    """A client chats and then stays connected without sending for a while, as a person thinking
    does: the server waits in recv(), must use (almost) no CPU and not keep waking up meanwhile, and
    must still answer the client when it speaks again."""
    client = server.connect()
    server.chat(client, b"then silence")
    idle = server.timeouts.idle
    expect_idle_before_any_end(server, _("while a connected client is silent"), _("its one client is connected"), idle)
    check(
        client.is_open_to_server(),
        _("the connection of a client silent for {seconds:g} s to stay open").format(seconds=idle),
        _("the server closed it (or reset it)"),
        DROP_HINT,
    )
    server.chat(client, b"still here after the silence")


STDIN_SPIN_HINT = Hint(
    N_(
        "the server polls its standard input without blocking (a non-blocking read() retried at once on "
        "EAGAIN): block in fgets()/getline(), or wait with poll()/select()"
    ),
    causes=("busy-poll",),
)


@pytest.mark.replies("stdin")
@pytest.mark.likely_bug(STDIN_SPIN_HINT, causes=("busy-poll",))
def test_no_cpu_while_waiting_for_the_operator(server):
    """A client sends a message; once the server has read it, it waits for the operator's line:
    meanwhile it must use (almost) no CPU, and then send the line."""
    with server.connect() as client:
        server.ask(client, b"what do you say?")
        server.expect_read(client, _("the client's message"))
        server.expect_idle(_("while it waits for the operator to type"), spin_hint=STDIN_SPIN_HINT)
        server.expect_answer(client, b"what do you say?")


DROP_HINT = Hint(
    N_(
        "the server drops clients that are silent for a while: a receive timeout (SO_RCVTIMEO, "
        "select() with a timeout) must not be taken for the client leaving; only recv() == 0 says that"
    ),
    causes=("recv-timeout", "exits-on-client-error"),
)


@pytest.mark.likely_bug(
    "something is not released per client: the accepted socket (close it, in the parent too when "
    "forking), the thread (detach or join it), or the child (exit and reap it)",
    causes=("fd-leak", "thread-leak", "slots-never-freed", "parent-keeps-socket"),
)
def test_nothing_leaks_over_many_clients(server):
    """After a first client came and went, three hundred clients come and go one after the other,
    each chatting once; the server's open descriptors, threads and children must be back to what
    they were before, after the first twenty clients and after all of them, and its memory
    mappings must not grow with the number of clients."""
    base = server.warm_up()
    for i in range(LEAK_CLIENTS):
        with server.connect(f"client {i + 1}") as client:
            try:
                server.chat(client, b"client %d" % (i + 1))
            except SpecFailure as failure:
                if i >= FIRST_CHECK and not failure.likely_bug:
                    failure.likely_bug = TURNED_AWAY_HINT
                raise
        if i + 1 in (FIRST_CHECK, LEAK_CLIENTS):
            settled = expect_back_to(server, base, i + 1)
    check(
        settled.mappings - base.mappings < MAPPINGS_LIMIT,
        _("the server's memory mappings to stay about as many as before ({count})").format(count=base.mappings),
        _("it has {count}: about {each:.1f} more per client").format(
            count=settled.mappings, each=(settled.mappings - base.mappings) / LEAK_CLIENTS
        ),
        Hint(
            _(
                "a thread that is neither joined nor detached keeps its stack after it ends: call "
                "pthread_detach() (or pthread_join()) for every thread"
            ),
            causes=("thread-leak",),
        ),
    )


TURNED_AWAY_HINT = Hint(
    N_(
        "the server stops serving new clients after enough have come and gone, one at a time: a table of "
        "clients whose slots are never freed fills up (free a client's slot when it leaves), or leaked "
        "descriptors reach the limit"
    ),
    causes=("slots-never-freed", "fd-leak"),
)


def expect_back_to(server, base, clients: int) -> TreeState:
    """The server's descriptors, threads and children are back to `base` once `clients` clients have left."""
    threads = base.threads + server.RUNTIME_THREADS
    settled = server.wait_state(
        lambda s: s.fds <= base.fds and s.threads <= threads and not server.client_children(s) and not s.zombies
    )
    after = _("after {count} clients came and went").format(count=clients)
    check(
        settled.fds <= base.fds,
        _("{count} open descriptors {after}, as before").format(count=base.fds, after=after),
        _("{count} are open: {fds}").format(
            count=settled.fds, fds=", ".join(f"{fd}->{t}" for fd, t in sorted(settled.fd_list.items())[-8:])
        ),
        Hint(
            _(
                "a descriptor is not closed for each client: close the accepted socket on every way out (in the "
                "parent too when forking)"
            ),
            causes=("fd-leak", "parent-keeps-socket"),
        ),  # fmt: skip
    )
    check(
        settled.threads <= threads,
        ngettext(
            "{count} thread {after}, as before (or at most {runtime} more, which a runtime may keep for itself)",
            "{count} threads {after}, as before (or at most {runtime} more, which a runtime may keep for itself)",
            base.threads,
        ).format(count=base.threads, after=after, runtime=server.RUNTIME_THREADS),
        ngettext("{count} thread runs", "{count} threads run", settled.threads).format(count=settled.threads),
        Hint(
            _("threads do not end with their clients: return from the thread when its client leaves, and detach it"),
            causes=("thread-leak",),
        ),  # fmt: skip
    )
    children = server.client_children(settled)
    check(
        not children and not settled.zombies,
        _("no child processes left {after}").format(after=after),
        _("{children} children and {zombies} zombies remain").format(
            children=len(children), zombies=len(settled.zombies)
        ),
        Hint(
            _("children are left behind: each child must exit when its client leaves, and be reaped"),
            causes=("child-falls-into-accept", "no-reap"),
        ),  # fmt: skip
    )
    return settled
