"""The declared model is the real one: children for forking, threads for threaded, neither for iterative
or evented.

Seed sections 5 to 7.  The spec looks at the server from outside, through
/proc: which process holds the server's end of each connection, how many
children and threads the server has while clients are connected, and after.
An evented server is told from an iterative one by serving its clients at
once (`connect_many` chats on each while the earlier ones stay connected).
The `any` model claims no mechanism, so none of these run for it.  A check
that fails says what the server looks like instead, when /proc shows it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from sockspec.failure import SpecFailure, check
from sockspec.i18n import N_, _, ngettext
from sockspec.serverspec import hints
from sockspec.serverspec.mechanism import POOL_WAITERS

pytestmark = pytest.mark.behaviour(
    "the model: each client is served the way the model says", notes="§5 single, §6 processes, §7 threads"
)

CLIENTS = 4

# What a failure's HAPPENED ends with when the server looks like another model than the one declared.
NOT_THE_MODEL = {
    "forking": N_("{looks_like}, not a forking one"),
    "threaded": N_("{looks_like}, not a threaded one"),
    "iterative": N_("{looks_like}, not an iterative one"),
    "evented": N_("{looks_like}, not an evented one"),
}
NOT_THE_MODEL_NAMED = N_("{looks_like}, not a {model} one")


@contextlib.contextmanager
def before_the_model() -> Iterator[None]:
    """An exchange that fails before the model is looked at is no failure of the model: say so."""
    try:
        yield
    except SpecFailure as failure:
        failure.exchange_hint = failure.exchange_hint or hints.BEFORE_THE_MODEL
        raise


def connect_and_chat(server, count: int = CLIENTS):
    """`count` clients, all connected, each served."""
    with before_the_model():
        clients = server.connect_many(count)
        for client in clients:
            server.chat(client, b"which process serves %s?" % client.name.encode())
    return clients


def looks_like(server, clients) -> str:
    """What /proc shows of how `clients` (all connected) are served, in the words of the models, for
    a failure's HAPPENED."""
    words = server.looks_like(clients).words
    if server.model in NOT_THE_MODEL:
        return _(NOT_THE_MODEL[server.model]).format(looks_like=words)
    return _(NOT_THE_MODEL_NAMED).format(looks_like=words, model=server.model)


def check_model(condition: object, server, clients, expected: str, happened: str) -> None:
    """`check`, whose HAPPENED goes on to say what the server looks like instead (read only when
    the check fails: it looks at every connection again)."""
    if not condition:
        check(
            condition,
            expected,
            _("{happened}: {looks_like}").format(happened=happened, looks_like=looks_like(server, clients)),
        )


@pytest.mark.models("forking")
@pytest.mark.likely_bug(
    "the server does not fork a child per client (it is not a forking server), or the child does not "
    "get the accepted socket",
    causes=("wrong-model", "swapped-fork-branches"),
)
def test_forking_serves_each_client_in_its_own_child(server):
    """Connect four clients and chat on each; the server's end of each connection must be held by a
    child process of the server, a different child for each client."""
    clients = connect_and_chat(server)
    holders = {}
    for client in clients:
        held_by, _candidates = server.holders(client)
        children = [pid for pid in held_by if pid != server.pid]
        check_model(
            children,
            server,
            clients,
            _("the server's end of {client}'s connection to be held by a child process").format(client=client.name),
            _("it is held by {holders} (the server is pid {pid})").format(
                holders=held_by or _("no process"), pid=server.pid
            ),
        )
        holders[client.name] = children[0]
    check(
        len(set(holders.values())) == len(clients),
        _("a different child process for each client"),
        _("clients were served by {holders}").format(holders=holders),
    )


@pytest.mark.models("forking")
@pytest.mark.likely_bug(
    "the parent never closes the accepted socket after fork(), so the connection stays open when the "
    "child closes it: the client never sees end of file and the parent runs out of descriptors",
    causes=("parent-keeps-socket",),
)
def test_forking_parent_closes_accepted_socket(server):
    """Connect four clients and chat on each; the parent process must not keep its copy of any
    accepted socket (each belongs to its child alone)."""
    clients = connect_and_chat(server)
    for client in clients:
        server.wait_state(lambda s, client=client: server.pid not in server.holders(client)[0])
        held_by, _candidates = server.holders(client)
        check_model(
            server.pid not in held_by,
            server,
            clients,
            _("only the child to hold the server's end of {client}'s connection").format(client=client.name),
            _("the parent (pid {pid}) still holds it, as do {holders}").format(pid=server.pid, holders=held_by),
        )


@pytest.mark.models("threaded")
@pytest.mark.likely_bug(
    "the server does not start a thread per client (or forks instead): it must call pthread_create "
    "for each accepted connection and serve it in that thread",
    causes=("wrong-model", "not-concurrent"),
)
def test_threaded_serves_each_client_in_a_thread(server):
    """After a first client came and went, connect four clients and chat on each; the server must
    hold every connection itself, have no child processes, and run at least four more threads than
    when idle."""
    with before_the_model():
        server.warm_up()
    clients = connect_and_chat(server)
    expect_held_by_the_server_alone(server, clients)
    now = server.state()
    check_model(
        now.threads >= server.baseline.threads + CLIENTS,
        server,
        clients,
        _("at least {count} threads ({idle} when idle, plus one per client)").format(
            count=server.baseline.threads + CLIENTS, idle=server.baseline.threads
        ),
        _("it runs {count}").format(count=now.threads),
    )


