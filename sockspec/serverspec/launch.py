"""Start a server under test, find the process that listens, and take it all down.

The process we start is not always the server: `sh -c './server 1234'` forks
the server as its child, a wrapper script may do the same, a launcher may
hand its listening socket on to the real server (systemd's socket
activation), a daemon forks twice and lets its parents exit.  The server is
whichever process of the started tree holds the listening socket on our
port once the tree has settled; the spec inspects that process and what it
started.  Starting, draining and killing the whole tree is `process_tree`'s job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from sockspec import ports, proc, tcp
from sockspec.i18n import N_, _
from sockspec.output import OutputTail
from sockspec.process_tree import ProcessTree, describe_exit
from sockspec.targets import Target
from sockspec.timeouts import TABLE_INTERVAL, Deadline, Timeouts, wait_for
from sockspec.typist import Typist


class ServerStartError(Exception):
    """The server could not be brought up; the message is one line a student can act on."""

    def __init__(self, reason: str, output: list[str]) -> None:
        self.reason = reason
        self.output = output
        super().__init__(reason)


class PortTaken(Exception):
    """The port we chose was taken (another program holds it, or the server could not bind it):
    most likely not the server's fault, so choose again; `failure` says what to say if it repeats."""

    def __init__(self, failure: ServerStartError | None = None) -> None:
        super().__init__()
        self.failure = failure


@dataclass(eq=False)
class ServerProcess:
    """A running server under test."""

    target: Target
    host: str
    port: int
    tree: ProcessTree
    operator: Typist
    timeouts: Timeouts
    pid: int = 0  # the process that holds the listening socket
    listen_address: tuple[str, int] = ("", 0)
    baseline: proc.TreeState | None = None  # its state once idle after it started listening
    stop_note: str = ""

    @property
    def output(self) -> OutputTail:
        return self.tree.output

    def state(self) -> proc.TreeState:
        """The server and every process it started, even those re-parented away from it.

        Not the rest of the tree: a wrapper's other children (the `tee` of
        `./server | tee log`) are the server's siblings, not its children.
        """
        started = self.tree.started_by(self.pid)
        adopted = started - {self.pid} - proc.ancestors(self.pid, proc.process_table())
        return proc.tree_state(self.pid, adopted)

    def alive(self) -> bool:
        return proc.is_live(self.pid)

    def exit_description(self) -> str:
        """How the server ended, in words, or '' if it is still running."""
        if self.alive():
            return ""
        # A daemon's status is its own (it was re-parented to us); the command's says nothing then.
        code = self.tree.exit_status(self.pid)
        if code is None:
            code = self.tree.popen.poll()
        if code is None:
            return _("the server process (pid {pid}) is gone, though the command that started it still runs").format(
                pid=self.pid
            )
        return describe_exit(code)

    def is_listening(self) -> bool:
        """True if the server still holds a listening socket on its port."""
        listening = tcp.listeners_on(self.port)
        return any(inode in listening for inode in proc.socket_inodes(self.pid))

    def interrupt(self) -> None:
        """Ctrl-C in the server's terminal: SIGINT to the server's process group (a shell that
        started it is in it too; a daemon has a group of its own)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(self.pid), signal.SIGINT)

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Stop the server and everything it started; says so if it had to be killed."""
        if not self.tree.stopped:
            note = self.tree.stop(sig, self.timeouts.stop)
            self.stop_note = f"the server {note}" if note else ""
            self.operator.close()
        return self.stop_note


def start(
    target: Target,
    host: str,
    timeouts: Timeouts,
    port: int | None = None,
    log_path: Path | None = None,
) -> ServerProcess:
    """Start `target` and return once it listens; raise ServerStartError if it never does.

    With `port` None a free port is chosen, and chosen again if the port is
    taken before the server binds it (another program on the machine may take
    any free port between our look and the server's bind()); with a port
    given, that port is used as is.
    """
    tried: set[int] = set()
    while True:
        chosen = port if port is not None else ports.pick_port(avoid=tried)
        tried.add(chosen)
        try:
            return _start_on(target, host, chosen, timeouts, log_path)
        except PortTaken as taken:
            if port is not None or len(tried) >= PORT_TRIES:
                if taken.failure is not None:
                    raise taken.failure from None
                reason = _("port {port} is in use by another program on this machine").format(port=chosen)
                raise ServerStartError(reason, []) from None


