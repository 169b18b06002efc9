"""How a server serves the clients connected to it, as /proc shows it, in the words of the models.

Two users read the same signs.  A model test that fails says what the
server looks like instead of what was declared; `--model auto` watches a
server's first clients and runs the spec for the model they show, for a
student who ported the servers and does not know the word for what they
wrote.  The signs: does the server take a second client while a first one
is connected; which process holds the server's end of each connection; how
many threads the server runs beyond its idle count; and whether its threads
sit blocked in accept/recv/send on one socket each (a pool) or wait for
whichever socket is ready (an event loop).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sockspec import proc
from sockspec.failure import SpecFailure
from sockspec.serverspec.connection import Client
from sockspec.serverspec.handle import ServerHandle
from sockspec.serverspec.pool import ServerPool
from sockspec.targets import ANY, Target
from sockspec.timeouts import wait_for

# Clients `--model auto` has connected at once when it judges: well above a runtime's own threads,
# so a thread per client cannot pass for them (as in the evented model test).
WATCHED_CLIENTS = 8

# Threads blocked on one socket each that make one process a pool of threads, not an event loop:
# an event loop's one thread may sit in a blocking recv() (a bug the evented tests catch), not two.
POOL_WAITERS = 2


@dataclass(frozen=True)
class Seen:
    """What the server looks like: the model it fits (None: none can be told) and why, in words."""

    model: str | None
    words: str


class ModelNotFound(Exception):
    """`--model auto` could not tell the server's model: `reason` says what it saw, in one line;
    `output`, the server's last lines."""

    def __init__(self, reason: str, output: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.output = output or []


def seen(server: ServerHandle, clients: list[Client]) -> Seen:
    """What /proc shows of how `clients`, all connected and each served, are served."""
    holders = {client.name: set(server.holders(client)[0]) - {server.pid} for client in clients}
    now = server.state()
    extra = now.threads - server.baseline.threads
    if any(holders.values()):
        own_child = all(pids and not pids & server.helpers for pids in holders.values())
        if own_child and len({frozenset(pids) for pids in holders.values()}) == len(clients):
            return Seen("forking", "each client is served in a child process of its own: a forking server")
        return Seen(ANY, "its clients are served by processes it started before they came: a pool of processes")
    if extra >= len(clients) > 0:
        more = f"{extra} more thread{'s' if extra != 1 else ''} than when idle"
        return Seen("threaded", f"every client is served in a thread of one process ({more}): a threaded server")
    if extra > server.RUNTIME_THREADS:
        return Seen(
            ANY,
            f"one process serves them with {extra} more threads than when idle, fewer than one per client: "
            "a pool of threads",
        )
    waiting = proc.threads_waiting_on_sockets(server.pid) or []
    if len(waiting) >= POOL_WAITERS:
        calls = ", ".join(sorted(set(waiting)))
        return Seen(
            ANY,
            f"one process serves them with {len(waiting)} threads it had when idle, each blocked on one socket "
            f"({calls}): a pool of threads",
        )
    if len(clients) > 1:
        return Seen("evented", "one thread of one process serves every client at once: an evented server")
    return Seen(None, "the server process serves the client itself, with no thread or child of its own for it")


def find(pool: ServerPool, target: Target) -> tuple[Target, str]:
    """The target with the model its server shows with its first clients, and what was seen;
    ModelNotFound when it fits no model or cannot be watched (ServerStartError if it does not start)."""
    watched = dataclasses.replace(target, model=ANY)
    process = pool.start(watched)
    server = ServerHandle(process, pool.patience(watched), "--model auto")
    try:
        found = _watch(server)
    except SpecFailure as failure:
        raise ModelNotFound(
            f"--model auto cannot tell the model: it expected {failure.expected}, but {failure.happened}",
            process.output.last_lines(),
        ) from None
    except ModelNotFound as error:
        raise ModelNotFound(error.reason, process.output.last_lines()) from None
    finally:
        server.close_clients()
        pool.stop(process)
    assert found.model is not None
    return dataclasses.replace(target, model=found.model, model_given=True, found=found.words), found.words


def _watch(server: ServerHandle) -> Seen:
    with server.connect("warm-up client") as client:
        _served(server, client, b"warming up")
    server.settle_baseline()
    first = server.connect("client 1")
    _served(server, first, b"which model are you?")
    second = server.connect("client 2")
    # Taken while client 1's connection is still open on the server's side: served at once.
    if wait_for(lambda: server.holders(second)[0], server.timeouts.connect) and server.holders(first)[0]:
        _served(server, second, b"and while client 1 is connected?")
        clients = [first, second]
        for i in range(WATCHED_CLIENTS - len(clients)):
            client = server.connect(f"client {len(clients) + 1}")
            try:
                _served(server, client, b"and with %d others?" % (i + 2))
            except SpecFailure:
                break  # served several at once, then no more: a cap, which the concurrency tests judge
            clients.append(client)
        found = seen(server, clients)
        assert found.model is not None
        return found
    # Not taken while client 1 is connected: one client at a time, which must be served by itself.
    first.close()
    _served(server, second, b"now that client 1 has gone?")
    found = seen(server, [second])
    if found.model is not None:
        raise ModelNotFound(
            f"--model auto found no model that fits: the server serves one client at a time (client 2 waited "
            f"until client 1 left), yet {found.words.split(':')[0]}"
        )
    return Seen("iterative", "it serves one client at a time, in its own process: an iterative server")


def _served(server: ServerHandle, client: Client, message: bytes) -> None:
    """Chat on `client`; a reply that comes back wrong still shows the client served (what is wrong
    with it is for the spec's tests to say), none at all does not."""
    try:
        server.chat(client, message)
    except SpecFailure as failure:
        if not failure.received:
            raise
