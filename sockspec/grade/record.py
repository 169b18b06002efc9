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
from sockspec.i18n import N_, _, ngettext

RECORD_FILE = "grade.json"
# A verdict as a person reads it (grade.json and the summaries keep the word itself).
VERDICTS = {"pass": N_("pass"), "fail": N_("fail"), "error": N_("error")}
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


def verdict_text(verdict: str) -> str:
    """`verdict` in the language in use."""
    return _(VERDICTS[verdict]) if verdict in VERDICTS else verdict


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
        why = (
            _("timeout: the spec run did not finish within {seconds:g} s").format(seconds=limit)
            if timed_out
            else ended_early
        )
        if not finished:
            return "error", _("{why}; no test finished").format(why=why)
        counts = ngettext(
            "{finished} of {total} test finished, {failed} of them failed",
            "{finished} of {total} tests finished, {failed} of them failed",
            total,
        ).format(finished=len(finished), total=total, failed=len(not_passed))
        return "fail", _("{why}; {counts}").format(why=why, counts=counts)
    if not not_passed and len(finished) == total:
        return "pass", ngettext("all {total} test passed", "all {total} tests passed", total).format(total=total)
    first = not_passed[0] if not_passed else None
    line = ngettext("{failed} of {total} test failed", "{failed} of {total} tests failed", total).format(
        failed=len(not_passed), total=total
    )
    if first and first.summary:
        line = _("{counts}; first: {test}: {summary}").format(counts=line, test=first.name, summary=first.summary)
    if causes:
        ids = " + ".join(cause["id"] for cause in causes)
        line = _("likely {causes}: {reason}").format(causes=ids, reason=line)
    return "fail", line if len(line) <= REASON_LIMIT else line[: REASON_LIMIT - 3] + "..."
