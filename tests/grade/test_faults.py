"""The grader under stress: a submission that outlives its wall clock, Ctrl-C, and each fallback
of the sandbox when namespaces or cgroups are not there."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sockspec.grade import isolation
from tests.grade.conftest import (
    CLIENT_FAST,
    CLIENT_SAMPLE,
    FAST,
    FIXTURES,
    grade_command,
    grader_env,
    grader_leftovers,
    make_class,
    processes_mentioning,
    run_grader,
)

pytestmark = pytest.mark.slow

THREADED_STDIN = ["--model", "threaded", "--reply", "stdin"]


def summary_rows(out) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads((out / "summary.json").read_text())["submissions"]}


def test_timeout_keeps_the_tests_that_finished(tmp_path):
    """A server that accepts and never answers runs out of wall clock: its report holds what finished."""
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    shutil.copy(FIXTURES / "hangs.c", class_dir)
    result = run_grader(class_dir, tmp_path / "grades", *THREADED_STDIN, "--timeout", "5", *FAST)
    assert result.returncode == 0, result.stderr
    row = summary_rows(tmp_path / "grades")["hangs"]
    assert row["reason"].startswith("timeout: the spec run did not finish within 5 s;"), row["reason"]
    record = json.loads((tmp_path / "grades" / "hangs" / "grade.json").read_text())
    finished = [t for t in record["tests"] if t["outcome"] != "not run"]
    # How many finish before the wall clock depends on the machine (on a fast one, every test but
    # the run's end): what finished is kept, failed as it failed, and nothing else is counted.
    assert finished and all(t["outcome"] == "failed" and t["summary"] for t in finished), finished
    assert row["verdict"] == "fail" and row["failed"] == [t["nodeid"] for t in finished]
    assert grader_leftovers(result.pid, tmp_path) == []


@pytest.mark.parametrize(
    "role, waiting",
    [("server", "sleeps_forever.py"), ("client", "asks_for_the_server.c")],
)
def test_interrupt_kills_everything_and_keeps_finished_reports(tmp_path, role, waiting):
    """Ctrl-C while a submission waits (a server that never listens, a client that never connects):
    the grader stops at once, nothing survives it, and what finished before keeps its report."""
    sample = CLIENT_SAMPLE | {"notes.txt": FIXTURES / "notes.txt"} if role == "client" else None
    class_dir = make_class(tmp_path / "class", ["notes.txt", waiting], sample)
    out = tmp_path / "grades"
    graded_as = THREADED_STDIN if role == "server" else ["--role", "client"]
    # A long start deadline: the waiting one is still being probed when the grader is interrupted.
    command = grade_command(class_dir, out, *graded_as, "--jobs", "2", "--sockspec-timeout", "start=120")
    grader = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=grader_env(tmp_path / "scratch")
    )
    stem = waiting.rsplit(".", 1)[0]
    try:
        deadline = time.monotonic() + 60
        while not (out / "notes.txt" / "grade.json").exists() or not _running(tmp_path, stem):
            assert time.monotonic() < deadline, "the grader never got going"
            assert grader.poll() is None, grader.communicate()
            time.sleep(0.1)
        grader.send_signal(signal.SIGINT)
        _, stderr = grader.communicate(timeout=30)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert grader.returncode == 130, stderr
    assert "interrupted" in stderr
    rows = summary_rows(out)
    assert list(rows) == ["notes.txt"]  # the interrupted one has no verdict, rather than a wrong one
    assert not (out / stem).exists()
    assert grader_leftovers(grader.pid, tmp_path) == []


def test_without_namespaces_ports_are_substituted(tmp_path):
    """No namespaces: a server that takes its port passes; one that hard-codes it gets a clear error
    (and nothing is ever sent to its address on this machine's network)."""
    class_dir = make_class(tmp_path / "class", ["correct_threaded.py", "seed_threaded.cpp"])
    result = run_grader(class_dir, tmp_path / "grades", *THREADED_STDIN, "--no-namespaces", "--jobs", "2", *FAST)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("namespaces turned off") == 1  # said once
    rows = summary_rows(tmp_path / "grades")
    assert rows["correct_threaded"]["verdict"] == "pass", rows["correct_threaded"]["reason"]
    seed = rows["seed_threaded"]
    assert seed["verdict"] == "error" and "does not start" in seed["reason"] and "address" in seed["reason"], seed
    assert grader_leftovers(result.pid, tmp_path) == []


def test_without_namespaces_no_client_reaches_its_hard_coded_address(tmp_path):
    """No namespaces: a client that takes its address is graded; the seed's client, whose source names
    192.168.153.128, is not run at all (its connect() would go to this machine's network)."""
    class_dir = make_class(tmp_path / "class", ["seed_iterative", "forking.c"], CLIENT_SAMPLE)
    result = run_grader(class_dir, tmp_path / "grades", "--role", "client", "--no-namespaces", *CLIENT_FAST)
    assert result.returncode == 0, result.stderr
    rows = summary_rows(tmp_path / "grades")
    assert rows["forking"]["verdict"] == "pass", rows["forking"]["reason"]
    seed = rows["seed_iterative"]
    assert seed["verdict"] == "error", seed
    assert seed["reason"] == (
        "its source names the address 192.168.153.128, and without network namespaces the grader does not run "
        "a client that may connect there"
    )
    assert not (tmp_path / "grades" / "seed_iterative" / "spec-output.txt").exists()
    assert grader_leftovers(result.pid, tmp_path) == []


def test_without_cgroups_a_fork_bomb_is_still_capped(tmp_path):
    """No cgroups: the PID namespace's own pid_max (or a uid per job) caps the fork bomb, and the
    correct submission next to it still passes."""
    found = isolation.detect(use_cgroups=False)
    found.close()
    if found.process_cap not in ("pid_max", "uid"):
        pytest.skip(f"no process cap without cgroups here ({found.process_cap})")
    class_dir = make_class(tmp_path / "class", ["forkbomb.c", "correct_hardcoded.c"])
    # One at a time: without a cgroup nothing caps CPU, and a fork bomb's 500 spinning processes
    # beside it would only test how loaded the machine is.
    result = run_grader(class_dir, tmp_path / "grades", *THREADED_STDIN, "--no-cgroups", "--jobs", "1", *FAST)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("cgroups turned off") == 1
    rows = summary_rows(tmp_path / "grades")
    assert rows["forkbomb"]["verdict"] == "error" and "never listens" in rows["forkbomb"]["reason"]
    assert rows["correct_hardcoded"]["verdict"] == "pass", rows["correct_hardcoded"]["reason"]
    assert grader_leftovers(result.pid, tmp_path) == []


@pytest.mark.parametrize(
    "options, message",
    [
        (["--model", "threaded", "--shard", "3/2"], "--shard must be K/N"),
        (["--model", "threaded", "--sockspec-timeout", "nope=1"], "bad timeout"),
        (["--model", "threaded", "--jobs", "0"], "must be positive"),
        ([], "--model is required for servers"),
        (["--model", "threaded", "--client-binary"], "--client-binary is for --role client"),
        (["--role", "client", "--model", "threaded"], "--model does not apply to --role client"),
        (["--role", "client", "--model", "forking", "--reply", "stdin"], "--model and --reply do not apply"),
    ],
)
def test_usage_errors(tmp_path, options, message):
    result = run_grader(tmp_path, tmp_path / "grades", *options)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_empty_class(tmp_path):
    (tmp_path / "class").mkdir()
    result = run_grader(tmp_path / "class", tmp_path / "grades", "--model", "iterative")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "grades" / "summary.json").read_text())["submissions"] == []