def expect_held_by_the_server_alone(server, clients) -> None:
    """The server process itself holds the server's end of every client's connection, and has no
    child process for any of them."""
    for client in clients:
        held_by, _candidates = server.holders(client)
        check_model(
            held_by == [server.pid],
            server,
            clients,
            _("the server process itself (pid {pid}) to hold {client}'s connection").format(
                pid=server.pid, client=client.name
            ),
            _("it is held by {holders}").format(holders=held_by or _("no process")),
        )
    children = server.client_children(server.state())
    check_model(
        not children,
        server,
        clients,
        _("no child processes"),
        _("the server has children {pids}").format(pids=list(children)),
    )


@pytest.mark.models("threaded")
@pytest.mark.likely_bug(
    "threads do not end when their client leaves: return from the thread function when recv() "
    "returns 0, and detach the thread (or join it) so its resources are freed",
    causes=("thread-leak", "no-close-on-eof", "spin-on-eof"),
)
def test_threads_end_with_their_clients(server):
    """After a first client came and went, connect four clients, chat, close them all: the thread
    count must go back to what it was before they came."""
    with before_the_model():
        server.warm_up()
    for client in connect_and_chat(server):
        client.close()
    allowed = server.baseline.threads + server.RUNTIME_THREADS
    settled = server.wait_state(lambda s: s.threads <= allowed)
    check(
        settled.threads <= allowed,
        ngettext(
            "the server to go back to {count} thread after its clients left "
            "(or at most {runtime} more, which a runtime may keep for itself)",
            "the server to go back to {count} threads after its clients left "
            "(or at most {runtime} more, which a runtime may keep for itself)",
            server.baseline.threads,
        ).format(count=server.baseline.threads, runtime=server.RUNTIME_THREADS),
        _("it still runs {count} after {seconds:g} s").format(count=settled.threads, seconds=server.timeouts.settle),
    )


@pytest.mark.models("iterative")
@pytest.mark.likely_bug(
    "a single-process server serves clients itself: it must not fork or start threads", causes=("wrong-model",)
)
def test_iterative_serves_in_its_own_process(server):
    """After a first client came and went, connect a client and chat; the server process itself
    must hold the connection, with no child processes and no extra threads."""
    with before_the_model():
        server.warm_up()
    clients = connect_and_chat(server, 1)
    expect_held_by_the_server_alone(server, clients)
    now = server.state()
    check_model(
        now.threads <= server.baseline.threads,
        server,
        clients,
        _("no more threads than when idle ({idle})").format(idle=server.baseline.threads),
        _("it runs {count}").format(count=now.threads),
    )


EVENTED_CLIENTS = 8  # well above RUNTIME_THREADS, so a thread per client cannot pass for a runtime's own


@pytest.mark.models("evented")
@pytest.mark.likely_bug(
    "the server is not evented: it must serve every client from its one thread, waiting with "
    "select()/poll()/epoll_wait() for whichever socket is ready, with no child process and no "
    "thread per client",
    causes=("wrong-model",),
)
def test_evented_serves_every_client_from_one_thread(server):
    """After a first client came and went, connect eight clients, each served while the earlier ones
    stay connected, and chat on each: the server process itself must hold every connection, with no
    child processes, and run no more threads than when idle (or a runtime's own few more)."""
    with before_the_model():
        server.warm_up()
    clients = connect_and_chat(server, EVENTED_CLIENTS)
    expect_held_by_the_server_alone(server, clients)
    now = server.state()
    allowed = server.baseline.threads + server.RUNTIME_THREADS
    check_model(
        now.threads <= allowed,
        server,
        clients,
        _(
            "no more threads than when idle ({idle}, or at most {runtime} more, "
            "which a runtime may keep for itself) while its clients are connected"
        ).format(idle=server.baseline.threads, runtime=server.RUNTIME_THREADS),
        _("it runs {count}").format(count=now.threads),
    )


@pytest.mark.models("evented")
@pytest.mark.likely_bug(
    "the server serves its clients from a pool of threads, each blocked in accept() or recv() on one "
    "socket, not from one loop that waits with select()/poll()/epoll_wait() for whichever is ready",
    causes=("wrong-model",),
)
def test_evented_threads_wait_for_any_socket_not_one(server):
    """After a first client came and went, connect eight clients and chat on each: at most one thread
    of the server may sit blocked on a single socket (in accept, recv or send) once they are served;
    an event loop waits for all of them at once."""
    with before_the_model():
        server.warm_up()
    clients = connect_and_chat(server, EVENTED_CLIENTS)
    waiting: list[str] = []

    def loop_waits_for_any() -> bool:
        waiting[:] = server.socket_waits()
        return len(waiting) < POOL_WAITERS

    server.wait_state(lambda _state: loop_waits_for_any())
    check_model(
        len(waiting) < POOL_WAITERS,
        server,
        clients,
        _(
            "the threads of an event loop to wait for whichever socket is ready (select, poll, epoll_wait), "
            "at most one of them blocked on a single socket"
        ),
        _("{count} threads sit blocked on one socket each ({calls})").format(
            count=len(waiting), calls=", ".join(sorted(set(waiting)))
        ),
    )
