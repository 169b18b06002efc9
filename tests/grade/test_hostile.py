"""A class of hostile submissions: every attack on the grader is contained and hurts nobody else.

Each program of `hostile/` is a correct threaded echo server that first makes one attack (its
header says which): on the grades, the class folder, the build cache, the machine, the grader's
processes.  The class holds them all beside two innocent correct submissions (`zoe`, the victim,
and `yan`); it is graded once without the attackers and once with them, with the same options.
For each attack: the grader finished as documented, the innocents' reports are the same byte for
byte (times aside), nothing outside the job's scratch space changed where the attack tried, the
attack really ran, and the attacker's own verdict has a one-line reason.

The same class is graded again with the fallbacks (`--no-namespaces --no-cgroups`), without the
attacks those cannot contain (the network, kill(-1)), and, where the machine has a Python every
user may run (SOCKSPEC_UNPRIVILEGED_PYTHON, set by CI), by a grader that is not root.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from sockspec.grade import isolation
from tests.grade.conftest import grader_env, grader_leftovers

pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).parent / "hostile"
SERVER = HOSTILE / "server.c"
ATTACKS = sorted(p.stem for p in HOSTILE.glob("*.c") if p != SERVER)
INNOCENTS = ("zoe", "yan")
VICTIM = "zoe"
# The attacks that need a PID and network namespace of the job's own to be contained: never run where
# a fallback is in effect (kill(-1) as the grading user would take down the machine's processes).
NEEDS_NAMESPACES = ("kill_all", "network")
DISK_MIB = 64
MEMORY_MIB = 1024  # the job's memory cap
# A server that ignores SIGTERM is killed after `stop`: 0.5 s, not 2, for each of its 45 starts.
OPTIONS = ("--model", "threaded", "--jobs", "2", "--timeout", "60", "--disk", str(DISK_MIB),
           "--memory", str(MEMORY_MIB), "--sockspec-timeout", "start=10", "--sockspec-timeout", "stop=0.5")  # fmt: skip
UNPRIVILEGED_UID = 65534


@dataclass
class Scene:
    """One hostile class, graded without and with its attackers."""

    root: Path
    token: str
    attacks: list[str]
    returncode: int
    stderr: str
    seconds: float
    grader_pid: int
    before: dict[str, str]  # hashes of the class folder and the build cache before the attackers ran
    after: dict[str, str]

    @property
    def class_dir(self) -> Path:
        return self.root / "class"

    @property
    def grades(self) -> Path:
        return self.root / "grades"

    @property
    def cache(self) -> Path:
        return self.root / "cache" / "sockspec" / "build"

    @property
    def sandbox(self) -> dict:
        return json.loads((self.grades / "summary.json").read_text())["sandbox"]

    def row(self, name: str) -> dict:
        summary = json.loads((self.grades / "summary.json").read_text())
        return next(row for row in summary["submissions"] if row["name"] == name)

    def said(self, name: str) -> str:
        """Everything the attacker's reports hold: what its server printed, its build log, its verdict."""
        folder = self.grades / name
        return "\n".join(p.read_text(errors="replace") for p in sorted(folder.iterdir()) if p.is_file())

    def attack_lines(self, name: str) -> list[str]:
        """What the attack said it did, each line once (output without a newline may come before one)."""
        server = self.grades / name / "server.txt"
        text = server.read_text(errors="replace") if server.exists() else ""
        return sorted(set(re.findall(rf"ATTACK {name}: [^\n]*", text)))


def compose(attack: str, substitutions: dict[str, str]) -> str:
    """A submission: the shared server with one attack (none for an innocent) and the test's paths."""
    body = (HOSTILE / f"{attack}.c").read_text() if attack else "static void attack(void) {}\n"
    source = SERVER.read_text().replace("/* @ATTACK@ */", body)
    for key, value in substitutions.items():
        source = source.replace(f"@{key}@", value)
    return source


