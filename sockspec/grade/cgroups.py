"""Control groups: cap the processes, memory and CPU of one submission, and kill all of it.

RLIMIT_NPROC does nothing for root, and CI grades as root, so the number of
processes a submission may create is capped with the pids controller: a fork
bomb stops at `pids.max` instead of filling the machine.  The same group
caps memory (a leak is killed by the kernel's OOM killer inside the group,
not the grader) and CPU (one spinning submission cannot slow the others
down enough to fail their timing tests).  Every task of the group is listed
in `cgroup.procs`, so killing them all does not depend on the process tree:
a child that called setsid() or was orphaned is still there.

Both cgroup v1 (one hierarchy per controller, as on the project's machines)
and v2 (one unified hierarchy) are handled.  Groups are created below the
grader's own group, so whatever limits the grader lives under also bound
its submissions; they are removed when the job ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("pids", "memory", "cpu")  # pids is required, the others are used when present
CPU_PERIOD_US = 100_000


class CgroupUnavailable(Exception):
    """No usable cgroup here; the message says why in one line."""


@dataclass(frozen=True)
class Limits:
    max_processes: int  # tasks: processes and threads alike count in the pids controller
    memory_bytes: int
    cpus: float  # CPU time per wall-clock second, in cores
    disk_bytes: int = 256 << 20  # the submission's working folder, and each /tmp it gets (not a cgroup's)


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, options) of every cgroup mount."""
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            _, point, fstype, options, *_ = line.split()
            if fstype in ("cgroup", "cgroup2"):
                found.append((point.replace("\\040", " "), fstype, set(options.split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """The grader's own cgroup path per v1 controller, and under '' its v2 path."""
    paths = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


class CgroupRoot:
    """The grader's own parent group(s), one per controller hierarchy, below which each job gets one."""

    def __init__(self, version: int, parents: dict[str, Path]) -> None:
        self.version = version
        self.parents = parents  # controller -> the group jobs are created in (v2: the same path for all)

    @property
    def controllers(self) -> list[str]:
        return sorted(self.parents)

    def describe(self) -> str:
        return f"cgroup v{self.version} ({', '.join(self.controllers)})"

    @classmethod
    def create(cls, name: str) -> CgroupRoot:
        """Make the grader's parent group, or raise CgroupUnavailable saying why."""
        if os.geteuid() != 0:
            raise CgroupUnavailable("not root, so no cgroup can be created")
        try:
            mounts = _mounts()
            own = _own_paths()
        except OSError as error:
            raise CgroupUnavailable(f"cannot read the cgroup mounts: {error}") from None
        v1 = {c: point for point, fstype, opts in mounts if fstype == "cgroup" for c in CONTROLLERS if c in opts}
        if "pids" in v1:
            return cls._create_v1(name, v1, own)
        v2 = [point for point, fstype, _ in mounts if fstype == "cgroup2"]
        if v2 and "" in own:
            return cls._create_v2(name, Path(v2[0]), own[""])
        raise CgroupUnavailable("no pids controller is mounted")

    @classmethod
    def _create_v1(cls, name: str, mounts: dict[str, str], own: dict[str, str]) -> CgroupRoot:
        parents: dict[str, Path] = {}
        try:
            for controller, point in mounts.items():
                parent = Path(point) / own.get(controller, "/").lstrip("/") / name
                try:
                    parent.mkdir(exist_ok=True)
                except OSError:
                    if controller == "pids":
                        raise
                    continue  # memory or cpu not writable here: do without
                parents[controller] = parent
        except OSError as error:
            cls(1, parents).remove()
            raise CgroupUnavailable(f"cannot create a pids cgroup: {error.strerror}") from None
        return cls(1, parents)

    @classmethod
    def _create_v2(cls, name: str, mount: Path, own: str) -> CgroupRoot:
        base = mount / own.lstrip("/")
        try:
            available = set((base / "cgroup.controllers").read_text().split())
            enabled = set((base / "cgroup.subtree_control").read_text().split())
        except OSError as error:
            raise CgroupUnavailable(f"cannot read cgroup v2 controllers: {error.strerror}") from None
        wanted = [c for c in CONTROLLERS if c in available]
        if "pids" not in wanted:
            raise CgroupUnavailable("the cgroup v2 hierarchy has no pids controller for us")
        missing = [c for c in wanted if c not in enabled]
        if missing:
            try:
                # Fails with EBUSY if our own group holds processes and is not the root:
                # v2 lets only leaf groups (or the root) have processes.
                _write(base / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
            except OSError as error:
                if "pids" not in enabled:
                    raise CgroupUnavailable(
                        f"cannot enable the pids controller below {base}: {error.strerror}"
                    ) from None
                wanted = [c for c in wanted if c in enabled]
        parent = base / name
        try:
            parent.mkdir(exist_ok=True)
            _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
        except OSError as error:
            cls(2, {"pids": parent}).remove()
            raise CgroupUnavailable(f"cannot create a cgroup below {base}: {error.strerror}") from None
        return cls(2, dict.fromkeys(wanted, parent))

    def job(self, name: str, limits: Limits) -> JobCgroup:
        """A new group for one job, with its limits set."""
        dirs = {controller: parent / name for controller, parent in self.parents.items()}
        for path in set(dirs.values()):
            path.mkdir(exist_ok=True)
        job = JobCgroup(self.version, dirs)
        job.set_limits(limits)
        return job

    def remove(self) -> None:
        for path in set(self.parents.values()):
            _rmdir(path)


@dataclass
class JobCgroup:
    """The group(s) of one job: every process of the sandbox joins all of them."""

    version: int
    dirs: dict[str, Path]

    @property
    def procs_files(self) -> list[str]:
        return sorted({str(path / "cgroup.procs") for path in self.dirs.values()})

    def set_limits(self, limits: Limits) -> None:
        quota = max(1000, int(limits.cpus * CPU_PERIOD_US))
        if self.version == 1:
            _write(self.dirs["pids"] / "pids.max", str(limits.max_processes))
            if "memory" in self.dirs:
                _write(self.dirs["memory"] / "memory.limit_in_bytes", str(limits.memory_bytes))
            if "cpu" in self.dirs:
                _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
                _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))
        else:
            path = self.dirs["pids"]
            _write(path / "pids.max", str(limits.max_processes))
            if "memory" in self.dirs:
                _write(path / "memory.max", str(limits.memory_bytes))
                if (path / "memory.swap.max").exists():
                    _write(path / "memory.swap.max", "0")
            if "cpu" in self.dirs:
                _write(path / "cpu.max", f"{quota} {CPU_PERIOD_US}")

    def pids(self) -> list[int]:
        try:
            text = (self.dirs["pids"] / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def kill(self, seconds: float = 5.0) -> bool:
        """SIGKILL every task, again and again until the group is empty; True if it emptied in time.

        A fork bomb may fork between our reading the list and our signals;
        each round kills what it saw, and nothing killed can fork again.
        """
        kill_file = self.dirs["pids"] / "cgroup.kill"
        end = time.monotonic() + seconds
        while True:
            pids = self.pids()
            if not pids:
                return True
            if self.version == 2 and kill_file.exists():
                with contextlib.suppress(OSError):
                    _write(kill_file, "1")
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > end:
                return False
            time.sleep(0.02)

    def events(self) -> dict[str, int]:
        """How often the job hit its process cap, and how many of its processes the OOM killer took."""
        found = {"process_cap_hits": 0, "oom_kills": 0}
        pids_events = _keyed(self.dirs["pids"] / "pids.events")
        found["process_cap_hits"] = pids_events.get("max", 0)
        if "memory" in self.dirs:
            if self.version == 1:
                found["oom_kills"] = _keyed(self.dirs["memory"] / "memory.oom_control").get("oom_kill", 0)
            else:
                found["oom_kills"] = _keyed(self.dirs["memory"] / "memory.events").get("oom_kill", 0)
        return found

    def remove(self) -> None:
        for path in set(self.dirs.values()):
            _rmdir(path)


def _keyed(path: Path) -> dict[str, int]:
    """A `key value` per line file such as pids.events, as a dict."""
    found = {}
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if value.strip().isdigit():
                found[key] = int(value)
    except OSError:
        pass
    return found


def _rmdir(path: Path) -> None:
    """Remove an empty group; its last tasks may take a moment to be released after they die."""
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
