"""Run a submission's programs as an unprivileged user that sees only its own job.

Whatever a submission runs (its compiler, its server or client, all they
start) gets a view of the file system built by bubblewrap from explicit
grants, and nothing else (bwrap's own model: what is not granted is absent):

- read-only: the system (`/usr`, `/etc`, and `/bin`, `/lib`... as they are
  here), this Python (its prefixes, so a `.py` submission or a `run` script's
  `python3` works), and any path the instructor grants (`--sandbox-read`);
- writable: its own copy of the submission (its working folder and HOME),
  a size-capped filesystem of the job's (see `sandbox_init.prepare_box`);
- a fresh, size-capped `/tmp` (and TMPDIR) per program start, a private
  `/dev/shm`, and `/dev` with only null, zero and urandom;
- `/proc` of the job's PID namespace.

The grades, the class folder (other students' work), the build cache,
`/root` and home folders, the weights file and the spec's own files are
not in the view at all.

The program also runs as a user of its own with no capabilities, no
supplementary groups and `no_new_privs`.  A root grader gives each job a
host uid of its own (`setpriv`, util-linux): the program can then signal
or trace no process but its own job's.  A grader that is not root has one
uid only, mapped to root in the job's user namespace; bubblewrap then puts
the program in a user namespace of its own (`--unshare-user`), where it has
no capability over the job's processes, so it can trace none of them, but
it shares their uid on the host: it can still signal its own job's harness
(never another job's: their PID namespaces are not visible).

Only the programs of the submission are confined.  The spec's harness
(pytest, its clients, its reads of /proc) stays privileged inside the job's
namespaces, and writes the results the grader reads, where the program
cannot reach them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The top level of a Linux system, granted read-only when present: symlinks (a merged /usr) are
# made again as symlinks, folders are bound.
SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom")
# The program's standard streams by name, for shells and `run` scripts (/dev/stdin and so on).
DEVICE_LINKS = {"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
                "/dev/stderr": "/proc/self/fd/2"}  # fmt: skip
SETPRIV = ("setpriv", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs")
PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Confinement:
    """How one job's programs run: as whom, seeing what, with how much scratch space."""

    uid: int  # the job's own user: a host uid (root grader) or one of a user namespace of its own
    host_uid: bool  # True: setpriv to `uid`; False: bubblewrap maps `uid` to the grader in a user namespace
    workdir: str  # the program's writable working folder (its copy of the submission)
    readable: tuple[str, ...] = ()  # host paths it may read besides the system's and this Python's
    tmp_bytes: int = 256 << 20  # its /tmp, and its /dev/shm, each
    bwrap: str | None = "bwrap"  # None: no view can be built here (the program sees the host, as its uid)

    def prefix(self, cwd: str | None = None) -> list[str]:
        """The command that runs a program confined; the program's own argv follows it."""
        if self.bwrap is None:
            return self._drop_uid() if self.host_uid else []
        view = [self.bwrap, *_view(self.readable, self.workdir, self.tmp_bytes)]
        view += ["--chdir", cwd or self.workdir, "--setenv", "HOME", self.workdir, "--setenv", "TMPDIR", "/tmp",
                 "--setenv", "PATH", f"{Path(sys.executable).parent}:{PATH}"]  # fmt: skip
        if self.host_uid:
            return [*view, "--", *self._drop_uid()]
        uid = str(self.uid)
        return [*view, "--unshare-user", "--uid", uid, "--gid", uid, "--disable-userns", "--"]

    def _drop_uid(self) -> list[str]:
        uid = str(self.uid)
        return [*SETPRIV, "--reuid", uid, "--regid", uid, "--"]

    def save(self, path: Path) -> None:
        """Write the prefix where the job's sandbox_init and its spec run read it (--sockspec-confine)."""
        path.write_text(json.dumps(self.prefix()))


def _view(readable: tuple[str, ...], workdir: str, tmp_bytes: int) -> list[str]:
    """bubblewrap's grants for the view the module docstring describes.

    The fresh mounts come first and the grants after them, so a grant under
    /tmp (a virtual environment there, the job's own folder) stays visible.
    """
    size = str(tmp_bytes)
    args = ["--perms", "1777", "--size", size, "--tmpfs", "/tmp", "--proc", "/proc", "--tmpfs", "/dev",
            "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]  # fmt: skip
    args += [arg for device in DEVICES for arg in ("--dev-bind", device, device)]
    args += [arg for link, target in DEVICE_LINKS.items() for arg in ("--symlink", target, link)]
    for top in SYSTEM:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    granted = _outside_system([*python_paths(), *readable])
    for path in granted:
        args += ["--ro-bind", path, path]
    args += ["--bind", workdir, workdir]
    # bubblewrap makes the folders leading to a grant with the host's modes (/root: 0700, the
    # grader's scratch: 0711), which the program's uid could not enter or list.
    leading = _leading_folders([*granted, workdir])
    return args + [arg for folder in leading for arg in ("--chmod", "0755", folder)]


def python_paths() -> list[str]:
    """The folders this Python runs from: its installation and, in a virtual environment, the environment."""
    prefixes = (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix)
    return sorted({str(Path(p).resolve()) for p in prefixes})


def _outside_system(paths: list[str]) -> list[str]:
    """`paths` that the system's grants and each other do not already cover, outermost first."""
    kept: list[str] = []
    for path in sorted({str(Path(p).resolve()) for p in paths if Path(p).exists()}, key=len):
        if not any(_within(path, top) for top in (*SYSTEM, *kept)):
            kept.append(path)
    return kept


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _leading_folders(paths: list[str]) -> list[str]:
    """The folders bubblewrap makes on the way to `paths`: not `/`, not the fresh /tmp, none granted."""
    folders = {str(parent) for path in paths for parent in Path(path).parents}
    return sorted(folders - {"/", "/tmp", *paths}, key=len)


def bubblewrap() -> str | None:
    """Where bwrap is, or None if it is not installed."""
    return shutil.which("bwrap")


def trial_problem(bwrap: str, host_uid: bool) -> str:
    """Why a confinement of this kind cannot run here ('' if it can), tried for real on /bin/true."""
    trial = Confinement(uid=65534, host_uid=host_uid, workdir="/tmp", tmp_bytes=1 << 20, bwrap=bwrap)
    try:
        done = subprocess.run(
            [*trial.prefix("/"), "/bin/true"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
            cwd="/",
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return lines[-1] if lines else f"bwrap exited with status {done.returncode}"
    return ""
