"""How a server serves the clients connected to it, as /proc shows it, in the words of the models.

Two users read the same signs.  A model test that fails says what the
server looks like instead of what was declared (`ServerHandle.looks_like`);
`--model auto` (sockspec.serverspec.auto) watches a server's first clients
and runs the spec for the model they show.  The signs: does the server take a second client while a first one
is connected; which process holds the server's end of each connection; how
many threads the server runs beyond its idle count; and whether its threads
sit blocked in accept/recv/send on one socket each (a pool) or wait for
whichever socket is ready (an event loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sockspec.i18n import _, ngettext
from sockspec.targets import ANY

if TYPE_CHECKING:  # the handle asks this module; this module only reads the handle
    from sockspec.serverspec.connection import Client
    from sockspec.serverspec.handle import ServerHandle

# Threads blocked on one socket each that make one process a pool of threads, not an event loop:
# an event loop's one thread may sit in a blocking recv() (a bug the evented tests catch), not two.
POOL_WAITERS = 2


@dataclass(frozen=True)
class Seen:
    """What the server looks like: the model it fits (None: none can be told) and why, in words."""

    model: str | None
    words: str


def seen(server: ServerHandle, clients: list[Client]) -> Seen:
    """What /proc shows of how `clients`, all connected and each served, are served."""
    holders = {client.name: set(server.holders(client)[0]) - {server.pid} for client in clients}
    now = server.state()
    extra = now.threads - server.baseline.threads
    if any(holders.values()):
        own_child = all(pids and not pids & server.helpers for pids in holders.values())
        if own_child and len({frozenset(pids) for pids in holders.values()}) == len(clients):
            return Seen("forking", _("each client is served in a child process of its own: a forking server"))
        return Seen(ANY, _("its clients are served by processes it started before they came: a pool of processes"))
    if extra >= len(clients) > 0:
        words = ngettext(
            "every client is served in a thread of one process ({count} more thread than when idle): a threaded server",
            "every client is served in a thread of one process ({count} more threads than when idle): "
            "a threaded server",
            extra,
        )
        return Seen("threaded", words.format(count=extra))
    if extra > server.RUNTIME_THREADS:
        return Seen(
            ANY,
            _(
                "one process serves them with {count} more threads than when idle, fewer than one per client: "
                "a pool of threads"
            ).format(count=extra),
        )
    waiting = server.socket_waits()
    if len(waiting) >= POOL_WAITERS:
        calls = ", ".join(sorted(set(waiting)))
        return Seen(
            ANY,
            _(
                "one process serves them with {count} threads it had when idle, each blocked on one socket "
                "({calls}): a pool of threads"
            ).format(count=len(waiting), calls=calls),
        )
    if len(clients) > 1:
        return Seen("evented", _("one thread of one process serves every client at once: an evented server"))
    return Seen(None, _("the server process serves the client itself, with no thread or child of its own for it"))
