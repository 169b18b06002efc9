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
- the program's view and user (see `confine`): bubblewrap builds a view of
  only the submission's own files, and the program runs as a uid of its own
  (root: a host uid per job, `setpriv`; not root: a user namespace of its
  own).  Without bubblewrap a root grader still gives each job its own uid,
  which every file any user may read stays open to; a grader that is not
  root then runs submissions as itself.  Said loudly, either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from sockspec.grade import confine
from sockspec.grade.cgroups import CgroupRoot, CgroupUnavailable
from sockspec.i18n import N_, _

CAPS = {
    "cgroup": N_("a cgroup per submission caps its tasks (pids.max), memory and CPU"),
    "pid_max": N_(
        "each submission's PID namespace caps its tasks (kernel.pid_max); memory is capped per process "
        "(RLIMIT_AS) and CPU is not capped"
    ),
    "uid": N_(
        "RLIMIT_NPROC caps the processes of each submission's own uid; memory is capped per process (RLIMIT_AS) "
        "and CPU is not capped"
    ),
    "nproc": N_(
        "RLIMIT_NPROC caps the processes of the grading user, shared by all submissions; memory is capped "
        "per process (RLIMIT_AS) and CPU is not capped"
    ),
    "none": N_(
        "NOTHING CAPS THE NUMBER OF PROCESSES: a fork bomb can hurt this machine; memory is capped per "
        "process (RLIMIT_AS)"
    ),
}
# Who the submission's programs run as, by what confines them (`program_user` in `describe`).
NO_VIEW_ROOT = N_(
    "NO FILE SYSTEM VIEW ({why}): each submission runs as a uid of its own, but can read every file of this "
    "machine that any user may read, the class folder included; install bubblewrap (Debian: bubblewrap)"
)
NO_VIEW_USER = N_(
    "NOTHING CONFINES THE SUBMISSIONS ({why}): they run as you, and can read and change everything you can, "
    "the grades and the other submissions included; install bubblewrap, or grade as root"
)
USER_NAMESPACE_NOTE = N_(
    "not root: each submission runs in a user namespace of its own with your uid on the host, so it can "
    "signal the spec's harness of its own job (never another job's), and your supplementary groups still "
    "count for its file access"
)


@dataclass
class Isolation:
    """What this machine offers, decided once per grading run."""

    unshare: list[str] | None  # the unshare prefix, or None without namespaces
    cgroups: CgroupRoot | None
    process_cap: str  # a key of CAPS
    bwrap: str | None = None  # bubblewrap, where it builds the programs' view; None: no view
    notes: list[str] = field(default_factory=list)  # fallbacks in effect, one line each, said once

    @property
    def program_user(self) -> str:
        """Who a submission's programs run as."""
        if os.geteuid() == 0:
            return "a uid of its own"
        return "a user namespace of its own" if self.bwrap else "the grader's own user"

    @property
    def namespaces(self) -> bool:
        return self.unshare is not None

    def describe(self) -> dict[str, Any]:
        return {
            "namespaces": self.namespaces,
            "cgroups": self.cgroups.describe() if self.cgroups else None,
            "process_cap": self.process_cap,
            "view": "bubblewrap" if self.bwrap else None,
            "program_user": self.program_user,
            "notes": self.notes,
        }

    def close(self) -> None:
        if self.cgroups is not None:
            self.cgroups.remove()


def detect(use_namespaces: bool = True, use_cgroups: bool = True, use_pid_max: bool = True) -> Isolation:
    root = os.geteuid() == 0
    notes = []
    unshare, pid_max, view_problem = None, False, ""
    bwrap = confine.bubblewrap()
    if use_namespaces:
        unshare, pid_max, view_problem, why = _try_namespaces(root, bwrap)
        if unshare is None:
            notes.append(
                _(
                    "network namespaces are not available ({why}): each submission is told its port "
                    "(PORT and last argument) and one that hard-codes its address cannot be graded as written"
                ).format(why=why)
            )
    else:
        notes.append(_("namespaces turned off: each submission is told its port (PORT and last argument)"))
    if bwrap is None:
        view_problem = "bwrap is not installed"
    elif unshare is None:
        view_problem = confine.trial_problem(bwrap, host_uid=root)
    if view_problem:
        bwrap = None
        notes.append(_(NO_VIEW_ROOT if root else NO_VIEW_USER).format(why=view_problem))
    elif not root:
        notes.append(_(USER_NAMESPACE_NOTE))
    cgroups, why_not = None, _("cgroups turned off")
    if use_cgroups:
        try:
            cgroups = CgroupRoot.create(f"sockspec-grade-{os.getpid()}")
        except CgroupUnavailable as error:
            why_not = _("no cgroup ({error})").format(error=error)
    if cgroups is not None:
        cap = "cgroup"
    elif pid_max and use_pid_max:
        cap = "pid_max"
    elif root:
        cap = "uid"
    else:
        cap = "nproc"
    if cap != "cgroup":
        notes.append(_("{why}: {caps}").format(why=why_not, caps=_(CAPS[cap])))
    return Isolation(unshare, cgroups, cap, bwrap, notes)


# Run inside the namespace made for the check: 192.0.2.1 is a documentation address.
NAMESPACE_CHECK = """
import sys
from sockspec.grade.confine import trial_problem
from sockspec.grade.sandbox_init import network_up, set_pid_max
network_up(['192.0.2.1'])
print('pid_max' if set_pid_max(1000) else 'no pid_max')
print(trial_problem(sys.argv[1], sys.argv[2] == 'root') if sys.argv[1] else 'bwrap is not installed')
"""


def _try_namespaces(root: bool, bwrap: str | None) -> tuple[list[str] | None, bool, str, str]:
    """The unshare prefix that works here (tried for real, network set-up included), whether the
    PID namespace has a pid_max of its own, why bubblewrap cannot build a view inside it ('' if it
    can), or None and why not."""
    prefix = ["unshare", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc"]
    if not root:
        prefix[1:1] = ["--user", "--map-root-user"]
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-I", "-c", NAMESPACE_CHECK, bwrap or "", "root" if root else "user"],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, cwd="/",
        )  # fmt: skip
    except FileNotFoundError:
        return None, False, "", "unshare is not installed"
    except subprocess.TimeoutExpired:
        return None, False, "", "unshare did not answer within 30 s"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, False, "", lines[-1] if lines else f"unshare exited with status {done.returncode}"
    pid_max, view_problem = (done.stdout.splitlines() + ["", ""])[:2]
    return prefix, pid_max == "pid_max", view_problem, ""
