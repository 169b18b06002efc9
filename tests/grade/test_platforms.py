"""The autograders `sockspec autograder` writes, run as Gradescope and PrairieLearn run them.

Each platform's image is played by a bubblewrap view of this machine with
no network (so no package index: only the wheels bundled in the autograder),
an empty /opt (no local wheel folders either) and a /tmp of its own, with
the platform's folders bound where its documentation puts them:

- Gradescope unpacks the zip into /autograder/source, runs `setup.sh` once,
  copies `run_autograder` to /autograder, and for each submission puts its
  files in /autograder/submission and reads /autograder/results/results.json;
- PrairieLearn mounts the question's tests at /grade/tests, the student's
  files at /grade/student, runs the entrypoint and reads
  /grade/results/results.json.

Every results.json is checked against a JSON schema the project keeps,
written from the platform's documentation (tests/grade/schemas/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.grade.conftest import FAST, PROJECT

jsonschema = pytest.importorskip("jsonschema", reason="the platforms' formats are checked with jsonschema")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="a platform's image is played by a bubblewrap view, as root"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="a platform's image is played by bubblewrap"),
]

SCHEMAS = Path(__file__).parent / "schemas"
CORRECT = PROJECT / "tests" / "corpus" / "servers" / "correct" / "threaded.c"
BUGGY = PROJECT / "tests" / "corpus" / "servers" / "buggy" / "strlen_send.c"
BROKEN = Path(__file__).parent / "fixtures" / "does_not_compile.c"
# What an image's PATH holds: the system's Python, not this machine's development one.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The instructor's choice: the resource tests are shown to students after the due date.
POLICY = '[weights]\nsend_recv = 4\n\n[visibility]\nresources = "after_due_date"\n'
SETUP_SECONDS = 600
GRADING_SECONDS = 900


def image(root: Path, binds: dict[str, Path], command: list[str]) -> subprocess.CompletedProcess:
    """Run `command` as root in a view of this machine with no network, an empty /opt kept in
    `root`/opt (so what setup installs is there for the grading runs), a /tmp of its own, and
    `binds` (path in the image -> folder here)."""
    (root / "opt").mkdir(exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    argv = ["bwrap", "--die-with-parent", "--unshare-net", "--chdir", "/", "--dev", "/dev", "--proc", "/proc"]
    for entry in sorted(Path("/").iterdir()):
        if entry.name in ("dev", "proc", "tmp", "opt", *[Path(p).parts[1] for p in binds]):
            continue
        if entry.is_symlink():
            argv += ["--symlink", os.readlink(entry), str(entry)]
        elif entry.is_dir():
            argv += ["--bind", str(entry), str(entry)]
    argv += ["--bind", str(root / "opt"), "/opt", "--bind", str(root / "tmp"), "/tmp"]
    for inside, outside in binds.items():
        argv += ["--bind", str(outside), inside]
    env = {"PATH": IMAGE_PATH, "HOME": "/tmp/home", "LANG": "C.UTF-8", "PIP_CONFIG_FILE": "/dev/null",
           "PIP_NO_CACHE_DIR": "1", "XDG_CACHE_HOME": "/tmp/cache"}  # fmt: skip
    return subprocess.run([*argv, *command], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=GRADING_SECONDS)  # fmt: skip


def autograder(tmp: Path, platform: str, out: Path) -> None:
    """`sockspec autograder PLATFORM` as an instructor runs it, downloading the wheels it bundles."""
    policy = tmp / "policy.toml"
    policy.write_text(POLICY)
    done = subprocess.run(
        [sys.executable, "-m", "sockspec.cli", "autograder", platform, "--model", "threaded", "--weights",
         str(policy), "--out", str(out), *FAST],
        cwd=tmp, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SETUP_SECONDS,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def valid(results: Path, platform: str) -> dict:
    data = json.loads(results.read_text())
    schema = json.loads((SCHEMAS / f"{platform}-results.schema.json").read_text())
    jsonschema.validate(data, schema)
    return data


def in_hundredths(value: float) -> bool:
    return abs(value * 100 - round(value * 100)) < 1e-6


class Gradescope:
    """One autograder zip, set up once in its image, grading one submission after another."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.autograder = root / "autograder"
        source = self.autograder / "source"
        source.mkdir(parents=True)
        autograder(root, "gradescope", root / "autograder.zip")
        with zipfile.ZipFile(root / "autograder.zip") as archive:
            archive.extractall(source)
        for path in source.rglob("*"):  # zipfile does not restore modes; Gradescope runs them with bash
            if path.suffix == ".sh" or path.name == "run_autograder":
                path.chmod(0o755)
        started = time.monotonic()
        self.setup = image(root, {"/autograder": self.autograder}, ["bash", "/autograder/source/setup.sh"])
        self.setup_seconds = time.monotonic() - started
        shutil.copy2(source / "run_autograder", self.autograder / "run_autograder")

    def grade(self, submission: Path) -> tuple[dict, float, subprocess.CompletedProcess]:
        """results.json for `submission` (a file handed in as is), and the seconds run_autograder took."""
        folder = self.autograder / "submission"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self.autograder / "results", ignore_errors=True)
        folder.mkdir()
        shutil.copy2(submission, folder / submission.name)
        started = time.monotonic()
        done = image(self.root, {"/autograder": self.autograder}, ["/autograder/run_autograder"])
        seconds = time.monotonic() - started
        assert done.returncode == 0, done.stdout + done.stderr
        return valid(self.autograder / "results" / "results.json", "gradescope"), seconds, done


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory: pytest.TempPathFactory) -> Gradescope:
    platform = Gradescope(tmp_path_factory.mktemp("gradescope"))
    assert platform.setup.returncode == 0, platform.setup.stdout + platform.setup.stderr
    print(f"setup.sh took {platform.setup_seconds:.1f} s offline")
    return platform