def _hashes(*folders: Path) -> dict[str, str]:
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _normal(text: str) -> str:
    """A report without its times, which differ from run to run."""
    text = re.sub(r'"(execution_time|seconds|duration)": [0-9.e-]+', r'"\1": 0', text)
    return re.sub(r'time="[0-9.]+"', 'time="0"', text)


def _grade(root: Path, out: str, entries: list[str], options: tuple[str, ...], python: list[str]) -> tuple:
    """Run the grader on the entries of `root/class` (moved aside meanwhile); (result, seconds, pid)."""
    aside = root / "aside"
    aside.mkdir(exist_ok=True)
    for path in list((root / "class").iterdir()):
        if path.stem not in entries:
            path.rename(aside / path.name)
    env = grader_env(root / "scratch") | {"XDG_CACHE_HOME": str(root / "cache")}
    command = [*python, "-m", "sockspec", "grade", str(root / "class"), "--out", str(root / out),
               "--weights", str(root / "instructor" / "weights.toml"), *options]  # fmt: skip
    started = time.monotonic()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root,
                          stdin=subprocess.DEVNULL) as grader:  # fmt: skip
        _, stderr = grader.communicate(timeout=900)
    for path in list(aside.iterdir()):
        path.rename(root / "class" / path.name)
    return grader.returncode, stderr, time.monotonic() - started, grader.pid


def stage(root: Path, attacks: list[str], owner: int | None = None) -> str:
    """The class, the instructor's files and the paths the attacks aim at, under `root`."""
    token = uuid.uuid4().hex[:12]
    (root / "class").mkdir(parents=True)
    (root / "instructor").mkdir()
    (root / "scratch").mkdir()
    (root / "grades").mkdir()
    (root / "cache").mkdir()
    (root / "instructor" / "weights.toml").write_text(f"# WEIGHTS-SECRET-{token}\n[weights]\nsend_recv = 3\n")
    (root / "instructor" / "secret.h").write_text(f"#error GRADER-SECRET-{token}\n")
    places = {"GRADES": str(root / "grades"), "CLASS": str(root / "class"), "VICTIM": VICTIM, "TOKEN": token,
              "WEIGHTS": str(root / "instructor" / "weights.toml"), "CACHE": str(root / "cache"),
              "SECRET": str(root / "instructor" / "secret.h"), "SCRATCH": str(root / "scratch")}  # fmt: skip
    for name in INNOCENTS:
        (root / "class" / f"{name}.c").write_text(
            f"/* {name.upper()}-SECRET-{token}: innocent. */\n" + compose("", places)
        )
    for name in attacks:
        (root / "class" / f"{name}.c").write_text(compose(name, places))
    if owner is not None:
        for path in [root, *root.rglob("*")]:
            os.chown(path, owner, owner)
    return token


def grade_hostile(root: Path, attacks: list[str], options: tuple[str, ...], python: list[str]) -> Scene:
    """Stage, grade the innocents alone (into `baseline`), then the whole class (into `grades`)."""
    token = stage(root, attacks)
    _grade(root, "baseline", list(INNOCENTS), options, python)
    before = _hashes(root / "class", root / "cache")
    returncode, stderr, seconds, pid = _grade(root, "grades", [*INNOCENTS, *attacks], options, python)
    return Scene(
        root, token, attacks, returncode, stderr, seconds, pid, before, _hashes(root / "class", root / "cache")
    )


def shared_scene(factory: pytest.TempPathFactory, name: str, attacks: list[str], options: tuple[str, ...]) -> Scene:
    """Grade the hostile class once per session (shared by xdist workers)."""
    base = factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / f"{name}.json"
        if not done.exists():
            shutil.rmtree(shared / name, ignore_errors=True)
            scene = grade_hostile(shared / name, attacks, options, [sys.executable])
            done.write_text(json.dumps({**scene.__dict__, "root": str(scene.root)}))
        facts = json.loads(done.read_text())
    return Scene(**{**facts, "root": Path(facts["root"])})


def namespaces_here() -> bool:
    found = isolation.detect(use_cgroups=False)
    found.close()
    return found.namespaces


