"""Helpers for the harness's own tests: run pytest as a user would, and find leftover processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import program_environment

ROOT = Path(__file__).resolve().parents[2]


# Starts a program with SIGINT ignored, as a shell without job control starts a background job
# (and as CI steps often run): an ignored signal stays ignored across exec.
IGNORING_CTRL_C = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])",
]


def run_pytest(
    *args: str,
    timeout: float = 300,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    ignoring_ctrl_c: bool = False,
) -> subprocess.CompletedProcess:
    """Run pytest in a subprocess from the project root (or `cwd`), the way a user types it;
    `env` adds to (or overrides) this process's environment; `ignoring_ctrl_c` starts it with
    SIGINT ignored.

    This project's sockspec is imported whatever `cwd` is: from elsewhere, an installed
    sockspec would be found first (`python -m` puts only `cwd` on sys.path)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [
            *(IGNORING_CTRL_C if ignoring_ctrl_c else []),
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=program_environment(PYTHONPATH=path) | (env or {}),
    )


def processes_mentioning(marker: str) -> list[str]:
    """Command lines of live (non-zombie) processes that contain `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z" and int(entry) != os.getpid():
            found.append(f"{entry}: {cmdline}")
    return found


def interrupt_run(args: list[str], marker: str, sig: int, at_least: int, output: Path) -> tuple[int, list[str]]:
    """Start `pytest ARGS`, wait until `at_least` processes other than pytest carry `marker`,
    send `sig`, and return pytest's exit status and the marked processes still alive after it.

    pytest itself is never SIGKILLed while it may still have programs running: nothing could
    stop them then.
    """
    with output.open("wb") as sink:
        run = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def others() -> list[str]:
        return [line for line in processes_mentioning(marker) if not line.startswith(f"{run.pid}:")]

    try:
        deadline = time.monotonic() + 60
        seen = 0
        while seen < at_least and time.monotonic() < deadline:
            seen = len(others())
            time.sleep(0.05)
        assert seen >= at_least, f"the run never started its programs:\n{output.read_text()}"
        run.send_signal(sig)
        run.wait(60)
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)
            try:
                run.wait(30)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait()
    deadline = time.monotonic() + 10
    while others() and time.monotonic() < deadline:
        time.sleep(0.05)
    return run.returncode, others()
