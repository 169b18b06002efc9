"""Reaping: a forking server leaves no zombie children, and no child outlives its client.

Seed section 6.2 installs a SIGCHLD handler so that exited children are
reaped.  Signals do not queue: when several children exit at once the
handler may run once for all of them, so it must reap in a loop
(waitpid(-1, ..., WNOHANG) until nothing is left).  Ignoring SIGCHLD or
reaping periodically are correct too; a little delay is allowed.
"""

from __future__ import annotations

import pytest

from sockspec import proc
from sockspec.failure import Hint, SpecFailure, check
from sockspec.i18n import N_, _, ngettext

pytestmark = [
    pytest.mark.behaviour("reaping: no zombie children, and no child outlives its client", notes="§6.2 SIGCHLD"),
    pytest.mark.models("forking", "any"),  # any: a server that forks for some clients must reap them too
]

CHILD_EXIT_HINT = Hint(
    N_(
        "the child process does not exit after its client leaves: when recv() returns 0 it must close "
        "the socket and exit() (the notes' child breaks out of its loop and falls back into the parent's "
        "accept() loop)"
    ),
    causes=("child-falls-into-accept",),
)


REAP_HINT = Hint(
    N_(
        "exited children are not reaped: handle SIGCHLD and call waitpid(-1, NULL, WNOHANG) in a loop "
        "until it returns 0 (one wait() per signal leaves zombies when several children exit at once)"
    ),
    causes=("no-reap", "one-wait-per-sigchld", "handler-not-rearmed"),
)


def expect_children_gone(server, after: str, exited: int = 1, together: bool = False) -> None:
    """Every child of the `exited` clients' has exited and been reaped; how many zombies remain of how
    many is evidence of the reaping bug (none reaped, all but the first, some)."""
    settled = server.wait_state(lambda s: not server.client_children(s) and not s.zombies)
    left = server.client_children(settled)
    check(
        not left,
        _("every child process to exit {after}").format(after=after),
        ngettext(
            "{count} child process still runs after {seconds:g} s: {pids}",
            "{count} child processes still run after {seconds:g} s: {pids}",
            len(left),
        ).format(count=len(left), seconds=server.timeouts.settle, pids=proc.pids(left)),
        CHILD_EXIT_HINT,
    )
    zombies = len(settled.zombies)
    if zombies:
        failure = SpecFailure(
            _("every exited child to be reaped {after}").format(after=after),
            ngettext(
                "{count} zombie remains after {seconds:g} s: {pids}",
                "{count} zombies remain after {seconds:g} s: {pids}",
                zombies,
            ).format(count=zombies, seconds=server.timeouts.settle, pids=proc.pids(settled.zombies)),
            REAP_HINT,
        )
        failure.evidence.append(_reaping_evidence(zombies, exited, together))
        raise failure


def _reaping_evidence(zombies: int, exited: int, together: bool) -> tuple[str, str]:
    """Children that exited `together` send SIGCHLD at once, and signals do not queue: some reaped
    points at one wait() per signal.  One after another, each has a signal of its own: only the
    first reaped points at a handler that ran once."""
    if zombies >= exited:
        words = ngettext(
            "the child that exited was not reaped", "none of the {exited} children that exited was reaped", exited
        )
        return "no-reap", words.format(exited=exited)
    if together:
        words = ngettext(
            "{reaped} of {exited} children that exited at once was reaped",
            "{reaped} of {exited} children that exited at once were reaped",
            exited - zombies,
        )
        return "one-wait-per-sigchld", words.format(reaped=exited - zombies, exited=exited)
    if zombies == exited - 1:
        words = _("the first of {exited} children that exited one by one was reaped, none after")
        return "handler-not-rearmed", words.format(exited=exited)
    words = ngettext(
        "{zombies} of {exited} children that exited one by one stays a zombie",
        "{zombies} of {exited} children that exited one by one stay zombies",
        zombies,
    )
    return "no-reap", words.format(zombies=zombies, exited=exited)


@pytest.mark.likely_bug(
    CHILD_EXIT_HINT,
    causes=("child-falls-into-accept", "no-reap"),
)
def test_child_exits_and_is_reaped_after_its_client(server):
    """A client chats and closes: its child must exit and be reaped."""
    with server.connect() as client:
        server.chat(client, b"one client")
    expect_children_gone(server, _("after its client left"))


@pytest.mark.likely_bug(
    "the child does not exit when its client resets the connection: recv() < 0 (ECONNRESET) ends the "
    "client as recv() == 0 does; the child must close the socket and exit(), not return into the "
    "parent's loop",
    causes=("child-falls-into-accept",),
)
def test_child_exits_after_its_client_resets(server):
    """A client chats and resets the connection (SO_LINGER 0): its child must exit and be reaped."""
    client = server.connect()
    server.chat(client, b"about to reset")
    client.reset()
    expect_children_gone(server, _("after its client reset the connection"))


@pytest.mark.likely_bug(
    REAP_HINT,
    causes=("one-wait-per-sigchld", "no-reap", "handler-not-rearmed"),
)
def test_no_zombies_after_many_clients_leave_at_once(server):
    """Thirty clients connect and chat, then all close at the same moment, so their children exit
    together: none may stay a zombie."""
    clients = server.connect_many(30)
    server.chat_all([(c, b"burst %s" % c.name.encode()) for c in clients])
    for client in clients:
        client.close()
    expect_children_gone(server, _("after thirty clients left at once"), exited=30, together=True)


@pytest.mark.likely_bug(
    REAP_HINT,
    causes=("no-reap", "handler-not-rearmed", "one-wait-per-sigchld"),
)
def test_no_zombies_after_clients_leave_one_by_one(server):
    """Five clients come and go one after the other; no zombie may remain."""
    for i in range(5):
        with server.connect(f"client {i + 1}") as client:
            server.chat(client, b"one by one")
    expect_children_gone(server, _("after five clients left one by one"), exited=5)


@pytest.mark.likely_bug(
    "the SIGCHLD handler waits for children that are still running: waitpid(-1, NULL, 0) (or wait()) "
    "in a loop blocks the server until every child has exited; use WNOHANG and stop when it returns 0",
    causes=("blocking-reap",),
)
def test_reaping_never_waits_for_a_running_child(server):
    """Client A connects and stays; client B comes and goes, so its child exits while A's still
    runs; then client C must be served at once, and A too."""
    a = server.connect("A")
    server.chat(a, b"A stays connected")
    with server.connect("B") as b:
        server.chat(b, b"B comes and goes")
    server.wait_state(lambda s: len(server.client_children(s)) <= 1)  # B's child exited: SIGCHLD
    with server.connect("C") as c:
        server.chat(c, b"C comes after B left")
    server.chat(a, b"A is still served")
