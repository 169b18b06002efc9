"""Finding the server in the tree we started (a daemon, a launcher, a wrapper), its own processes, bad ports."""

from __future__ import annotations

import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from sockspec import ports, proc
from sockspec.process_tree import ProcessTree
from sockspec.serverspec import launch
from sockspec.serverspec.launch import ServerProcess, ServerStartError
from sockspec.signals import become_subreaper
from sockspec.targets import Target
from sockspec.timeouts import Timeouts, wait_for
from tests.harness.conftest import ROOT

SERVERS = ROOT / "tests" / "harness" / "servers"
THREADED = f"{sys.executable} -m sockspec.reference.threaded --host {{host}} --port {{port}}"

# Listens at once on a port the kernel chooses, never on the one it was given.
WRONG_PORT = "import socket, time\nlistener = socket.create_server(('0.0.0.0', 0))\ntime.sleep(600)"

# An admin port first, then, a second later, the port it was given.
ADMIN_PORT_FIRST = """
import socket, sys, time
admin = socket.create_server(("127.0.0.1", 0))
time.sleep(1)
listener = socket.create_server(("127.0.0.1", int(sys.argv[-1])))
time.sleep(600)
"""

# Listens, then starts a child that leaves the session and a grandchild by a double fork.
SPAWNS_AT_START = """
import os, socket, sys, time
listener = socket.create_server(("127.0.0.1", int(sys.argv[-1])))
if os.fork() == 0:
    os.setsid()
    time.sleep(600)
middle = os.fork()
if middle == 0:
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
os.waitpid(middle, 0)
time.sleep(600)
"""

# A daemon (as daemon_forking.py) that exits with status 3 once a client has connected.
DAEMON_EXITS_3 = """
import os, socket, sys
port = int(sys.argv[-1])
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
listener = socket.create_server(("127.0.0.1", port))
listener.accept()
os._exit(3)
"""


def target(*argv: str, model: str = "threaded") -> Target:
    return Target("test", model, "echo", argv, ROOT)


def shell(command: str, model: str = "threaded") -> Target:
    return target("/bin/sh", "-c", command, model=model)


def python(code: str) -> Target:
    return target(sys.executable, "-c", code, "{port}")


@pytest.fixture
def start() -> Iterator[Callable[..., ServerProcess]]:
    """launch.start for a target, with the server stopped after the test."""
    become_subreaper()
    running: list[ServerProcess] = []

    def started(chosen: Target, port: int | None = None, timeouts: Timeouts | None = None) -> ServerProcess:
        process = launch.start(chosen, "127.0.0.1", timeouts or Timeouts(), port=port)
        running.append(process)
        return process

    yield started
    for process in running:
        process.stop(signal.SIGKILL)


def echoes(process: ServerProcess) -> bool:
    with socket.create_connection(("127.0.0.1", process.port), timeout=5) as client:
        client.sendall(b"ping")
        return client.recv(4) == b"ping"


class TestDaemon:
    def test_a_daemon_is_found_as_the_server(self, start):
        process = start(target(sys.executable, str(SERVERS / "daemon_forking.py"), "{port}", model="forking"))
        assert process.pid != process.tree.pid, "the started process exited at once; the daemon is the server"
        assert process.pid in process.tree.members() and echoes(process)

    def test_a_daemon_dies_with_its_tree(self, start):
        process = start(target(sys.executable, str(SERVERS / "daemon_forking.py"), "{port}", model="forking"))
        with socket.create_connection(("127.0.0.1", process.port)):
            children = wait_for(lambda: process.state().children, 5)
            assert children, "no child serves the client"
            doomed = {process.pid, *children}
            process.stop()
        assert not doomed & proc.process_table().keys(), "a process of the daemon outlived its tree, or was not reaped"

    def test_a_tree_that_looks_empty_once_is_looked_at_again(self, start, monkeypatch):
        # /proc is not read in one instant: the daemon's last fork can fall between two reads.
        real = ProcessTree.members
        missed: list[ProcessTree] = []

        def daemon_in_transit(tree: ProcessTree) -> set[int]:
            if tree.popen.poll() is not None and not missed:
                missed.append(tree)
                return set()
            return real(tree)

        monkeypatch.setattr(ProcessTree, "members", daemon_in_transit)
        process = start(target(sys.executable, str(SERVERS / "daemon_forking.py"), "{port}", model="forking"))
        assert missed and echoes(process)

    def test_a_daemon_that_exits_says_its_own_status(self, start):
        process = start(python(DAEMON_EXITS_3))
        socket.create_connection(("127.0.0.1", process.port)).close()
        assert wait_for(lambda: not process.alive(), 5)
        assert process.exit_description() == "the server exited with status 3"
        assert process.exit_description() == "the server exited with status 3", "the second look says the same"


class TestPortTaken:
    def test_a_port_another_program_listens_on_is_in_use(self, start):
        with socket.create_server(("127.0.0.1", 0)) as stranger:
            port = stranger.getsockname()[1]
            with pytest.raises(ServerStartError, match=f"port {port} is in use by another program on this machine"):
                start(shell(THREADED), port=port)

    def test_our_own_daemon_does_not_take_our_port(self, start):
        port = ports.pick_port()
        process = start(target(sys.executable, str(SERVERS / "daemon_forking.py"), "{port}", model="forking"), port)
        assert process.port == port and echoes(process)


class TestHandOver:
    def test_a_launcher_that_hands_its_socket_on_is_not_the_server(self, start):
        process = start(target(sys.executable, str(SERVERS / "hands_over_socket.py"), "{port}"))
        assert process.pid != process.tree.pid, "the launcher was taken for the server"
        assert proc.read_stat(process.pid).ppid == process.tree.pid
        assert process.state().children == () and echoes(process)

    def test_a_socket_that_changes_hands_while_we_look_is_looked_at_again(self, start, monkeypatch):
        # Its holders are read after the sockets: by then it may have changed hands.
        real = proc.holders_of
        looks = []

        def moved_on_the_first_looks(inode: int, pids: list[int]) -> list[int]:
            looks.append(inode)
            return [] if len(looks) <= 3 else real(inode, pids)

        monkeypatch.setattr(proc, "holders_of", moved_on_the_first_looks)
        process = start(shell(f"exec {THREADED}"))
        assert len(looks) > 3 and process.pid == process.tree.pid


class TestWhoseChildren:
    def test_a_wrappers_other_children_are_not_the_servers(self, start):
        process = start(shell(f"{THREADED} | cat"))
        assert process.pid != process.tree.pid
        assert process.state().children == (), "the pipeline's cat was counted as the server's child"

    def test_children_that_left_the_session_or_were_double_forked_are_the_servers(self, start):
        process = start(python(SPAWNS_AT_START))
        assert wait_for(lambda: len(process.state().children) == 2, 5), process.state()


class TestWrongPort:
    def test_a_server_listening_elsewhere_is_told_so_long_before_the_deadline(self, start):
        timeouts = Timeouts(start=20)
        began = time.monotonic()
        with pytest.raises(ServerStartError, match=r"listens on 0\.0\.0\.0:\d+, not on port \d+ it was given"):
            start(python(WRONG_PORT), timeouts=timeouts)
        assert time.monotonic() - began < timeouts.elsewhere + 3

    def test_a_server_that_also_listens_elsewhere_is_accepted(self, start):
        process = start(python(ADMIN_PORT_FIRST))
        assert process.listen_address[1] == process.port
