"""Confine one submission: a wall clock, limits, and a kill that leaves nothing behind.

`Sandbox` is one job.  It starts `sandbox_init` under what `isolation`
found on this machine (namespaces, a cgroup or another process cap),
waits with a deadline, and kills everything at the end, whatever happened:
the namespace's init (and with it every process of the namespace), every
task of the job's cgroup, every process of the job's uid, or, without any
of those, every descendant of the spec run.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sockspec import proc
from sockspec.grade.cgroups import JobCgroup, Limits
from sockspec.grade.isolation import Isolation

UID_BASE = 2_000_000_000  # far above any real account; each grader and slot gets its own
FILES_LIMIT = 4096  # the spec's 200-client tests need more than 400 descriptors
FILE_SIZE_LIMIT = 256 << 20  # no single file the submission writes may grow past this
GRACE = 5.0  # seconds for the sandbox's own start and teardown, on top of any deadline


@dataclass
class Outcome:
    """How one sandboxed command ended."""

    status: int | None  # its exit status, None if it was killed at the deadline or cancelled
    timed_out: bool
    seconds: float


class Cancelled(Exception):
    """The grader is being interrupted: this job stops without a report."""


class Active:
    """The sandboxes running now, so an interrupted grader can kill them all from its main thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Sandbox] = set()
        self.cancelled = False

    def add(self, sandbox: Sandbox) -> None:
        with self._lock:
            if self.cancelled:
                raise Cancelled()
            self._running.add(sandbox)

    def discard(self, sandbox: Sandbox) -> None:
        with self._lock:
            self._running.discard(sandbox)

    def cancel_all(self) -> None:
        with self._lock:
            self.cancelled = True
            running = list(self._running)
        for sandbox in running:
            sandbox.cancel()


