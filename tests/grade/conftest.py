"""The grader's test fixtures: sample classes built at test time, each graded once per test session.

Grading the sample class of servers takes about a minute, and the sample
class of clients about half that, so each happens once and every test reads
its reports.  Under pytest-xdist each worker is its own process: the first
to need a class grades it under a file lock, the others wait and read the
same folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from sockspec.grade.report_files import folder_name
from tests import program_environment

FIXTURES = Path(__file__).parent / "fixtures"
SEED = Path(__file__).parents[1] / "corpus" / "seed"
CLIENTS = Path(__file__).parents[1] / "corpus" / "clients"
PROJECT = Path(__file__).parents[2]

# A shorter start deadline keeps programs that never listen quick (it also bounds the probe); a
# correct server needs far less, even on a loaded machine.  The reply deadline stays the spec's.
FAST = ["--sockspec-timeout", "start=10"]

# The sample class: entry name -> where it comes from.  Graded as threaded servers in the stdin
# reply mode, the seed's own mode, so the seed's servers run exactly as written.
SAMPLE = {
    "seed_iterative": "seed folder: iterative.cpp as server.cpp, next to the seed's client.cpp",
    "seed_forking.cpp": SEED / "forking.cpp",
    "seed_threaded.cpp": SEED / "threaded.cpp",
    "correct_hardcoded.c": FIXTURES / "correct_hardcoded.c",
    "correct_threaded.py": FIXTURES / "correct_threaded.py",
    "run_script": "folder with a run script starting its copy of the reference threaded server",
    "one_at_a_time.py": FIXTURES / "one_at_a_time.py",
    "crashes.c": FIXTURES / "crashes.c",
    "prints_gigabytes.py": FIXTURES / "prints_gigabytes.py",
    "forkbomb.c": FIXTURES / "forkbomb.c",
    "never_listens.c": FIXTURES / "never_listens.c",
    "wrong_port.c": FIXTURES / "wrong_port.c",
    "does_not_compile.c": FIXTURES / "does_not_compile.c",
    "sleeps_forever.py": FIXTURES / "sleeps_forever.py",
    "not_a_server.py": FIXTURES / "not_a_server.py",
    "notes.txt": FIXTURES / "notes.txt",
    "empty": "an empty folder",
}

# The sample class of clients, graded with --role client.  The seed's iterative submission is the
# same folder as in SAMPLE: graded as clients, its client.cpp is chosen and run exactly as written
# (it connects to 192.168.153.128:19999).
CLIENT_SAMPLE = {
    "seed_iterative": SAMPLE["seed_iterative"],
    "reference_client": "folder: reference/client.py and a run script giving it --host and --port",
    "forking.c": CLIENTS / "correct" / "forking.c",
    "sigpipe_after_reset.c": CLIENTS / "buggy" / "sigpipe_after_reset.c",
    "exit_status_on_close.c": CLIENTS / "buggy" / "exit_status_on_close.c",
    "connect_error_on_stdout.c": CLIENTS / "buggy" / "connect_error_on_stdout.c",
    "client_does_not_compile.cpp": FIXTURES / "client_does_not_compile.cpp",
    "asks_for_the_server.c": FIXTURES / "asks_for_the_server.c",
    "empty": SAMPLE["empty"],
}

# A client connects within milliseconds of its start: 5 s is ample, and bounds the probe of the
# client that never connects.  Every other wait stays the spec's.
CLIENT_FAST = ["--sockspec-timeout", "start=5"]


def make_class(folder: Path, entries: list[str], sample: dict | None = None) -> Path:
    """A class folder holding the named entries of `sample` (SAMPLE by default)."""
    sample = SAMPLE if sample is None else sample
    folder.mkdir(parents=True)
    for entry in entries:
        source = sample[entry]
        if isinstance(source, Path):
            shutil.copy(source, folder / entry)
        elif entry == "seed_iterative":
            (folder / entry).mkdir()
            shutil.copy(SEED / "iterative.cpp", folder / entry / "server.cpp")
            shutil.copy(SEED / "client.cpp", folder / entry / "client.cpp")
        elif entry == "run_script":
            shutil.copytree(PROJECT / "reference", folder / entry / "reference", ignore=shutil.ignore_patterns("__py*"))
            run = folder / entry / "run"
            run.write_text('#!/bin/sh\nexec python3 -m reference.threaded --reply stdin --port "$1"\n')
            run.chmod(0o755)
        elif entry == "reference_client":
            (folder / entry).mkdir()
            shutil.copy(PROJECT / "reference" / "client.py", folder / entry / "client.py")
            run = folder / entry / "run"
            run.write_text(f'#!/bin/sh\nexec {sys.executable} client.py --host "$1" --port "$2"\n')
            run.chmod(0o755)
        elif entry == "empty":
            (folder / entry).mkdir()
    return folder


def grade_command(class_dir: Path, out: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "sockspec", "grade", str(class_dir), "--out", str(out), *options]


def grader_env(scratch: Path) -> dict[str, str]:
    """The grader's environment, its scratch folders under `scratch`: every process it starts then
    names that folder on its command line, so a leftover is easy to find."""
    scratch.mkdir(parents=True, exist_ok=True)
    return program_environment(TMPDIR=str(scratch))


def run_grader(class_dir: Path, out: Path, *options: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `sockspec grade` to the end, its scratch beside `out`; the result's `pid` is the grader's."""
    with subprocess.Popen(
        grade_command(class_dir, out, *options), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, env=grader_env(out.parent / "scratch"),
    ) as grader:  # fmt: skip
        stdout, stderr = grader.communicate(timeout=timeout)
    result = subprocess.CompletedProcess(grader.args, grader.returncode, stdout, stderr)
    result.pid = grader.pid  # type: ignore[attr-defined]
    return result


