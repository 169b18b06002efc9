"""Run `sockspec bench` the way a user types it, with figures short enough for a test."""

from __future__ import annotations

import subprocess
import sys

from tests import program_environment
from tests.harness.conftest import ROOT

# Just long enough to measure something: the tests check behaviour and format, not speed.
QUICK = ("--seconds", "0.05", "--repeat", "1", "--clients", "1,10")


def run_bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sockspec.cli", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=program_environment(),
    )