@pytest.fixture(scope="session")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """Every attack, with everything the machine offers (kill(-1) only in a PID namespace of the job's)."""
    attacks = [a for a in ATTACKS if a not in NEEDS_NAMESPACES or namespaces_here()]
    return shared_scene(tmp_path_factory, "sockspec-hostile", attacks, OPTIONS)


@pytest.fixture(scope="session")
def fallback_scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """The attacks a grader without namespaces or cgroups must still contain."""
    attacks = [a for a in ATTACKS if a not in NEEDS_NAMESPACES]
    return shared_scene(tmp_path_factory, "sockspec-hostile-fallback", attacks,
                        (*OPTIONS, "--no-namespaces", "--no-cgroups"))  # fmt: skip


# -- what each attack must not achieve -------------------------------------------------------


def check_forge_report(s: Scene) -> None:
    """The victim's report is the grader's, and no folder of the attacker's appears in the grades."""
    assert not (s.grades / "mallory-extra").exists()
    assert any("cannot open the victim's results.json" in line for line in s.attack_lines("forge_report"))


def check_victim_folder(s: Scene) -> None:
    """Nothing is planted in another student's report folder, and the summary is the grader's."""
    assert not (s.grades / VICTIM / f"planted-{s.token}.txt").exists()
    assert "planted" not in (s.grades / "summary.json").read_text()
    assert not any(line.split(": ")[1].startswith("wrote") for line in s.attack_lines("victim_folder"))


def check_class_folder(s: Scene) -> None:
    """The class folder is as the instructor left it."""
    assert not (s.class_dir / f"planted-{s.token}.c").exists()
    assert {p: h for p, h in s.after.items() if "/class/" in p} == {p: h for p, h in s.before.items() if "/class/" in p}


def check_host_tmp(s: Scene) -> None:
    """No file appears in the machine's /tmp or in the grader's scratch space."""
    assert not Path(f"/tmp/sockspec-hostile-{s.token}").exists()
    assert not list(s.root.rglob(f"escaped-{s.token}"))


def check_root_home(s: Scene) -> None:
    """Nothing is written to root's home folder, and it cannot be listed."""
    assert not Path(f"/root/sockspec-hostile-{s.token}").exists()
    assert not any("/root lists" in line and "lists 0" not in line for line in s.attack_lines("root_home"))


def check_read_source(s: Scene) -> None:
    """Another student's source is not in anything the attacker is shown."""
    assert f"{VICTIM.upper()}-SECRET-{s.token}" not in s.said("read_source")


def check_read_weights(s: Scene) -> None:
    """The instructor's weights file is not in anything the attacker is shown."""
    assert f"WEIGHTS-SECRET-{s.token}" not in s.said("read_weights")


def check_cache(s: Scene) -> None:
    """The build cache (other students' binaries) is unchanged, and nothing is planted in it."""
    cached = {p: h for p, h in s.before.items() if "/cache/" in p}
    assert cached, "the baseline run should have cached the innocents' binaries"
    assert {p: h for p, h in s.after.items() if "/cache/" in p and s.token not in p and p in cached} == cached
    assert not list(s.cache.parent.rglob(f"planted-{s.token}"))


def check_include(s: Scene) -> None:
    """A grader's file #included by the source is not found, and its text is not in the build log."""
    row = s.row("include")
    assert row["verdict"] == "error" and "does not compile" in row["reason"], row
    assert f"GRADER-SECRET-{s.token}" not in s.said("include")


def check_kill_all(s: Scene) -> None:
    """kill(-1, SIGKILL) takes down nothing but the attacker's own job."""
    assert s.row("kill_all")["verdict"] in ("fail", "error")


def check_fork_bomb(s: Scene) -> None:
    """A fork bomb hits the job's cap of processes, which its reason names where a cgroup counts them."""
    row = s.row("fork_bomb")
    assert row["verdict"] != "pass", row
    if s.sandbox["cgroups"]:
        assert "(it hit the cap of" in row["reason"], row


