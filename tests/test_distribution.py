"""What users install is what is tested: the wheel, in a fresh virtual environment, from an empty folder.

The wheel (built here, or the one CI built: SOCKSPEC_WHEEL) is installed in a
virtual environment of its own in a temporary folder, with no checkout on its
sys.path, and every command a student or an instructor types runs from a
folder holding only their own files: the README's quick start, a C server,
a client, a grade and a benchmark.  Nothing may be left in that folder that
they did not ask for.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]
CORPUS = ROOT / "tests" / "corpus"


@dataclass
class Installed:
    wheel: Path
    venv: Path

    def run(
        self, *command: str, cwd: Path, timeout: float = 300, locale: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """A command of the environment's (pytest, sockspec), in `cwd`, with nothing of the checkout's;
        with `locale`, those locale variables instead of this process's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV"))}
        if locale is not None:
            env = {k: v for k, v in env.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")} | locale
        env["PATH"] = f"{self.venv / 'bin'}:{env['PATH']}"
        env["XDG_CACHE_HOME"] = str(self.venv.parent / "cache")
        return subprocess.run(
            [str(self.venv / "bin" / command[0]), *command[1:]], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    place = tmp_path_factory.mktemp("distribution")
    wheel = Path(os.environ["SOCKSPEC_WHEEL"]) if os.environ.get("SOCKSPEC_WHEEL") else None
    if wheel is None:
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(place), str(ROOT)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert built.returncode == 0, built.stderr
        (wheel,) = place.glob("sockspec-*.whl")
    venv = place / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    return Installed(wheel, venv)


def empty_folder(tmp_path: Path, *files: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    for file in files:
        shutil.copy(file, folder)
    return folder


def left_behind(folder: Path, *mine: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in mine)


def test_every_package_of_the_source_is_in_the_distribution():
    """pyproject.toml lists the packages one by one (spec/ and reference/ are mapped into sockspec):
    a new folder of the source must be listed, or the wheel ships without it."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sockspec").rglob("__init__.py")}
    mapped = {f"sockspec.{'.'.join(p.parent.relative_to(ROOT).parts)}" for top in ("spec", "reference")
              for p in (ROOT / top).rglob("__init__.py")}  # fmt: skip
    assert found | mapped | {"sockspec.bench.c"} == listed


def test_the_wheel_is_plain_and_holds_no_generic_top_level_name(installed: Installed):
    assert installed.wheel.name.endswith("-py3-none-any.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(installed.wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"sockspec"}
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert "sockspec/spec/server/test_send_recv.py" in names and "sockspec/reference/threaded.py" in names
    assert {"sockspec/bench/c/echo_server.c", "sockspec/bench/c/epoll_echo_server.c"} <= set(names)
    assert {"sockspec/grade/platforms/install.sh", "sockspec/grade/platforms/run_autograder"} <= set(names)
    assert "sockspec/locale/zh_CN/LC_MESSAGES/sockspec.mo" in names


def test_version_and_usage(installed: Installed, tmp_path):
    folder = empty_folder(tmp_path)
    version = installed.run("sockspec", "--version", cwd=folder)
    assert version.returncode == 0 and version.stdout.startswith("sockspec "), version.stderr
    bare = installed.run("sockspec", cwd=folder)
    assert bare.returncode == 2 and "usage: sockspec COMMAND" in bare.stderr


def test_quick_start_runs_the_bundled_server(installed: Installed, tmp_path):
    folder = empty_folder(tmp_path)
    done = installed.run("pytest", "--impl", "reference.threaded", "-q", "-p", "no:randomly", cwd=folder)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-3000:] + done.stderr
    where = installed.run("python", "-c", "import sockspec.paths as p; print(p.SPEC)", cwd=folder).stdout.strip()
    assert where.startswith(str(installed.venv)), where
    assert left_behind(folder) == []


def test_a_students_c_server_and_client(installed: Installed, tmp_path):
    folder = empty_folder(
        tmp_path, CORPUS / "servers" / "correct" / "threaded.c", CORPUS / "clients" / "correct" / "forking.c"
    )
    server = installed.run("pytest", "--impl", "threaded.c", "--model", "threaded", "-q", "-k", "send_recv", cwd=folder)
    assert server.returncode == 0, server.stdout[-3000:] + server.stderr
    client = installed.run("pytest", "--client", "forking.c", "-q", "-k", "chat", cwd=folder)
    assert client.returncode == 0, client.stdout[-3000:] + client.stderr
    assert left_behind(folder, "threaded.c", "forking.c") == []


def test_a_failure_reproduces_from_the_students_folder(installed: Installed, tmp_path):
    folder = empty_folder(tmp_path, CORPUS / "servers" / "buggy" / "strlen_send.c")
    done = installed.run(
        "pytest", "--impl", "strlen_send.c", "--model", "threaded", "-q", "-k", "nul_bytes", cwd=folder
    )
    assert done.returncode == 1, done.stdout[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("REPRODUCE")]
    again = installed.run(*line.split(None, 1)[1].replace("'", "").split(), cwd=folder)
    assert again.returncode == 1 and "1 failed" in again.stdout, again.stdout[-3000:]


def test_a_student_whose_locale_is_chinese_reads_the_failure_in_chinese(installed: Installed, tmp_path):
    folder = empty_folder(tmp_path, CORPUS / "servers" / "buggy" / "strlen_send.c")
    argv = ("pytest", "--impl", "strlen_send.c", "--model", "threaded", "-q", "-k", "nul_bytes")
    chinese = installed.run(*argv, cwd=folder, locale={"LANG": "zh_CN.UTF-8"})
    assert chinese.returncode == 1 and "可能的错误" in chinese.stdout, chinese.stdout[-3000:]
    assert "strlen-on-binary" in chinese.stdout and "LIKELY BUG" not in chinese.stdout, chinese.stdout[-3000:]
    english = installed.run(*argv, "--lang", "en", cwd=folder, locale={"LANG": "zh_CN.UTF-8"})
    assert english.returncode == 1 and "LIKELY BUG" in english.stdout, english.stdout[-3000:]
    assert left_behind(folder, "strlen_send.c") == []


def test_grade_and_bench(installed: Installed, tmp_path):
    folder = empty_folder(tmp_path)
    (folder / "class").mkdir()
    shutil.copy(CORPUS / "servers" / "correct" / "threaded.c", folder / "class" / "ann.c")
    graded = installed.run("sockspec", "grade", "class", "--model", "threaded", "--jobs", "1", cwd=folder)
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert "[1/1] ann                      pass" in graded.stderr
    bench = installed.run("sockspec", "bench", "--impl", "reference.threaded", "--seconds", "0.2", "--clients", "1",
                          cwd=folder)  # fmt: skip
    assert bench.returncode == 0 and "C baseline" in bench.stdout, bench.stdout + bench.stderr
    assert left_behind(folder, "class", "grades") == []