def _running(folder, stem: str) -> bool:
    """Is the submission `stem` of this test's grader running (being probed) right now?"""
    return any(stem in line for line in processes_mentioning(str(folder)))


def test_a_sockspec_folder_where_the_grader_runs_changes_nothing(tmp_path):
    """Started in a folder that holds another `sockspec` (a clone, a stale copy), the grader and every
    Python it starts use the installed sockspec: a correct server still passes, with no internal error."""
    here = tmp_path / "here"
    decoy = here / "sockspec"
    (decoy / "build").mkdir(parents=True)
    (decoy / "grade").mkdir()
    for package in (decoy, decoy / "grade"):
        (package / "__init__.py").write_text('raise SystemExit("imported the sockspec of the current folder")\n')
    class_dir = make_class(tmp_path / "class", ["correct_threaded.py"])
    console = Path(sys.executable).with_name("sockspec")
    assert console.exists(), f"sockspec is not installed beside {sys.executable}"
    done = subprocess.run(
        [str(console), "grade", str(class_dir), "--out", str(tmp_path / "grades"), *THREADED_STDIN, *FAST],
        capture_output=True, text=True, cwd=here, env=grader_env(tmp_path / "scratch"), timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    row = summary_rows(tmp_path / "grades")["correct_threaded"]
    assert row["verdict"] == "pass", row["reason"]
    assert "current folder" not in done.stderr


def test_the_graders_own_failure_is_an_internal_error_not_a_verdict(tmp_path):
    """When the grader's own machinery fails (here: the job's working folder cannot be mounted, as
    `mount` is broken on this machine), no student gets a verdict for it: each report says internal
    error and holds the traceback, the run exits with status 3, and says every submission failed alike."""
    if not isolation.detect(use_cgroups=False).namespaces:
        pytest.skip("without namespaces the grader mounts nothing")
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "mount").write_text("#!/bin/sh\necho 'mount: permission denied' >&2\nexit 32\n")
    (broken / "mount").chmod(0o755)
    class_dir = make_class(tmp_path / "class", ["correct_threaded.py", "one_at_a_time.py"])
    env = grader_env(tmp_path / "scratch")
    env["PATH"] = f"{broken}:{env['PATH']}"
    done = subprocess.run(
        grade_command(class_dir, tmp_path / "grades", *THREADED_STDIN, *FAST), capture_output=True, text=True,
        env=env, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    rows = summary_rows(tmp_path / "grades")
    for name in ("correct_threaded", "one_at_a_time"):
        assert rows[name]["verdict"] == "error", rows[name]
        assert rows[name]["reason"].startswith("internal error of the grader"), rows[name]
        assert "mount: permission denied" in (tmp_path / "grades" / name / "grader-error.txt").read_text()
    assert "EVERY SUBMISSION FAILED THE SAME WAY" in done.stderr
