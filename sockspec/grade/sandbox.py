"""Confine one submission: a wall clock, limits, a view of its own, and a kill that leaves nothing behind.

`Sandbox` is one job.  It starts `sandbox_init` under what `isolation`
found on this machine (namespaces, a cgroup or another process cap), with
the job's programs confined by `confine` (a uid of its own, a view of only
its own files), waits with a deadline, and kills everything at the end,
whatever happened: the namespace's init (and with it every process of the
namespace), every task of the job's cgroup, every process of the job's uid,
or, without any of those, every descendant of the spec run.

Each job has three folders side by side in the grader's scratch folder:
`<job>` holds the grader's side (the staged submission, the spec's results
and logs), owned by the grader and out of the programs' view; `<job>.box` is
the submission's working copy that its programs see and write, and
`<job>.bin` its built binary, both its uid's alone.
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

from sockspec import i18n, proc
from sockspec.grade.cgroups import JobCgroup, Limits
from sockspec.grade.confine import Confinement
from sockspec.grade.isolation import Isolation
from sockspec.i18n import _

UID_BASE = 2_000_000_000  # far above any real account; each grader and slot gets its own
FILES_LIMIT = 4096  # the spec's 200-client tests need more than 400 descriptors
FILE_SIZE_LIMIT = 256 << 20  # no single file the submission writes may grow past this
GRACE = 5.0  # seconds for the sandbox's own start and teardown, on top of any deadline
# What a process of ours says when it could not get a process, a thread or memory: with a
# submission that took them all (a fork bomb, a leak), that is the submission's doing.
EXHAUSTED = ("can't start new thread", "Resource temporarily unavailable", "Cannot allocate memory", "MemoryError",
             "BlockingIOError")  # fmt: skip


@dataclass
class Outcome:
    """How one sandboxed command ended."""

    status: int | None  # its exit status, None if it was killed at the deadline or cancelled
    timed_out: bool
    seconds: float


@dataclass
class Built:
    """How the submission's build went."""

    ok: bool
    output: str  # what the compiler said
    timed_out: bool = False


class Cancelled(Exception):
    """The grader is being interrupted: this job stops without a report."""