def _start_on(target: Target, host: str, port: int, timeouts: Timeouts, log_path: Path | None) -> ServerProcess:
    operator = Typist()
    env = dict(os.environ, HOST=host, PORT=str(port), PYTHONUNBUFFERED="1")
    argv = target.argv(host, port)
    try:
        tree = ProcessTree(argv, target.cwd, env, operator.server_end, log_path)
    except OSError as error:
        operator.close()
        raise ServerStartError(
            _("cannot run {program}: {error}").format(program=argv[0], error=error.strerror), []
        ) from None
    operator.release_server_end()
    server = ServerProcess(target, host, port, tree, operator, timeouts)
    try:
        _wait_listening(server)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    # The baseline for "back to where it was" checks: taken once the tree is quiet (every
    # thread blocked, in accept() normally: see _wait_listening), not while it still sets up.
    server.baseline = server.state()
    return server


def _wait_listening(server: ServerProcess) -> None:
    """Find the process of our tree that listens on our port, within the start deadline.

    The holder is taken once it is the same before and after the tree went
    quiet: a launcher that passes the socket on holds it too for a moment.
    """
    deadline = Deadline(server.timeouts.start)
    # A tree that has listened only on other ports for a while is told so then, not at the start
    # deadline: it bound a port it was not given (hard-coded, or port 0 from atoi(argv[0])), and
    # waiting on would only make every test of the run wait.  A server that also listens
    # elsewhere (an admin port) is accepted as long as it listens on ours by then.
    search = _Search(server, min(server.timeouts.elsewhere, server.timeouts.start))
    candidate = None
    while wait_for(search.look, deadline.remaining()) and search.found:
        if search.found == candidate or deadline.expired():
            break
        candidate = search.found
        # The tree gets a moment to go quiet (every thread blocked) before the holder is looked at
        # again and taken: a launcher that hands the socket on to the real server holds it too for
        # a moment, and is not the server.  The quiet tree is also the baseline of "back to where
        # it was" checks.
        wait_for(server.tree.quiet, min(server.timeouts.listen_settle, server.timeouts.start))
    lines = server.output.last_lines()
    if search.found is None:
        if search.ended:
            failure = ServerStartError(
                _("{ended} before listening on {host}:{port}{hint}").format(
                    ended=describe_exit(server.tree.popen.returncode),
                    host=server.host,
                    port=server.port,
                    hint=_(_bind_hint(lines)),
                ),
                lines,
            )
            if _bind_hint(lines) == IN_USE:
                raise PortTaken(failure)  # its bind() lost the port to another program: on another port, once more
            raise failure
        elsewhere = search.elsewhere or _listening_elsewhere(_sockets_of(server.tree.members()))
        if elsewhere:
            raise ServerStartError(
                _(
                    "the server listens on {elsewhere}, not on port {port} it was given "
                    "(is the port hard-coded? read it from the command line or PORT)"
                ).format(elsewhere=elsewhere, port=server.port),
                lines,
            )
        raise ServerStartError(
            _(
                "the server did not listen on {host}:{port} within {seconds:g} s "
                "(it is still running: does it call listen() on the port it was given?)"
            ).format(host=server.host, port=server.port, seconds=server.timeouts.start),
            lines,
        )
    server.pid, server.listen_address = search.found
    if not _reachable(server.listen_address[0], server.host):
        raise ServerStartError(
            _(
                "the server listens on {address}:{port}, which a client of "
                "{host} cannot reach (bind the address it was given, or INADDR_ANY)"
            ).format(address=server.listen_address[0], port=server.port, host=server.host),
            lines,
        )


