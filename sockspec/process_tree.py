"""Run a program under test so that it, and everything it forks, can be taken down as one.

The program runs in a session and process group of its own, its stdout and
stderr are drained so it never blocks on a full pipe, and the harness makes
itself a child subreaper: a process the program forks stays in our tree
even if it calls setsid() or outlives its parent, and is killed and reaped
on stop.  Nothing the spec starts outlives it, nor do its temporary files:
each program gets a TMPDIR of its own, removed with the tree.

A daemon forks, lets its parent exit, calls setsid() and forks again: its
last process is then no descendant of the program we started, nor in its
session, and may never have been seen in the tree.  It is re-parented to
us, though, and carries the environment it was started with, so every
program gets a mark of its own there (several trees run at once: a spare
server starts while a test runs), and an orphan of ours is attributed by
its mark.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Collection
from pathlib import Path

from sockspec import proc
from sockspec.i18n import N_, _
from sockspec.output import OutputTail
from sockspec.timeouts import wait_for

MARK = "SOCKSPEC_TREE"  # in every program's environment: which tree a process belongs to

_marks: set[str] = set()  # the marks of every tree this process started, for sweep_orphans


# How a program ended, by who it is: killed by a signal; a shell's 128+N; an exit status.
_ENDINGS = {
    "the server": (
        N_("the server was killed by {signal}"),
        N_("the server exited with status {code} (its shell's way of saying it was killed by {signal})"),
        N_("the server exited with status {code}"),
    ),
    "the client": (
        N_("the client was killed by {signal}"),
        N_("the client exited with status {code} (its shell's way of saying it was killed by {signal})"),
        N_("the client exited with status {code}"),
    ),
    "it": (
        N_("it was killed by {signal}"),
        N_("it exited with status {code} (its shell's way of saying it was killed by {signal})"),
        N_("it exited with status {code}"),
    ),
}


def describe_exit(code: int, who: str = "the server") -> str:
    """A process's exit status in words (`who`: the server, the client, it), naming the signal that
    killed it, if one did (the failure's signal hint looks for the name); shells report death by
    signal N as 128+N."""
    signum = -code if code < 0 else code - 128 if code > 128 else 0
    try:
        name = signal.Signals(signum).name if signum else ""
    except ValueError:
        name = ""
    killed, by_shell, exited = _ENDINGS[who]
    if code < 0:
        return _(killed).format(signal=name or f"signal {signum}")
    if name:
        return _(by_shell).format(code=code, signal=name)
    return _(exited).format(code=code)


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
        self.mark = uuid.uuid4().hex
        _marks.add(self.mark)
        self.scratch = tempfile.mkdtemp(prefix="sockspec-tmp-")
        try:
            self.popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env={**env, MARK: self.mark, "TMPDIR": self.scratch},
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        self._seen: set[int] = set()
        self._parents: dict[int, int] = {}  # each member's parent when it was first seen
        self._statuses: dict[int, int] = {}  # exit statuses of orphans we reaped, as Popen.returncode
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
        root's session or process group, was re-parented to us with this
        tree's mark (a daemon), descends from one of those, or was seen in the
        tree before (a process that calls setsid() and whose parent then exits
        is found that way; `sweep_orphans` catches one that escaped even that).
        """
        table = proc.process_table()
        root = self.popen.pid
        members = {root} | self._seen
        members.update(s.pid for s in table.values() if root in (s.sid, s.pgid))
        members.update(_orphans(table, {self.mark}, skip=members))
        for pid in list(members):
            members.update(s.pid for s in proc.descendants(pid, table))
        members = {pid for pid in members if pid in table}
        for pid in members - self._parents.keys():
            self._parents[pid] = table[pid].ppid
        self._seen |= members - {root}
        return members

    def carries_mark(self, pid: int) -> bool:
        """True if `pid` descends from this tree's program, by the environment it was started with."""
        return proc.environment_value(pid, MARK) == self.mark

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

    def exit_status(self, pid: int) -> int | None:
        """How `pid`, a process of this tree re-parented to us, ended (as Popen.returncode says).

        None while it runs, or if it is not ours to reap: the root is Popen's,
        a shell's child is the shell's (which passes the status on as its own).
        """
        if pid != self.popen.pid and pid in self._seen and pid not in self._statuses:
            self._reap(pid)
        return self._statuses.get(pid)

    def stop(self, sig: int, grace: float) -> str:
        """Signal the whole tree, wait up to `grace`, then SIGKILL; reap.  Says if it escalated, as
        a sentence without its subject ("did not exit within 2 s of SIGTERM; killed it")."""
        if self.stopped:
            return ""
        self.stopped = True
        note = ""
        if self._signal(sig) and not self._wait_gone(grace):
            note = f"did not exit within {grace:g} s of {signal.Signals(sig).name}; killed it"
            self._signal(signal.SIGKILL)
            self._wait_gone(grace)
        self.popen.wait()
        self.output.finish(timeout=1.0)
        shutil.rmtree(self.scratch, ignore_errors=True)
        return note

    def quiet(self) -> bool:
        """Every thread of every live process of the tree is blocked (in accept(), wait(), read())."""
        return all(proc.threads_all_sleeping(pid) for pid in self.members() if proc.is_live(pid))

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
                self._reap(stat.pid)
        self.popen.poll()

    def _reap(self, pid: int) -> None:
        with contextlib.suppress(ChildProcessError):
            reaped, status = os.waitpid(pid, os.WNOHANG)
            if reaped == pid:
                self._statuses[pid] = os.waitstatus_to_exitcode(status)  # as Popen.returncode: -N for signal N


def _orphans(table: dict[int, proc.ProcStat], marks: Collection[str], skip: Collection[int] = ()) -> set[int]:
    """Processes re-parented to us (we are a subreaper) that carry one of `marks`.

    Only the environments of our children not in `skip` are read: an orphan
    of our trees always comes back to us, so reading every process's would
    only make each look at a tree slower.
    """
    me = os.getpid()
    return {
        s.pid
        for s in table.values()
        if s.ppid == me and s.pid not in skip and proc.environment_value(s.pid, MARK) in marks
    }


def sweep_orphans(seconds: float) -> None:
    """Kill and reap what escaped trees already stopped, and everything below it.

    Escapees are processes re-parented to us that carry the mark of a tree
    this process started, or that lead a session of their own (a daemon's
    first child, which is a zombie by then and shows no mark; the root of a
    tree of a pytest that died).  Call only when no tree is running: then
    every such process is a leftover of a program under test (our own
    subprocesses carry no mark and are never session leaders re-parented to us).
    """
    me = os.getpid()
    doomed: set[int] = set()  # killed by us, each once: reaped when they come back to us, marked or not

    def swept() -> bool:
        table = proc.process_table()
        left = {s.pid for s in table.values() if s.ppid == me and (s.pid in doomed or s.sid == s.pid)}
        left |= _orphans(table, _marks, skip=left)
        for pid in left - doomed:
            for victim in [pid, *(s.pid for s in proc.descendants(pid, table))]:
                doomed.add(victim)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
        for pid in left:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        return not left

    wait_for(swept, seconds)
