"""Run a program under test so that it, and everything it forks, can be taken down as one.

The program runs in a session and process group of its own, its stdout and
stderr are drained so it never blocks on a full pipe, and the harness makes
itself a child subreaper: a process the program forks stays in our tree
even if it calls setsid() or outlives its parent, and is killed and reaped
on stop.  Nothing the spec starts outlives it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from sockspec import proc
from sockspec.output import OutputTail
from sockspec.timeouts import wait_for

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Make orphans of our programs' trees our children, so we can kill and reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: process groups still cover the common case


def arm_cleanup(stop_all: Callable[[], None]) -> None:
    """Before the first program starts: make sure none can outlive this process.

    Orphans come back to us (subreaper), `stop_all` runs at exit, and SIGTERM
    is handled like Ctrl-C, so fixtures run their teardown and stop everything.
    """
    become_subreaper()
    atexit.register(stop_all)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def describe_exit(code: int, who: str = "the server") -> str:
    """A process's exit status in words; shells report death by signal N as 128+N."""
    signum = -code if code < 0 else code - 128 if code > 128 else 0
    try:
        name = signal.Signals(signum).name if signum else ""
    except ValueError:
        name = ""
    if code < 0:
        return f"{who} was killed by {name or f'signal {signum}'}"
    if name:
        return f"{who} exited with status {code} (its shell's way of saying it was killed by {name})"
    return f"{who} exited with status {code}"


class ProcessTree:
    """A started program and every process below it."""

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        stdin: int,
        log_path: Path | None = None,
        stdout: int = subprocess.PIPE,
    ) -> None:
        """Start `argv`; raise OSError if it cannot be executed at all."""
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._seen: set[int] = set()
        self._parents: dict[int, int] = {}  # each member's parent when it was first seen
        self.stopped = False
        self.output = self._drain_output(log_path)

    def _drain_output(self, log_path: Path | None) -> OutputTail:
        """Drain the program's output pipes into one tail (a subclass may keep streams apart)."""
        output = OutputTail(log_path)
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                output.drain(os.dup(pipe.fileno()))
                pipe.close()
        return output

    @property
    def pid(self) -> int:
        return self.popen.pid

    def members(self) -> set[int]:
        """Every live or unreaped process of this tree: started, forked, or orphaned to us.

        A process belongs to the tree if it descends from the root, kept the
        root's session or process group, or was seen in the tree before (a
        process that calls setsid() and whose parent then exits is found
        that way; `sweep_orphans` catches one that escaped even that).
        """
        table = proc.process_table()
        root = self.popen.pid
        members = {root} | self._seen
        members.update(s.pid for s in table.values() if root in (s.sid, s.pgid))
        for pid in list(members):
            members.update(s.pid for s in proc.descendants(pid, table))
        members = {pid for pid in members if pid in table}
        for pid in members - self._parents.keys():
            self._parents[pid] = table[pid].ppid
        self._seen |= members - {root}
        return members

    def started_by(self, pid: int) -> set[int]:
        """The members `pid` started, by what the tree has seen of them.

        A member was started by `pid` if `pid` is its parent, or its parent's
        parent, and so on, each as it was when first seen: a child that called
        setsid(), or whose own parent exited and left it to us, still counts;
        a sibling does not (the `tee` of `./server | tee log`, started by the
        same shell).  A member first seen already re-parented to us, whose
        origin we never saw, counts too: a double-forked grandchild looks like
        that, its parent exits at once.
        """
        started = set()
        for member in self.members():
            lineage = self._lineage(member)
            if pid in lineage[1:] or self.popen.pid not in lineage:
                started.add(member)
        return started

    def _lineage(self, pid: int) -> list[int]:
        """`pid`, its parent when first seen, that one's, ... up to the first that was never a member."""
        lineage = [pid]
        while lineage[-1] in self._parents and self._parents[lineage[-1]] not in lineage:
            lineage.append(self._parents[lineage[-1]])
        return lineage

    def stop(self, sig: int, grace: float) -> str:
        """Signal the whole tree, wait up to `grace`, then SIGKILL; reap.  Says if it escalated."""
        if self.stopped:
            return ""
        self.stopped = True
        note = ""
        if self._signal(sig) and not self._wait_gone(grace):
            note = f"it did not exit within {grace:g} s of {signal.Signals(sig).name}; killed it"
            self._signal(signal.SIGKILL)
            self._wait_gone(grace)
        self.popen.wait()
        self.output.finish(timeout=1.0)
        return note

    def _signal(self, sig: int) -> bool:
        members = self.members()
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        return bool(members)

    def _wait_gone(self, seconds: float) -> bool:
        """Wait until every process of the tree has exited and been reaped."""

        def gone() -> bool:
            self._reap_orphans()
            return not self.members()

        return bool(wait_for(gone, seconds))

    def _reap_orphans(self) -> None:
        """Collect the exit statuses of processes of this tree that were re-parented to us."""
        me = os.getpid()
        for stat in proc.process_table().values():
            if stat.ppid == me and stat.state == "Z" and stat.pid != self.popen.pid and stat.pid in self._seen:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(stat.pid, os.WNOHANG)
        self.popen.poll()


def sweep_orphans() -> None:
    """Kill and reap session leaders re-parented to us: escapees of trees already stopped.

    Call only when no tree is running: then every such process is a leftover
    of a program under test (our own subprocesses are never session leaders
    re-parented to us).
    """
    me = os.getpid()
    for stat in proc.process_table().values():
        if stat.ppid == me and stat.sid == stat.pid:
            try:
                os.kill(stat.pid, signal.SIGKILL)
                os.waitpid(stat.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