class GraderFault(Exception):
    """The grader's own machinery failed on this job; the message is its traceback."""


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
        self, isolation: Isolation, slot: int, work: Path, limits: Limits, name: str, active: Active | None = None,
        readable: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.isolation = isolation
        self.work = work  # the job's folder, the grader's alone
        self.limits = limits
        self.cgroup: JobCgroup | None = None
        self.cgroup_name = name
        # The job's own user: a host uid when the grader is root, else one of a user namespace of its own.
        self.uid = UID_BASE + (os.getpid() % 100_000) * 64 + slot
        self.host_uid = os.geteuid() == 0
        self.staged = work / "submission"  # the grader's copy; each launch copies it afresh into the box
        self.box = work.with_name(f"{work.name}.box")
        self.bin = work.with_name(f"{work.name}.bin")
        self.confinement = Confinement(
            uid=self.uid, host_uid=self.host_uid, workdir=str(self.box), readable=(str(self.bin), *readable),
            tmp_bytes=limits.disk_bytes, bwrap=isolation.bwrap,
        )  # fmt: skip
        self._popen: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.cancelled = False
        self.active = active

    def __enter__(self) -> Sandbox:
        if self.active is not None:
            self.active.add(self)
        if self.isolation.cgroups is not None:
            self.cgroup = self.isolation.cgroups.job(self.cgroup_name, self.limits)
        self.work.chmod(0o700)
        for folder in (self.box, self.bin):
            remove_tree(folder)
            folder.mkdir(mode=0o700)
            if self.host_uid:
                os.chown(folder, self.uid, self.uid)
        self.confinement.save(self.work / "confine.json")
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        remove_tree(self.box)
        remove_tree(self.bin)
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.active is not None:
            self.active.discard(self)

    # -- the three things a sandbox runs ------------------------------------

    def build(self, argv: list[str], env: dict[str, str], binary_in_box: str, name: str, seconds: float) -> Built:
        """Compile the submission with `argv` (run in its box, confined); the binary it makes at
        `binary_in_box` becomes `bin/name`, which its later programs may read and run."""
        result = self.work / "build.json"
        log = self.work / "build-output.txt"
        binary = self.bin / name
        config = {"mode": "build", "argv": argv, "cwd": str(self.box), "env": env, "seconds": seconds,
                  "result": str(result), "stdout": str(log), "collect": [binary_in_box, str(binary)]}  # fmt: skip
        outcome = self._launch(config, seconds + GRACE, self.work / "build-sandbox.txt")
        output = log.read_text(errors="replace") if log.exists() else ""
        if outcome.timed_out:
            return Built(False, output, timed_out=True)
        found = self._result(result)
        if self.host_uid and binary.is_file():
            os.chown(binary, self.uid, self.uid)
        return Built(found["status"] == 0 and binary.is_file(), output, found["timed_out"])

    def probe(self, argv: list[str], env: dict[str, str], seconds: float, role: str = "server") -> dict[str, Any]:
        """Start the program where nothing can answer it, see where it listens (a server) or connects
        (a client), kill it (namespaces only)."""
        result = self.work / "probe.json"
        config = {"mode": "probe", "argv": argv, "cwd": str(self.box), "env": env, "seconds": seconds, "role": role,
                  "result": str(result)}  # fmt: skip
        outcome = self._launch(config, seconds + GRACE, self.work / "probe-sandbox.txt")
        if outcome.timed_out:
            # Our own init was starved (a fork bomb shares its CPU cap): the program never let it finish.
            return _nothing_seen(running=True, starved=True)
        if not result.exists() and self.starved():
            # Our init could not start a thread or a process beside a fork bomb.
            return _nothing_seen(exit=_("the probe could not finish beside the program"))
        return self._result(result)

    def run(
        self, argv: list[str], env: dict[str, str], addresses: list[str] | None, stdout: Path, seconds: float
    ) -> Outcome:
        """Run `argv` (the spec, privileged, in the box) with the given addresses on a loopback that
        is up; None: host network.  The programs it starts are confined by `confine.json`."""
        config = {"mode": "run", "argv": argv, "cwd": str(self.box), "env": env, "stdout": str(stdout)}
        if self.isolation.namespaces:
            config["network"] = addresses or []
        return self._launch(config, seconds, self.work / "run-sandbox.txt")

    # -- mechanics ----------------------------------------------------------

    def _launch(self, config: dict[str, Any], seconds: float, log: Path) -> Outcome:
        fault = self.work / f"fault-{config['mode']}.json"
        fault.unlink(missing_ok=True)
        config = config | {
            "cgroups": self.cgroup.procs_files if self.cgroup else [],
            "rlimits": self._rlimits(),
            "pid_max": self.limits.max_processes + 1 if self.isolation.process_cap == "pid_max" else None,
            "confine": str(self.work / "confine.json"),
            "fault": str(fault),
            "lang": i18n.current(),  # what it says of the program (it cannot run, how it ended), in the grader's
            "box": {"staged": str(self.staged), "path": str(self.box), "uid": self.uid if self.host_uid else None,
                    "bytes": self.limits.disk_bytes if self.isolation.namespaces else None},
        }  # fmt: skip
        path = self.work / f"sandbox-{config['mode']}.json"
        path.write_text(json.dumps(config))
        # -I: the grader's own Python, never a `sockspec` folder where the grader was started.
        init = [sys.executable, "-I", "-m", "sockspec.grade.sandbox_init", str(path)]
        command = [*(self.isolation.unshare or []), *init]
        started = time.monotonic()
        with self._lock:
            if self.cancelled:
                raise Cancelled()
            with open(log, "wb") as out:
                self._popen = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                    cwd=self.work,
                )  # fmt: skip
        popen = self._popen
        try:
            status: int | None = popen.wait(timeout=seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            status, timed_out = None, True
        self.kill()
        if self.cancelled:
            raise Cancelled()
        self._check_fault(fault, status, log)
        return Outcome(status, timed_out, time.monotonic() - started)

    def _check_fault(self, fault: Path, status: int | None, log: Path) -> None:
        """Raise GraderFault if sandbox_init itself failed, unless the submission starved it."""
        if fault.exists():
            found = json.loads(fault.read_text())
        elif status not in (None, 0) and "Traceback (most recent call last)" in _tail(log, 4000, lines=40):
            found = {"phase": "starting the sandbox", "traceback": log.read_text(errors="replace")[-8000:]}
        else:
            return
        starved = self.starved() or any(word in found["traceback"] for word in EXHAUSTED)
        if found["phase"].startswith("running") and starved:
            return  # the submission took every process or all the memory: its verdict says so
        raise GraderFault(f"sandbox_init failed while {found['phase']} (status {status}):\n{found['traceback']}")

    def _result(self, path: Path) -> dict[str, Any]:
        """What sandbox_init wrote of a build or a probe; GraderFault if it wrote nothing."""
        if not path.exists():
            log = self.work / f"{path.stem}-sandbox.txt"
            said = _tail(log, 2000, lines=20) or "it printed nothing"
            raise GraderFault(f"the sandbox ended without a result ({said})")
        return json.loads(path.read_text())

    def starved(self) -> bool:
        """Did the job hit its cap of processes or memory?"""
        events = self.events()
        return bool(events.get("process_cap_hits") or events.get("oom_kills"))

    def _rlimits(self) -> dict[str, int]:
        limits = {"NOFILE": FILES_LIMIT, "FSIZE": min(FILE_SIZE_LIMIT, self.limits.disk_bytes), "CORE": 0}
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
            if self.host_uid:
                _kill_uid(self.uid)

    def cancel(self) -> None:
        self.cancelled = True
        self.kill()

    def events(self) -> dict[str, int]:
        return self.cgroup.events() if self.cgroup is not None else {}


# How long the processes of a killed job's uid may take to die and be reaped.
UID_GONE_SECONDS = 10.0


def _nothing_seen(**facts: Any) -> dict[str, Any]:
    """A probe's result when the probe itself could not finish."""
    return {"listening": [], "connecting": [], "output": [], "output_bytes": 0, **facts}


def _kill_tree(pid: int) -> None:
    """Without a PID namespace: kill every descendant of `pid` (servers run in sessions of their own)."""
    for _attempt in range(50):
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
    """kill(-1, SIGKILL) as `uid`: every process of that uid dies, and nothing else can; and every
    one of them is reaped before the uid serves the slot's next job.  A zombie still counts
    against the uid's RLIMIT_NPROC: a fork bomb's 512 dead processes, left to an init that reaps
    them late, made the next jobs' compilers fail with 'vfork: Resource temporarily unavailable'.
    They come back to the grader (a subreaper, `options.take_signals`), which reaps them here."""
    deadline = time.monotonic() + UID_GONE_SECONDS
    while True:
        _reap_orphans_of(uid)
        if not _processes_of(uid) or time.monotonic() > deadline:
            return
        as_uid = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups"]
        subprocess.run([*as_uid, "kill", "-s", "KILL", "--", "-1"], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10, cwd="/")  # fmt: skip
        time.sleep(0.02)


def _reap_orphans_of(uid: int) -> None:
    """Reap the dead processes of `uid` that were re-parented to us: none is a child we started
    (those run as root until they drop to the uid, and are waited for by their Popen first)."""
    me = os.getpid()
    for pid in _processes_of(uid):
        stat = proc.read_stat(pid)
        if stat is not None and stat.ppid == me and stat.state == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def _tail(path: Path, limit: int = 400, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[-lines:])[-limit:]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
