"""Start a server under test, find the process that listens, and take it all down.

The process we start is not always the server: `sh -c './server 1234'` forks
the server as its child, a wrapper script may do the same.  The server is
whichever process in the started tree holds the listening socket on our
port; the spec inspects that process and its descendants.  Starting,
draining and killing the whole tree is `process_tree`'s job.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

from sockspec import ports, proc
from sockspec.operator_input import Operator
from sockspec.output import OutputTail
from sockspec.process_tree import ProcessTree, describe_exit
from sockspec.targets import Target
from sockspec.timeouts import Timeouts, wait_for


class ServerStartError(Exception):
    """The server could not be brought up; the message is one line a student can act on."""

    def __init__(self, reason: str, output: list[str]) -> None:
        self.reason = reason
        self.output = output
        super().__init__(reason)


class PortTaken(Exception):
    """Another program holds the port we chose: not the server's fault, choose again."""


@dataclass(eq=False)
class ServerProcess:
    """A running server under test."""

    target: Target
    host: str
    port: int
    tree: ProcessTree
    operator: Operator
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
        stat = proc.read_stat(self.pid)
        return stat is not None and stat.state not in ("Z", "X")

    def exit_description(self) -> str:
        """How the server ended, in words, or '' if it is still running."""
        if self.alive():
            return ""
        # A daemon's status is its own (it was re-parented to us); the command's says nothing then.
        code = self.tree.exit_status(self.pid)
        if code is None:
            code = self.tree.popen.poll()
        if code is None:
            return f"the server process (pid {self.pid}) is gone, though the command that started it still runs"
        return describe_exit(code)

    def is_listening(self) -> bool:
        """True if the server still holds a listening socket on its port."""
        listening = proc.listeners_on(self.port)
        return any(inode in listening for inode in proc.socket_inodes(self.pid))

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

    With `port` None a free port is chosen (and chosen again if another
    program takes it first); with a port given, that port is used as is.
    """
    tried: set[int] = set()
    while True:
        chosen = port if port is not None else ports.pick_port(avoid=tried)
        tried.add(chosen)
        try:
            return _start_on(target, host, chosen, timeouts, log_path)
        except PortTaken:
            if port is not None or len(tried) >= 5:
                raise ServerStartError(f"port {chosen} is in use by another program on this machine", []) from None


def _start_on(target: Target, host: str, port: int, timeouts: Timeouts, log_path: Path | None) -> ServerProcess:
    operator = Operator()
    env = dict(os.environ, HOST=host, PORT=str(port), PYTHONUNBUFFERED="1")
    argv = target.argv(host, port)
    try:
        tree = ProcessTree(argv, target.cwd, env, operator.server_end, log_path)
    except OSError as error:
        operator.close()
        raise ServerStartError(f"cannot run {argv[0]}: {error.strerror}", []) from None
    operator.release_server_end()
    server = ServerProcess(target, host, port, tree, operator, timeouts)
    try:
        _wait_listening(server)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    # The baseline for "back to where it was" checks: taken once every thread
    # is blocked (in accept(), normally), not while the server still sets up.
    wait_for(lambda: proc.threads_all_sleeping(server.pid), min(1.0, timeouts.start))
    server.baseline = server.state()
    return server


def _wait_listening(server: ServerProcess) -> None:
    """Find the process of our tree that listens on our port, within the start deadline."""
    found: dict[str, object] = {}

    def listening() -> bool:
        tree = server.tree.members()
        if server.tree.popen.poll() is not None and not tree:
            if proc.listeners_on(server.port):
                raise PortTaken()  # it could not bind because another program holds the port
            return True  # everything exited: stop waiting, reported below
        ours = set().union(*(proc.socket_inodes(pid) for pid in tree))
        if not ours:
            return False  # no socket yet: no need to read the (possibly huge) socket table
        inodes = proc.listeners_on(server.port)
        for inode, address in inodes.items():
            if inode in ours:
                found["pid"], found["address"] = _topmost(proc.holders_of(inode, sorted(tree))), address
                return True
        if inodes:
            raise PortTaken()
        return False

    wait_for(listening, server.timeouts.start)
    lines = server.output.last_lines()
    if "pid" not in found:
        code = server.tree.popen.poll()
        if code is not None:
            raise ServerStartError(
                f"{describe_exit(code)} before listening on {server.host}:{server.port}{_bind_hint(lines)}", lines
            )
        elsewhere = _listening_elsewhere(server)
        if elsewhere:
            raise ServerStartError(
                f"the server listens on {elsewhere}, not on port {server.port} it was given "
                "(is the port hard-coded? read it from the command line or PORT)",
                lines,
            )
        raise ServerStartError(
            f"the server did not listen on {server.host}:{server.port} within {server.timeouts.start:g} s "
            "(it is still running: does it call listen() on the port it was given?)",
            lines,
        )
    server.pid = int(found["pid"])  # type: ignore[call-overload]
    server.listen_address = found["address"]  # type: ignore[assignment]
    if not _reachable(server.listen_address[0], server.host):
        raise ServerStartError(
            f"the server listens on {server.listen_address[0]}:{server.port}, which a client of "
            f"{server.host} cannot reach (bind the address it was given, or INADDR_ANY)",
            lines,
        )


def _topmost(pids: list[int]) -> int:
    """The one of `pids` none of whose ancestors is also in `pids` (forked children inherit sockets)."""
    table = proc.process_table()
    candidates = set(pids)
    for pid in pids:
        parent = table[pid].ppid if pid in table else 0
        while parent in table:
            if parent in candidates:
                candidates.discard(pid)
                break
            parent = table[parent].ppid
    return min(candidates)


def _reachable(bound: str, host: str) -> bool:
    """Can a client connecting to `host` reach a socket bound to `bound`?"""
    return bound in (host, "0.0.0.0", "::")


def _listening_elsewhere(server: ServerProcess) -> str:
    inodes = set().union(*(proc.socket_inodes(pid) for pid in server.tree.members()))
    for sock in proc.tcp_sockets():
        if sock.state == proc.TCP_LISTEN and sock.inode in inodes:
            return f"{sock.local[0]}:{sock.local[1]}"
    return ""


def _bind_hint(lines: list[str]) -> str:
    text = " ".join(lines).lower()
    if "in use" in text:
        return ": it could not bind, the address is already in use (set SO_REUSEADDR before bind())"
    if "assign requested address" in text:
        return ": it could not bind, the address does not exist on this machine (is the IP address hard-coded?)"
    return ""
