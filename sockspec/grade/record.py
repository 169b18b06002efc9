"""What grading one submission produced: its verdict, points and every test, as `grade.json`.

Every report is written from records, never from a spec run directly, so a
re-run that skips an unchanged submission, and `sockspec merge` combining
the shards of a class, both produce exactly the reports a single run would.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sockspec.grade.scoring import NOT_RUN, PASSED, ScoredTest

RECORD_FILE = "grade.json"
REASON_LIMIT = 240  # characters of a verdict's one-line reason
BUILD_OUTPUT_LIMIT = 8000


@dataclass
class Record:
    name: str
    kind: str
    model: str  # the server model graded; '' for a client
    reply: str  # the server reply mode graded; '' for a client
    verdict: str  # pass: every applicable test passed; fail: some did not; error: could not be graded
    reason: str  # one line
    tests: list[ScoredTest] = field(default_factory=list)
    digest: str = ""
    fingerprint: str = ""  # of the spec and the options that decide results: a change grades again
    seconds: float = 0.0
    note: str = ""  # how it was run: where it listens, fallbacks
    problem: str = ""  # why it could not be run at all, if so
    build_output: str = ""  # what the compiler said, cut to BUILD_OUTPUT_LIMIT characters
    role: str = "server"  # what was graded: a server, or a client
    # The spec run's diagnosis, most likely first: {"id": a cause of sockspec.causes, "tests": the
    # test ids that point to it, "evidence": what the bytes or the processes showed, in words}.
    causes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(t.points for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_points for t in self.tests), 4)

    @property
    def failed(self) -> list[str]:
        """Tests that ran and did not pass (tests that never ran are not listed: see `reason`)."""
        return [t.nodeid for t in self.tests if t.outcome not in (PASSED, NOT_RUN)]

    def families(self) -> dict[str, dict[str, float]]:
        """Per family: points, max_points, passed and total tests, in the spec's order."""
        found: dict[str, dict[str, float]] = {}
        for test in self.tests:
            row = found.setdefault(test.family, {"points": 0.0, "max_points": 0.0, "passed": 0, "total": 0})
            row["points"] += test.points
            row["max_points"] += test.max_points
            row["passed"] += test.outcome == PASSED
            row["total"] += 1
        return found

    def summary_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "score": self.score,
            "max_score": self.max_score,
            "failed": self.failed,
            "reason": self.reason,
            "causes": [cause["id"] for cause in self.causes],
        }

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        tests = [ScoredTest(**t) for t in data.get("tests", [])]
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known and k != "tests"}, tests=tests)

    @classmethod
    def load(cls, folder: Path) -> Record | None:
        try:
            return cls.from_json(json.loads((folder / RECORD_FILE).read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            return None


def graded_as(role: str, model: str, reply: str) -> dict[str, str | None]:
    """What a class was graded as, for summaries: a client has no model and no reply mode."""
    return {"role": role, "model": model or None, "reply": reply or None}


def judge(
    tests: list[ScoredTest], timed_out: bool, limit: float, ended_early: str = "", causes: list[dict[str, Any]] = ()
) -> tuple[str, str]:
    """The verdict and its one-line reason for a submission whose spec run got under way; a failing
    one's reason leads with the run's diagnosis, `causes` (most likely first)."""
    total = len(tests)
    finished = [t for t in tests if t.outcome != NOT_RUN]
    not_passed = [t for t in finished if t.outcome != PASSED]
    if timed_out or ended_early:
        why = f"timeout: the spec run did not finish within {limit:g} s" if timed_out else ended_early
        if not finished:
            return "error", f"{why}; no test finished"
        return "fail", f"{why}; {len(finished)} of {total} tests finished, {len(not_passed)} of them failed"
    if not not_passed and len(finished) == total:
        return "pass", f"all {total} tests passed"
    first = not_passed[0] if not_passed else None
    detail = f"; first: {first.name}: {first.summary}" if first and first.summary else ""
    line = f"{len(not_passed)} of {total} tests failed{detail}"
    if causes:
        line = f"likely {' + '.join(cause['id'] for cause in causes)}: {line}"
    return "fail", line if len(line) <= REASON_LIMIT else line[: REASON_LIMIT - 3] + "..."