def processes_mentioning(marker: str) -> list[str]:
    """Command lines of live processes that mention `marker` (a tmp path of this test)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(f"{entry}: {cmdline}")
    return found


def grader_leftovers(grader_pid: int, folder: Path) -> list[str]:
    """Anything a finished grader left behind: processes started from its class or its scratch
    (both in `folder`), scratch folders, its cgroups."""
    left = processes_mentioning(str(folder / "scratch")) + processes_mentioning(str(folder / "class"))
    left += [str(p) for p in (folder / "scratch").glob("sockspec-grade-*")]
    for hierarchy in Path("/sys/fs/cgroup").glob("*"):
        left += [str(p) for p in hierarchy.rglob(f"sockspec-grade-{grader_pid}")]
    return left


@dataclass
class Graded:
    class_dir: Path
    out: Path
    stderr: str
    seconds: float
    returncode: int
    pid: int  # the grader's

    @property
    def summary(self) -> dict:
        return json.loads((self.out / "summary.json").read_text())

    def row(self, name: str) -> dict:
        return next(row for row in self.summary["submissions"] if row["name"] == name)

    def record(self, name: str) -> dict:
        return json.loads((self.out / folder_name(name) / "grade.json").read_text())

    @property
    def namespaced(self) -> bool:
        return "namespaces are not available" not in self.stderr


def graded_once(factory: pytest.TempPathFactory, name: str, entries: dict, *options: str) -> Graded:
    """Grade the sample class `entries` once per session (shared by xdist workers), as `name`."""
    base = factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "done.json"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            class_dir = make_class(root / "class", list(entries), entries)
            started = time.monotonic()
            result = run_grader(class_dir, root / "grades", *options)
            seconds = time.monotonic() - started
            (root / "stderr.txt").write_text(result.stderr)
            done.write_text(json.dumps({"seconds": seconds, "returncode": result.returncode, "pid": result.pid}))
        facts = json.loads(done.read_text())
    stderr = (root / "stderr.txt").read_text()
    return Graded(root / "class", root / "grades", stderr, facts["seconds"], facts["returncode"], facts["pid"])


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """The whole sample class, graded with --jobs 2 (once per session, shared by xdist workers)."""
    return graded_once(
        tmp_path_factory, "sockspec-grade-sample", SAMPLE,
        "--model", "threaded", "--reply", "stdin", "--jobs", "2", "--timeout", "90", *FAST,
    )  # fmt: skip


@pytest.fixture(scope="session")
def graded_clients(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """The sample class of clients, graded with --role client --jobs 2 (once per session)."""
    return graded_once(
        tmp_path_factory, "sockspec-grade-clients", CLIENT_SAMPLE,
        "--role", "client", "--jobs", "2", "--timeout", "90", *CLIENT_FAST,
    )  # fmt: skip
