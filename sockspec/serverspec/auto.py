"""`--model auto`: watch a server's first clients and find the model they show.

For a student who ported the servers and does not know the word for what
they wrote.  The first question is whether a second client is taken while a
first one is still connected (one client at a time, or several at once);
then what /proc shows of how they are served (sockspec.serverspec.mechanism).
A reply that comes back wrong still shows a client served: what is wrong with
it is for the spec's tests to say, once the model is known.
"""

from __future__ import annotations

import dataclasses
import re

from sockspec.failure import SpecFailure
from sockspec.i18n import _
from sockspec.serverspec.connection import Client
from sockspec.serverspec.handle import ServerHandle
from sockspec.serverspec.mechanism import Seen, seen
from sockspec.serverspec.pool import ServerPool
from sockspec.targets import ANY, Target
from sockspec.timeouts import wait_for

# Clients connected at once when the model is judged: well above a runtime's own threads, so a
# thread per client cannot pass for them (as in the evented model test).
WATCHED_CLIENTS = 8


class ModelNotFound(Exception):
    """`--model auto` could not tell the server's model: `reason` says what it saw, in one line;
    `output`, the server's last lines."""

    def __init__(self, reason: str, output: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.output = output or []


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
            _("--model auto cannot tell the model: it expected {expected}, but {happened}").format(
                expected=failure.expected, happened=failure.happened
            ),
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
        # What it looks like, without the model's name after the colon (a Chinese one, too).
        how = re.split("[:\uff1a]", found.words)[0]
        raise ModelNotFound(
            _(
                "--model auto found no model that fits: the server serves one client at a time (client 2 waited "
                "until client 1 left), yet {how}"
            ).format(how=how)
        )
    return Seen("iterative", _("it serves one client at a time, in its own process: an iterative server"))


def _served(server: ServerHandle, client: Client, message: bytes) -> None:
    """Chat on `client`; a reply that comes back wrong still shows the client served (what is wrong
    with it is for the spec's tests to say), none at all does not."""
    try:
        server.chat(client, message)
    except SpecFailure as failure:
        if not failure.received:
            raise
