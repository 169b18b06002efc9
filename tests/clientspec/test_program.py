"""The client program as the harness runs it: stdout on a raw terminal, stdin typed, the whole tree reaped."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockspec import proc
from sockspec.clientspec.program import ClientProgram
from sockspec.failure import Transcript
from sockspec.timeouts import wait_for


@pytest.fixture
def run() -> Iterator:
    started: list[ClientProgram] = []

    def start(source: str) -> ClientProgram:
        argv = [sys.executable, "-c", textwrap.dedent(source)]
        program = ClientProgram(argv, Path.cwd(), dict(os.environ), Transcript())
        started.append(program)
        return program

    yield start
    for program in started:
        program.stop(grace=2.0)


def test_stdout_is_a_raw_terminal_and_stderr_a_pipe(run):
    program = run(
        """
        import os, sys
        print(os.isatty(1), os.isatty(2))
        sys.stdout.buffer.write(b"a\\nb\\r\\x00\\xff\\n"); sys.stdout.flush()
        print("to stderr", file=sys.stderr)
        """
    )
    assert program.wait_exit(10) == 0
    program.stdout.finish(5)
    program.stderr.finish(5)
    assert program.stdout.since(0) == b"True False\na\nb\r\x00\xff\n"
    assert program.stderr.since(0) == b"to stderr\n"


def test_typed_lines_then_end_of_input(run):
    program = run(
        """
        import sys
        for line in sys.stdin:
            print("got", line.strip(), flush=True)
        print("end of input")
        sys.exit(3)
        """
    )
    program.type_line(b"one")
    assert program.stdout.wait_shown(b"got one", 0, 10) == 7
    assert wait_for(program.waiting, 10), "blocked in read() with all input taken"
    program.end_input()
    assert program.wait_exit(10) == 3
    assert program.exit_description() == "the client exited with status 3"
    assert program.describe() == "the client exited with status 3"


def test_whole_tree_is_killed_and_reaped(run):
    program = run(
        """
        import os, time
        if os.fork() == 0:
            os.setsid()  # its own session: not in the client's process group any more
            if os.fork() == 0:
                time.sleep(600)
            time.sleep(600)
        time.sleep(600)
        """
    )
    assert wait_for(lambda: len(program.live_members()) == 3, 10)
    members = program.live_members()
    program.stop(grace=2.0)
    table = proc.process_table()
    assert [pid for pid in members if pid in table] == []


def test_busy_client_shows_its_cpu(run):
    program = run("while True: pass")
    assert program.cpu_seconds(0.5) > 0.05  # a fair share of a loaded machine is still far above 0
    assert "still running" in program.describe() and "of a core" in program.describe()


@pytest.mark.parametrize(
    ("code", "killed"), [(-13, True), (-64, True), (141, True), (139, True), (0, False), (1, False), (200, False)]
)
def test_a_death_by_signal_is_read_from_the_status_in_any_language(code, killed):
    """`expect_exit` fails a client killed by a signal whatever language its exit description is in."""
    from sockspec.clientspec.handle import killed_by_signal
    from sockspec.process_tree import describe_exit

    assert killed_by_signal(code) is killed
    assert ("killed" in describe_exit(code, "the client")) is killed  # the English words it replaces