class _Search:
    """Looks at a starting tree for the process that listens on our port, and what it did instead."""

    def __init__(self, server: ServerProcess, elsewhere_grace: float) -> None:
        self.server = server
        self.found: tuple[int, tuple[str, int]] | None = None  # (holder, address) at the last look
        self.ended = False  # every process of the tree exited
        self._seemed_empty = False  # at the previous look
        self.elsewhere = ""  # the address it listened on instead of ours, for elsewhere_grace
        self._grace = elsewhere_grace
        self._elsewhere_since: float | None = None
        self._next_table_read = 0.0

    def look(self) -> bool:
        """True once there is no more to wait for: it listens on our port, everything exited,
        or it has listened only elsewhere too long.  Raises PortTaken if another program holds our port."""
        server = self.server
        self.found = None
        tree = server.tree.members()
        if server.tree.popen.poll() is not None and not tree:
            # /proc is not read in one instant: a daemon's last fork can fall between the list of
            # processes and the read of its parent's state.  A second look, after it, is sure.
            self._seemed_empty, seemed_before = True, self._seemed_empty
            if not seemed_before:
                return False
            if _held_by_another_program(server, tcp.listeners_on(server.port)) or not ports.is_free(server.port):
                raise PortTaken()  # it could not bind: another program holds the port
            self.ended = True
            return True
        self._seemed_empty = False
        ours = _sockets_of(tree)
        if not ours:
            return False  # no socket yet: no need to read the (possibly huge) socket table
        listeners = tcp.listeners_on(server.port)
        for inode, address in listeners.items():
            if inode in ours:
                holder = _topmost(proc.holders_of(inode, sorted(tree)))
                if holder is None:
                    return False  # it changed hands while we looked (a launcher passed it on): look again
                self.found = (holder, address)
                return True
        if _held_by_another_program(server, listeners):
            raise PortTaken()
        return self._settled_elsewhere(ours)

    def _settled_elsewhere(self, ours: set[int]) -> bool:
        now = time.monotonic()
        if now < self._next_table_read:
            return False
        self._next_table_read = now + TABLE_INTERVAL
        self.elsewhere = _listening_elsewhere(ours)
        if not self.elsewhere:
            self._elsewhere_since = None
            return False
        if self._elsewhere_since is None:
            self._elsewhere_since = now
        return now - self._elsewhere_since >= self._grace


def _held_by_another_program(server: ServerProcess, listeners: dict[int, tuple[str, int]]) -> bool:
    """Do the listening sockets on our port belong to a program that is not ours?

    Only then is the port "in use by another program".  Every process of the
    machine is looked at (only ever when a listener seems foreign): one of
    our tree's may hold it, found since, or marked as ours and not found yet.
    """
    if not listeners:
        return False
    tree = server.tree.members()
    return not any(pid in tree or server.tree.carries_mark(pid) for pid in proc.holders_anywhere(set(listeners)))


def _sockets_of(pids: set[int]) -> set[int]:
    return set().union(*(proc.socket_inodes(pid) for pid in pids))


def _topmost(pids: list[int]) -> int | None:
    """The one of `pids` none of whose ancestors is also in `pids` (forked children inherit sockets);
    None if `pids` is empty."""
    table = proc.process_table()
    candidates = set(pids)
    for pid in pids:
        parent = table[pid].ppid if pid in table else 0
        while parent in table:
            if parent in candidates:
                candidates.discard(pid)
                break
            parent = table[parent].ppid
    return min(candidates, default=None)


def _reachable(bound: str, host: str) -> bool:
    """Can a client connecting to `host` reach a socket bound to `bound`?"""
    return bound in (host, "0.0.0.0", "::")


def _listening_elsewhere(inodes: set[int]) -> str:
    """The address one of the sockets `inodes` listens on, or ''."""
    for sock in tcp.tcp_sockets():
        if sock.state == tcp.TCP_LISTEN and sock.inode in inodes:
            return f"{sock.local[0]}:{sock.local[1]}"
    return ""


IN_USE = N_(": it could not bind, the address is already in use (set SO_REUSEADDR before bind())")
PORT_TRIES = 5  # ports tried before a server that cannot bind any of them is failed for it


def _bind_hint(lines: list[str]) -> str:
    text = " ".join(lines).lower()
    if "in use" in text:
        return IN_USE
    if "assign requested address" in text:
        return N_(": it could not bind, the address does not exist on this machine (is the IP address hard-coded?)")
    return ""
