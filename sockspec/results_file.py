"""A machine-readable record of a spec run, written as it goes: one JSON object per line.

`sockspec grade` runs the spec on each submission under a wall-clock limit
and may have to kill it; a file written line by line still holds every test
that finished.  Lines:

    {"kind": "run", "targets": [{"impl", "model", "reply"}]}      (the server half runs)
    {"kind": "client", "impl", "binary"}                          (the client half runs)
    {"kind": "startup_error", "reason": one line, "output": [last lines]}
    {"kind": "test", "nodeid", "family", "behaviour", "outcome", "duration", "summary", "details"}
    {"kind": "diagnosis", "causes": [{"id", "tests", "evidence"}, ...]}   (most likely first)
    {"kind": "end", "exitstatus": int}

`outcome` is passed, failed, error (setup or teardown failed) or skipped;
`summary` is one line, `details` the whole failure message; a failed test
also has `likely_bug` (its usual cause, in words), `causes` (its candidate
causes' ids, most likely first), `evidence` (cause id -> what its bytes
showed) and `reproduce` (the command that runs it alone).  `read` is the
one reader of the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sockspec.diagnosis import Diagnosis


def family_of(item: pytest.Item) -> str:
    """The behaviour family of a spec test: its module's name without `test_`."""
    module = getattr(item, "module", None)
    name = module.__name__.rsplit(".", 1)[-1] if module else item.nodeid.split("::")[0]
    return name.removeprefix("test_").removesuffix(".py")


class ResultsFile:
    """Appends one JSON line per event and flushes it at once; at the end, the run's diagnosis."""

    def __init__(self, path: Path, diagnosis: Diagnosis) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")
        self._diagnosis = diagnosis

    def write(self, kind: str, **fields: Any) -> None:
        self._file.write(json.dumps({"kind": kind, **fields}) + "\n")
        self._file.flush()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record a test's outcome, from the report of the phase that decided it."""
        if report.when == "call":
            outcome = report.outcome
        elif report.failed:
            outcome = "error"
        elif report.skipped:
            outcome = "skipped"
        else:
            return  # a passing setup or teardown says nothing about the test
        meta = dict(report.user_properties).get("sockspec", {})
        details = report.longreprtext if report.failed else ""
        self.write(
            "test",
            nodeid=report.nodeid,
            family=meta.get("family", ""),
            behaviour=meta.get("behaviour", ""),
            outcome=outcome,
            duration=round(report.duration, 3),
            summary=meta.get("summary") or _first_line(details),
            details=details,
            likely_bug=meta.get("likely_bug", ""),
            causes=meta.get("causes", []),
            evidence=meta.get("evidence", {}),
            reproduce=meta.get("reproduce", ""),
        )

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        self.write("diagnosis", causes=self._diagnosis.causes())
        self.write("end", exitstatus=int(exitstatus))
        self._file.close()


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


@dataclass
class Recorded:
    """What a results file holds, as far as it was written (a run killed mid-line still gives every
    test that finished)."""

    started: bool = False  # the spec's plugin got as far as its `run` or `client` line
    targets: list[dict[str, Any]] = field(default_factory=list)  # the run line's: what ran, as which model
    startup_error: dict[str, Any] | None = None
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)  # by node id, in the order they ran
    ended: bool = False
    exitstatus: int | None = None
    causes: list[dict[str, Any]] = field(default_factory=list)  # the run's diagnosis, most likely first


def read(path: Path) -> Recorded:
    found = Recorded()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # the line being written when the run was killed
        kind = event.get("kind")
        if kind == "test":
            found.tests[event["nodeid"]] = event
        elif kind == "startup_error":
            found.startup_error = event
        elif kind in ("run", "client"):
            found.started = True
            found.targets = event.get("targets", [])
        elif kind == "diagnosis":
            found.causes = event.get("causes", [])
        elif kind == "end":
            found.ended = True
            found.exitstatus = event.get("exitstatus")
    return found