def check_memory_bomb(s: Scene) -> None:
    """A process that takes all the memory it can never gets past the job's cap, where a cgroup counts
    memory (killed there, which the reason names); elsewhere it is refused more than RLIMIT_AS
    (4 x --memory)."""
    row = s.row("memory_bomb")
    lines = s.attack_lines("memory_bomb")
    assert lines and not any("was not stopped" in line for line in lines), lines
    if s.sandbox["cgroups"] and "memory" in s.sandbox["cgroups"]:
        # Near the cap the kernel reclaims before it kills, and that may outlast the spec run: then
        # the bomb must at least never have got past the cap.
        touched = [int(m) for line in lines for m in re.findall(r"touched (\d+) MiB", line)]
        assert "(the memory cap of" in row["reason"] or max(touched, default=0) < MEMORY_MIB + 256, (row, lines)
    else:
        refused = [int(m) for line in s.attack_lines("memory_bomb") for m in re.findall(r"after (\d+) MiB", line)]
        assert refused and all(mib <= 4 * MEMORY_MIB for mib in refused), s.attack_lines("memory_bomb")


def check_disk_fill(s: Scene) -> None:
    """Its working folder and its /tmp are full at the cap of --disk."""
    written = [int(m) for line in s.attack_lines("disk_fill") for m in re.findall(r"wrote (\d+) MiB", line)]
    assert written and all(mib <= DISK_MIB for mib in written), s.attack_lines("disk_fill")


def check_output_flood(s: Scene) -> None:
    """Two gigabytes of output keep only a capped part in the reports."""
    assert (s.grades / "output_flood" / "server.txt").stat().st_size < 3 << 20


def check_daemon(s: Scene) -> None:
    """The daemon it left behind is gone with the grader (see the leftovers test)."""
    assert s.attack_lines("daemon")


def check_ignore_sigterm(s: Scene) -> None:
    """A server that ignores SIGTERM is still stopped (see the leftovers test)."""
    assert s.attack_lines("ignore_sigterm")


def check_network(s: Scene) -> None:
    """Its only interface is the job's loopback, and it has no route anywhere."""
    lines = s.attack_lines("network")
    assert lines and all("interfaces=lo routes=0" in line for line in lines), lines


def check_ptrace(s: Scene) -> None:
    """It can attach with ptrace() neither to its parent nor to the spec's harness."""
    lines = s.attack_lines("ptrace")
    assert any("its parent" in line for line in lines), lines
    assert not any("attached to" in line for line in lines), lines


CHECKS = {name.removeprefix("check_"): check for name, check in dict(globals()).items() if name.startswith("check_")}


# -- the tests ---------------------------------------------------------------------------------


def test_every_attack_has_a_check():
    assert sorted(CHECKS) == ATTACKS


def expect_contained(s: Scene, attack: str) -> None:
    """What holds for every attack, then the attack's own check."""
    assert s.returncode == 0, s.stderr[-3000:]
    row = s.row(attack)
    assert row["reason"] and "\n" not in row["reason"], row
    assert "internal error" not in row["reason"], row
    if attack != "include" and row["verdict"] != "error":
        assert s.attack_lines(attack), f"the attack did not run: {s.said(attack)[-2000:]}"
    CHECKS[attack](s)


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_is_contained(scene: Scene, attack: str):
    if attack not in scene.attacks:
        pytest.skip("this machine gives a job no PID and network namespace of its own: the attack is not run")
    expect_contained(scene, attack)


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a not in NEEDS_NAMESPACES])
def test_attack_is_contained_without_namespaces_or_cgroups(fallback_scene: Scene, attack: str):
    if os.geteuid() != 0:
        pytest.skip("without namespaces a grader that is not root has nothing to confine submissions with")
    expect_contained(fallback_scene, attack)


