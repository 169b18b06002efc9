"""Confine one submission: namespaces, limits, a wall clock, and a kill that leaves nothing behind.

What is available is decided once per grading run (`detect`), best first:

- namespaces: every probe and spec run starts as PID 1 of fresh PID,
  mount and network namespaces (`unshare --pid --fork --kill-child
  --mount-proc --net`, plus `--user --map-root-user` when not root).  The
  submission can reach no network, binds its hard-coded address on the
  namespace's own loopback, and dies with the namespace: killing its init
  kills every descendant, even one that called setsid().  Without them
  the spec tells each server its port (`PORT`, last argument), and a
  program that hard-codes its address cannot be graded as written.
- a cgroup per job caps tasks (`pids.max`), memory and CPU, and lists every
  task for the final kill.  Without one, and as root, each job runs as a
  uid of its own with RLIMIT_NPROC (which binds only non-root users), and
  `kill(-1)` as that uid removes whatever is left; not as root,
  RLIMIT_NPROC caps the user's processes as a whole.

`Sandbox` is one job: it starts `sandbox_init` under what was detected,
waits with a deadline and kills everything at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sockspec import proc
from sockspec.grade.cgroups import CgroupRoot, CgroupUnavailable, JobCgroup, Limits

UID_BASE = 2_000_000_000  # far above any real account; each grader and slot gets its own
FILES_LIMIT = 4096  # the spec's 200-client tests need more than 400 descriptors
FILE_SIZE_LIMIT = 256 << 20  # no single file the submission writes may grow past this
GRACE = 5.0  # seconds for the sandbox's own start and teardown, on top of any deadline


@dataclass
class Isolation:
    """What this machine offers, decided once per grading run."""

    unshare: list[str] | None  # the unshare prefix, or None without namespaces
    cgroups: CgroupRoot | None
    root: bool
    notes: list[str] = field(default_factory=list)  # fallbacks in effect, one line each, said once

    @property
    def namespaces(self) -> bool:
        return self.unshare is not None

    def describe(self) -> dict[str, Any]:
        return {
            "namespaces": self.namespaces,
            "cgroups": self.cgroups.describe() if self.cgroups else None,
            "process_cap": "cgroup pids.max"
            if self.cgroups
            else "a uid per job with RLIMIT_NPROC"
            if self.root
            else "RLIMIT_NPROC of the grading user",
            "notes": self.notes,
        }

    def close(self) -> None:
        if self.cgroups is not None:
            self.cgroups.remove()


def detect(use_namespaces: bool = True, use_cgroups: bool = True) -> Isolation:
    root = os.geteuid() == 0
    notes = []
    unshare = None
    if use_namespaces:
        unshare, why = _try_namespaces(root)
        if unshare is None:
            notes.append(
                f"network namespaces are not available ({why}): each submission is told its port "
                "(PORT and last argument) and one that hard-codes its address cannot be graded as written"
            )
    else:
        notes.append("namespaces turned off: each submission is told its port (PORT and last argument)")
    cgroups = None
    if use_cgroups:
        try:
            cgroups = CgroupRoot.create(f"sockspec-grade-{os.getpid()}")
        except CgroupUnavailable as error:
            notes.append(f"no cgroup ({error}): {_process_cap_note(root)}")
    else:
        notes.append(f"cgroups turned off: {_process_cap_note(root)}")
    return Isolation(unshare, cgroups, root, notes)


def _process_cap_note(root: bool) -> str:
    if root:
        return "processes are capped by running each submission as a uid of its own with RLIMIT_NPROC"
    return "processes are capped by RLIMIT_NPROC, shared by all submissions of this user"


def _try_namespaces(root: bool) -> tuple[list[str] | None, str]:
    """The unshare prefix that works here (tried for real, network set-up included), or None and why."""
    prefix = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if not root:
        prefix[1:1] = ["--user", "--map-root-user"]
    # 192.0.2.1 is a documentation address, set up only inside the namespace made for this check.
    check = "from sockspec.grade.sandbox_init import network_up; network_up(['192.0.2.1'])"
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", check], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        return None, "unshare is not installed"
    except subprocess.TimeoutExpired:
        return None, "unshare did not answer within 30 s"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, lines[-1] if lines else f"unshare exited with status {done.returncode}"
    return prefix, ""


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
        if isolation.cgroups is None and isolation.root:
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

    def probe(self, argv: list[str], cwd: Path, env: dict[str, str], seconds: float) -> dict[str, Any]:
        """Start the program with the network down, see where it listens, kill it (namespaces only)."""
        result = self.scratch / "probe.json"
        config = {"mode": "probe", "argv": argv, "cwd": str(cwd), "env": env, "seconds": seconds}
        outcome = self._launch(config | {"result": str(result)}, seconds + GRACE, self.scratch / "probe-sandbox.txt")
        if outcome.status != 0 or not result.exists():
            log = _tail(self.scratch / "probe-sandbox.txt")
            raise RuntimeError(f"the probe sandbox failed (status {outcome.status}): {log}")
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
            # Per process, not per job: the best a plain rlimit can do against a leak.
            limits["AS"] = self.limits.memory_bytes
        if self.cgroup is None:
            if self.uid is not None:
                limits["NPROC"] = self.limits.max_processes
            else:
                # Not root: RLIMIT_NPROC counts every process of this user, the grader's included.
                mine = sum(1 for _ in _processes_of(os.getuid()))
                hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
                wanted = mine + self.limits.max_processes
                limits["NPROC"] = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        return limits

    def kill(self) -> None:
        """Kill everything this sandbox started, now; safe to call from any thread, any number of times."""
        with self._lock:
            popen = self._popen
            if popen is not None:
                if not self.isolation.namespaces:
                    _kill_tree(popen.pid)
                try:
                    os.killpg(popen.pid, signal.SIGKILL)  # unshare and our init: the namespace dies with it
                except ProcessLookupError:
                    pass
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


def _kill_tree(pid: int) -> None:
    """Without a PID namespace: kill every descendant of `pid` (servers run in sessions of their own)."""
    for _ in range(50):
        below = [s.pid for s in proc.descendants(pid, proc.process_table()) if s.state not in ("Z", "X")]
        if not below:
            return
        for child in below:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
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
