"""What this machine offers to confine submissions, decided once per grading run, best first.

What is available is decided once per grading run (`detect`), best first:

- namespaces: every probe and spec run starts as PID 1 of fresh PID,
  mount and network namespaces (`unshare --pid --fork --kill-child
  --mount-proc --net`, plus `--user --map-root-user` when not root).  The
  submission can reach no network, binds its hard-coded address on the
  namespace's own loopback, and dies with the namespace: killing its init
  kills every descendant, even one that called setsid().  Without them
  the spec tells each server its port (`PORT`, last argument), and a
  program that hard-codes its address cannot be graded as written.
- the process cap (RLIMIT_NPROC does nothing for root):
  1. `cgroup`: a cgroup per job caps tasks (`pids.max`), memory and CPU,
     and lists every task for the final kill;
  2. `pid_max`: the PID namespace's own `kernel.pid_max` (Linux 6.14 and
     later make it per namespace), so no pid beyond the cap exists in it;
  3. `uid`: as root, a uid of its own per job with RLIMIT_NPROC, and
     `kill(-1)` as that uid at the end; only where that uid can run this
     Python (not one installed in root's home);
  4. `nproc`: not root, RLIMIT_NPROC counts the grading user's processes;
  5. `none`: nothing caps processes; said loudly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sockspec.grade.cgroups import CgroupRoot, CgroupUnavailable

CAPS = {
    "cgroup": "a cgroup per submission caps its tasks (pids.max), memory and CPU",
    "pid_max": "each submission's PID namespace caps its tasks (kernel.pid_max); memory is capped per process "
    "(RLIMIT_AS) and CPU is not capped",
    "uid": "each submission runs as a uid of its own with RLIMIT_NPROC; memory is capped per process (RLIMIT_AS) "
    "and CPU is not capped",
    "nproc": "RLIMIT_NPROC caps the processes of the grading user, shared by all submissions; memory is capped "
    "per process (RLIMIT_AS) and CPU is not capped",
    "none": "NOTHING CAPS THE NUMBER OF PROCESSES: a fork bomb can hurt this machine; memory is capped per "
    "process (RLIMIT_AS)",
}


@dataclass
class Isolation:
    """What this machine offers, decided once per grading run."""

    unshare: list[str] | None  # the unshare prefix, or None without namespaces
    cgroups: CgroupRoot | None
    process_cap: str  # a key of CAPS
    notes: list[str] = field(default_factory=list)  # fallbacks in effect, one line each, said once

    @property
    def namespaces(self) -> bool:
        return self.unshare is not None

    def describe(self) -> dict[str, Any]:
        return {
            "namespaces": self.namespaces,
            "cgroups": self.cgroups.describe() if self.cgroups else None,
            "process_cap": self.process_cap,
            "notes": self.notes,
        }

    def close(self) -> None:
        if self.cgroups is not None:
            self.cgroups.remove()


def detect(use_namespaces: bool = True, use_cgroups: bool = True, use_pid_max: bool = True) -> Isolation:
    root = os.geteuid() == 0
    notes = []
    unshare, pid_max = None, False
    if use_namespaces:
        unshare, pid_max, why = _try_namespaces(root)
        if unshare is None:
            notes.append(
                f"network namespaces are not available ({why}): each submission is told its port "
                "(PORT and last argument) and one that hard-codes its address cannot be graded as written"
            )
    else:
        notes.append("namespaces turned off: each submission is told its port (PORT and last argument)")
    cgroups, why_not = None, "cgroups turned off"
    if use_cgroups:
        try:
            cgroups = CgroupRoot.create(f"sockspec-grade-{os.getpid()}")
        except CgroupUnavailable as error:
            why_not = f"no cgroup ({error})"
    if cgroups is not None:
        cap = "cgroup"
    elif pid_max and use_pid_max:
        cap = "pid_max"
    elif root and _usable_by_others(Path(sys.executable).resolve()):
        cap = "uid"
    else:
        cap = "none" if root else "nproc"
    if cap != "cgroup":
        notes.append(f"{why_not}: {CAPS[cap]}")
    return Isolation(unshare, cgroups, cap, notes)


def _usable_by_others(path: Path) -> bool:
    """Can a uid of no group run `path`?  (Not if it lives under a home only its owner may enter.)"""
    if not path.stat().st_mode & 0o001:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.parents)


# Run inside the namespace made for the check: 192.0.2.1 is a documentation address.
NAMESPACE_CHECK = """
from sockspec.grade.sandbox_init import network_up, set_pid_max
network_up(['192.0.2.1'])
print('pid_max' if set_pid_max(1000) else 'no pid_max')
"""


def _try_namespaces(root: bool) -> tuple[list[str] | None, bool, str]:
    """The unshare prefix that works here (tried for real, network set-up included), whether the
    PID namespace has a pid_max of its own, or None and why not."""
    prefix = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if not root:
        prefix[1:1] = ["--user", "--map-root-user"]
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", NAMESPACE_CHECK],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return None, False, "unshare is not installed"
    except subprocess.TimeoutExpired:
        return None, False, "unshare did not answer within 30 s"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, False, lines[-1] if lines else f"unshare exited with status {done.returncode}"
    return prefix, done.stdout.strip() == "pid_max", ""