def test_gradescope_zip_holds_what_its_documentation_asks_for(gradescope):
    names = set(zipfile.ZipFile(gradescope.root / "autograder.zip").namelist())
    assert {"setup.sh", "run_autograder", "install.sh", "sockspec.toml"} <= names
    assert any(n.startswith("wheels/sockspec-") and n.endswith("-py3-none-any.whl") for n in names), names
    assert "sockspec 0" in gradescope.setup.stdout or "sockspec " in gradescope.setup.stdout


def test_gradescope_correct_submission_gets_every_point(gradescope):
    results, seconds, _ = gradescope.grade(CORRECT)
    print(f"run_autograder took {seconds:.1f} s for a correct submission")
    total = sum(t["max_score"] for t in results["tests"])
    not_passed = [t for t in results["tests"] if t["status"] != "passed"]
    assert not not_passed, not_passed
    assert results["score"] == pytest.approx(total, abs=1e-9)
    assert all(in_hundredths(t["max_score"]) for t in results["tests"])
    assert round(total, 2) == round(total, 9), total  # the tests' points add up exactly
    resources = [t for t in results["tests"] if t["name"].startswith("resources: ")]
    assert resources and all(t["visibility"] == "after_due_date" for t in resources)
    assert all(t["visibility"] == "visible" for t in results["tests"] if t not in resources)
    send_recv = sum(t["max_score"] for t in results["tests"] if t["name"].startswith("send_recv: "))
    assert send_recv == pytest.approx(4.0, abs=1e-9)
    assert results["output"].startswith("pass: ")


def test_gradescope_buggy_submission_is_told_its_bug_and_how_to_reproduce_it(gradescope):
    results, seconds, done = gradescope.grade(BUGGY)
    print(f"run_autograder took {seconds:.1f} s for a buggy submission")
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert failed and results["score"] < sum(t["max_score"] for t in results["tests"])
    assert all(t["score"] == 0 for t in failed)
    assert "LIKELY BUG:" in results["output"] and "REPRODUCE:" in results["output"], results["output"]
    assert "strlen_send.c" in results["output"], results["output"]  # the student's own file
    assert any("strlen" in t["output"] for t in failed)
    assert "fail" in done.stdout  # the instructor's log


def test_gradescope_build_failure_is_one_failed_test_with_its_reason(gradescope):
    results, _, _ = gradescope.grade(BROKEN)
    assert len(results["tests"]) == 1, results["tests"]
    (test,) = results["tests"]
    assert test["status"] == "failed" and test["score"] == 0 and test["max_score"] > 0
    assert "does not compile" in test["output"] and results["score"] == 0


def test_prairielearn_question_grades_in_its_image(tmp_path):
    """The question's tests/ as written, in an image without sockspec: run.sh installs it offline."""
    autograder(tmp_path, "prairielearn", tmp_path / "pl")
    info = json.loads((tmp_path / "pl" / "info.json").read_text())["externalGradingOptions"]
    assert info["entrypoint"] == "/grade/tests/sockspec/run.sh" and info["timeout"] <= 600
    student, results = tmp_path / "student", tmp_path / "results"
    student.mkdir()
    results.mkdir()
    shutil.copy2(BUGGY, student / BUGGY.name)
    for path in (tmp_path / "pl" / "tests").rglob("*.sh"):
        path.chmod(0o755)
    binds = {"/grade/tests": tmp_path / "pl" / "tests", "/grade/student": student, "/grade/results": results}
    done = image(tmp_path, binds, [info["entrypoint"]])
    assert done.returncode == 0, done.stdout + done.stderr
    data = valid(results / "results.json", "prairielearn")
    assert data["gradable"] is True and 0 < data["score"] < 1, data
    assert "LIKELY BUG:" in data["message"]
    assert any(t["points"] < t["max_points"] for t in data["tests"])