class Sandbox:
    """One submission's confinement; use as a context manager, so it is always torn down."""

    def __init__(
        self, isolation: Isolation, slot: int, scratch: Path, limits: Limits, name: str, active: Active | None = None
    ) -> None:
        self.isolation = isolation
        self.scratch = scratch
        self.limits = limits
        self.cgroup: JobCgroup | None = None
        self.cgroup_name = name
        self.uid: int | None = None
        if isolation.process_cap == "uid":
            self.uid = UID_BASE + (os.getpid() % 100_000) * 64 + slot
        self._popen: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.cancelled = False
        self.active = active

    def __enter__(self) -> Sandbox:
        if self.active is not None:
            self.active.add(self)
        if self.isolation.cgroups is not None:
            self.cgroup = self.isolation.cgroups.job(self.cgroup_name, self.limits)
        if self.uid is not None:
            _give(self.scratch, self.uid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.active is not None:
            self.active.discard(self)

    # -- the two things a sandbox runs ------------------------------------

    def probe(
        self, argv: list[str], cwd: Path, env: dict[str, str], seconds: float, role: str = "server"
    ) -> dict[str, Any]:
        """Start the program where nothing can answer it, see where it listens (a server) or connects
        (a client), kill it (namespaces only)."""
        result = self.scratch / "probe.json"
        config = {"mode": "probe", "argv": argv, "cwd": str(cwd), "env": env, "seconds": seconds, "role": role}
        outcome = self._launch(config | {"result": str(result)}, seconds + GRACE, self.scratch / "probe-sandbox.txt")
        if outcome.timed_out:
            # Our own init was starved (a fork bomb shares its CPU cap): the program never let it finish.
            return _nothing_seen(running=True, starved=True)
        if outcome.status != 0 or not result.exists():
            # Our init failed beside the program (no room for a thread under a fork bomb, say).
            log = _tail(self.scratch / "probe-sandbox.txt")
            return _nothing_seen(exit=f"the probe failed ({log})")
        return json.loads(result.read_text())

    def run(
        self, argv: list[str], cwd: Path, env: dict[str, str], addresses: list[str] | None, stdout: Path, seconds: float
    ) -> Outcome:
        """Run `argv` (the spec) with the given addresses on a loopback that is up; None: host network."""
        config = {"mode": "run", "argv": argv, "cwd": str(cwd), "env": env, "stdout": str(stdout)}
        if self.isolation.namespaces:
            config["network"] = addresses or []
        return self._launch(config, seconds, self.scratch / "run-sandbox.txt")

    # -- mechanics ----------------------------------------------------------

    def _launch(self, config: dict[str, Any], seconds: float, log: Path) -> Outcome:
        config = config | {
            "cgroups": self.cgroup.procs_files if self.cgroup else [],
            "rlimits": self._rlimits(),
            "uid": self.uid,
            "pid_max": self.limits.max_processes + 1 if self.isolation.process_cap == "pid_max" else None,
        }
        path = self.scratch / f"sandbox-{config['mode']}.json"
        path.write_text(json.dumps(config))
        command = [*(self.isolation.unshare or []), sys.executable, "-m", "sockspec.grade.sandbox_init", str(path)]
        started = time.monotonic()
        with self._lock:
            if self.cancelled:
                raise Cancelled()
            with open(log, "wb") as out:
                self._popen = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
        popen = self._popen
        try:
            status: int | None = popen.wait(timeout=seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            status, timed_out = None, True
        self.kill()
        if self.cancelled:
            raise Cancelled()
        return Outcome(status, timed_out, time.monotonic() - started)

    def _rlimits(self) -> dict[str, int]:
        limits = {"NOFILE": FILES_LIMIT, "FSIZE": FILE_SIZE_LIMIT, "CORE": 0}
        if self.cgroup is None or "memory" not in self.cgroup.dirs:
            # Per process and virtual, not per job: the best a plain rlimit can do against a leak.
            # Four times the memory cap leaves room for 200 threads' stacks, which are address space.
            limits["AS"] = 4 * self.limits.memory_bytes
        if self.isolation.process_cap == "uid":
            limits["NPROC"] = self.limits.max_processes
        elif self.isolation.process_cap == "nproc":
            # Not root: RLIMIT_NPROC counts every process of this user, the grader's included.
            wanted = len(_processes_of(os.getuid())) + self.limits.max_processes
            hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
            limits["NPROC"] = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        return limits

    def kill(self) -> None:
        """Kill everything this sandbox started, now; safe to call from any thread, any number of times."""
        with self._lock:
            popen = self._popen
            if popen is not None:
                if not self.isolation.namespaces:
                    _kill_tree(popen.pid)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)  # unshare and our init: the namespace dies with it
                popen.wait()
            if self.cgroup is not None:
                self.cgroup.kill()
            if self.uid is not None:
                _kill_uid(self.uid)

    def cancel(self) -> None:
        self.cancelled = True
        self.kill()

    def events(self) -> dict[str, int]:
        return self.cgroup.events() if self.cgroup is not None else {}


def _nothing_seen(**facts: Any) -> dict[str, Any]:
    """A probe's result when the probe itself could not finish."""
    return {"listening": [], "connecting": [], "output": [], "output_bytes": 0, **facts}


def _kill_tree(pid: int) -> None:
    """Without a PID namespace: kill every descendant of `pid` (servers run in sessions of their own)."""
    for _ in range(50):
        below = [s.pid for s in proc.descendants(pid, proc.process_table()) if s.state not in ("Z", "X")]
        if not below:
            return
        for child in below:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        time.sleep(0.01)


def _processes_of(uid: int) -> list[int]:
    found = []
    for pid in proc.process_table():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                found.append(pid)
        except FileNotFoundError:
            continue
    return found


def _kill_uid(uid: int) -> None:
    """kill(-1, SIGKILL) as `uid`: every process of that uid dies, and nothing else can."""
    for _ in range(50):
        if not _processes_of(uid):
            return
        subprocess.run(
            [sys.executable, "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"],
            user=uid,
            group=uid,
            extra_groups=[],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
        )
        time.sleep(0.02)


def _give(folder: Path, uid: int) -> None:
    """Hand the job's scratch folder to its uid, so the submission and the spec can write there."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, uid, uid, follow_symlinks=False)


def _tail(path: Path, limit: int = 400) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[-3:])[-limit:]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