@pytest.mark.parametrize("which", ["scene", "fallback_scene"])
def test_innocents_reports_are_untouched(request, which: str):
    """The innocents' reports are byte for byte those of a run without the attackers (times aside)."""
    s: Scene = request.getfixturevalue(which)
    if which == "fallback_scene" and os.geteuid() != 0:
        pytest.skip("without namespaces a grader that is not root has nothing to confine submissions with")
    for name in INNOCENTS:
        assert s.row(name)["verdict"] == "pass", s.row(name)
        for report in ("results.json", "junit.xml", "grade.json"):
            alone = _normal((s.root / "baseline" / name / report).read_text())
            assert _normal((s.grades / name / report).read_text()) == alone, f"{name}/{report}"


@pytest.mark.parametrize("which", ["scene", "fallback_scene"])
def test_grader_leaves_nothing_behind(request, which: str):
    """No process of the class (the daemon, a server ignoring SIGTERM, the fork bomb) outlives grading."""
    s: Scene = request.getfixturevalue(which)
    assert not grader_leftovers(s.grader_pid, s.root)


def test_the_sandbox_is_recorded(scene: Scene):
    assert scene.sandbox["view"] == "bubblewrap", scene.sandbox
    assert scene.sandbox["program_user"] == ("a uid of its own" if os.geteuid() == 0 else "a user namespace of its own")


# -- a grader that is not root -------------------------------------------------------------------


@pytest.fixture(scope="session")
def unprivileged_scene() -> Scene:
    """The hostile class graded by uid 65534 with a Python it may run (SOCKSPEC_UNPRIVILEGED_PYTHON)."""
    python = os.environ.get("SOCKSPEC_UNPRIVILEGED_PYTHON")
    if not python or os.geteuid() != 0:
        if os.environ.get("SOCKSPEC_REQUIRE_UNPRIVILEGED"):
            pytest.fail("SOCKSPEC_REQUIRE_UNPRIVILEGED is set, but there is no SOCKSPEC_UNPRIVILEGED_PYTHON to run")
        pytest.skip("set SOCKSPEC_UNPRIVILEGED_PYTHON (and run as root) to grade as an unprivileged user")
    as_user = ["setpriv", "--reuid", str(UNPRIVILEGED_UID), "--regid", str(UNPRIVILEGED_UID), "--clear-groups", python]
    root = Path(tempfile.mkdtemp(prefix="sockspec-hostile-user-"))
    root.chmod(0o755)
    probe = subprocess.run([*as_user, "-I", "-c", "from sockspec.grade import isolation as i; d = i.detect(); "
                            "print(int(d.namespaces and d.bwrap is not None)); d.close()"],
                           capture_output=True, text=True, cwd=root, timeout=60)  # fmt: skip
    if probe.stdout.strip() != "1":
        shutil.rmtree(root)
        pytest.skip(f"this machine gives an unprivileged grader no user namespaces: {probe.stderr.strip()[-300:]}")
    attacks = list(ATTACKS)
    token = stage(root / "hostile", attacks, owner=UNPRIVILEGED_UID)
    _grade(root / "hostile", "baseline", list(INNOCENTS), OPTIONS, as_user)
    before = _hashes(root / "hostile" / "class", root / "hostile" / "cache")
    returncode, stderr, seconds, pid = _grade(root / "hostile", "grades", [*INNOCENTS, *attacks], OPTIONS, as_user)
    after = _hashes(root / "hostile" / "class", root / "hostile" / "cache")
    yield Scene(root / "hostile", token, attacks, returncode, stderr, seconds, pid, before, after)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_is_contained_by_an_unprivileged_grader(unprivileged_scene: Scene, attack: str):
    expect_contained(unprivileged_scene, attack)


def test_innocents_are_untouched_by_an_unprivileged_grader(unprivileged_scene: Scene):
    for name in INNOCENTS:
        for report in ("results.json", "junit.xml", "grade.json"):
            alone = _normal((unprivileged_scene.root / "baseline" / name / report).read_text())
            assert _normal((unprivileged_scene.grades / name / report).read_text()) == alone, f"{name}/{report}"
