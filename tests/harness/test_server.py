"""Finding the server in the tree we started, and which processes of the tree are its own."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator

import pytest

from sockspec import server
from sockspec.process_tree import become_subreaper
from sockspec.server import ServerProcess
from sockspec.targets import Target
from sockspec.timeouts import Timeouts, wait_for
from tests.harness.conftest import ROOT

THREADED = f"{sys.executable} -m reference.threaded --host {{host}} --port {{port}}"

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


def target(*argv: str, model: str = "threaded") -> Target:
    return Target("test", model, "echo", argv, ROOT)


def shell(command: str, model: str = "threaded") -> Target:
    return target("/bin/sh", "-c", command, model=model)


def python(code: str) -> Target:
    return target(sys.executable, "-c", code, "{port}")


@pytest.fixture
def start() -> Iterator[Callable[..., ServerProcess]]:
    """server.start for a target, with the server stopped after the test."""
    become_subreaper()
    running: list[ServerProcess] = []

    def started(chosen: Target, port: int | None = None, timeouts: Timeouts | None = None) -> ServerProcess:
        process = server.start(chosen, "127.0.0.1", timeouts or Timeouts(), port=port)
        running.append(process)
        return process

    yield started
    for process in running:
        process.stop(signal.SIGKILL)


class TestWhoseChildren:
    def test_a_wrappers_other_children_are_not_the_servers(self, start):
        process = start(shell(f"{THREADED} | cat"))
        assert process.pid != process.tree.pid
        assert process.state().children == (), "the pipeline's cat was counted as the server's child"

    def test_children_that_left_the_session_or_were_double_forked_are_the_servers(self, start):
        process = start(python(SPAWNS_AT_START))
        assert wait_for(lambda: len(process.state().children) == 2, 5), process.state()
