"""Run the client under test the way a student runs it: stdout on a terminal, stdin typed by a user.

The harness plays the user.  It types lines into a pipe that is the
client's stdin (`sockspec.typist.Typist`, which also tells when a
line was taken), and closes the pipe for end of file, as Ctrl-D does.  The
client's stdout is a terminal (a pseudo-terminal in raw mode, so no byte is
translated): a C client that prints with printf() and no fflush() is line
buffered there, exactly as in the student's own terminal, and is not failed
for a buffering it never sees.  Its stderr is a pipe, so a message there is
told apart from a reply.  Starting, killing and reaping the whole process
tree is `process_tree`'s job.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import time
import tty
from pathlib import Path

from sockspec import proc
from sockspec.clientspec.streams import Stream
from sockspec.failure import Transcript, preview
from sockspec.i18n import _, ngettext
from sockspec.process_tree import ProcessTree, describe_exit
from sockspec.signals import arm_cleanup
from sockspec.timeouts import wait_for
from sockspec.typist import Typist


class ClientStartError(Exception):
    """The client program could not be run at all; the message is one line."""


class Streams:
    """The client's stdout and stderr, finished together when its tree is stopped."""

    def __init__(self, stdout: Stream, stderr: Stream) -> None:
        self.stdout = stdout
        self.stderr = stderr

    def finish(self, timeout: float) -> None:
        self.stdout.finish(timeout)
        self.stderr.finish(timeout)


class ClientTree(ProcessTree):
    """A `ProcessTree` whose stdout is a terminal, with stdout and stderr kept apart."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], stdin: int, terminal: int, master: int) -> None:
        """Start `argv` with `terminal` as its stdout; `master`, the terminal's other end, is read from then on."""
        self._master = master
        super().__init__(argv, cwd, env, stdin, stdout=terminal)

    def _drain_output(self, log_path: Path | None) -> Streams:  # type: ignore[override]
        assert self.popen.stderr is not None
        stderr = Stream(os.dup(self.popen.stderr.fileno()), "stderr")
        self.popen.stderr.close()
        return Streams(Stream(self._master, "stdout"), stderr)


_RUNNING: list[ClientProgram] = []
_armed = False


def _arm() -> None:
    global _armed
    if not _armed:
        _armed = True
        arm_cleanup(stop_all)


def stop_all() -> None:
    """Stop every client still running (at exit: a test that never reached its teardown)."""
    for program in list(_RUNNING):
        program.stop(grace=0.5)


class ClientProgram:
    """One run of the client under test."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], transcript: Transcript) -> None:
        """Start `argv`; raise ClientStartError if it cannot be executed at all."""
        self.transcript = transcript
        self.user = Typist()
        self._input_open = True
        master, terminal = pty.openpty()
        tty.setraw(terminal)  # no newline translation, no echo: the bytes the client wrote, as they were
        _arm()
        try:
            self.tree = ClientTree(argv, cwd, env, self.user.server_end, terminal, master)
        except OSError as error:
            self.user.close()
            os.close(master)
            reason = _("cannot run {program}: {error}").format(program=argv[0], error=error.strerror)
            raise ClientStartError(reason) from None
        finally:
            os.close(terminal)
        self.user.release_server_end()
        self.started = time.monotonic()
        self.stop_note = ""
        _RUNNING.append(self)

    @property
    def stdout(self) -> Stream:
        return self.tree.output.stdout

    @property
    def stderr(self) -> Stream:
        return self.tree.output.stderr

    @property
    def pid(self) -> int:
        return self.tree.pid

    # -- the user -----------------------------------------------------------

    def type_line(self, line: bytes) -> None:
        """Type `line` and press Enter."""
        try:
            self.user.type_line(line)
        except BrokenPipeError:
            self.transcript.add("user", f"typed {preview(line)}, but the client no longer reads its stdin")
            return
        self.transcript.add("user", f"typed {preview(line)} and Enter")

    def end_input(self) -> None:
        """End of file on stdin, as Ctrl-D at the start of a line does."""
        if self._input_open:
            self._input_open = False
            self.user.close()
            self.transcript.add("user", "ended the input (end of file on the client's stdin)")

    def input_taken(self) -> bool:
        """True once the client has read everything typed so far (or input has ended)."""
        return not self._input_open or self.user.pending_bytes() == 0

    # -- the process --------------------------------------------------------

    def exit_code(self) -> int | None:
        return self.tree.popen.poll()

    def wait_exit(self, seconds: float) -> int | None:
        """The client's exit status once it has exited, or None if it still runs after `seconds`."""
        try:
            return self.tree.popen.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def exit_description(self) -> str:
        code = self.exit_code()
        return "" if code is None else describe_exit(code, "the client")

    def live_members(self) -> list[int]:
        table = proc.process_table()
        members = self.tree.members()
        return [pid for pid in members if pid in table and table[pid].state not in ("Z", "X")]

    def waiting(self) -> bool:
        """True if the client has read all its input and every thread of it is blocked."""
        return self.input_taken() and all(proc.threads_all_sleeping(pid) for pid in self.live_members())

    def wait_waiting(self, seconds: float) -> bool:
        """Wait until the client waits again (True) or has exited (False); True on timeout too."""
        wait_for(lambda: self.exit_code() is not None or self.waiting(), seconds)
        return self.exit_code() is None

    def cpu_ticks(self) -> int:
        table = proc.process_table()
        return sum(table[pid].cpu_ticks for pid in self.live_members() if pid in table)

    def cpu_seconds(self, window: float) -> float:
        """CPU time the client's processes used over the next `window` seconds."""
        before = self.cpu_ticks()
        time.sleep(window)  # a measurement window: the spec asserts nothing happens in it
        return max(0, self.cpu_ticks() - before) / proc.CLOCK_TICKS

    def cpu_share(self) -> float:
        """The share of a core the client used since it started."""
        elapsed = max(time.monotonic() - self.started, 0.01)
        return self.cpu_ticks() / proc.CLOCK_TICKS / elapsed

    def describe(self) -> str:
        """The client's state in one line: how it ended, or what it is doing and what CPU it used."""
        ended = self.exit_description()
        if ended:
            return ended
        stat = proc.read_stat(self.pid)
        if stat is None:
            return _("the client is gone")
        elapsed = time.monotonic() - self.started
        count = len(self.live_members())
        return ngettext(
            "still running: pid {pid} (state {state}), {count} process, {share:.0%} of a core on average over the "
            "{elapsed:.1f} s since it started",
            "still running: pid {pid} (state {state}), {count} processes, {share:.0%} of a core on average over the "
            "{elapsed:.1f} s since it started",
            count,
        ).format(pid=self.pid, state=stat.state, count=count, share=self.cpu_share(), elapsed=elapsed)

    def stop(self, grace: float) -> str:
        """Kill and reap the client and everything it started; says so if SIGTERM was not enough."""
        if self in _RUNNING:
            _RUNNING.remove(self)
        if not self.tree.stopped:
            note = self.tree.stop(signal.SIGTERM, grace)
            self.stop_note = f"the client {note}" if note else ""
            self.end_input()
        return self.stop_note
