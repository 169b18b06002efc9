"""The run's diagnosis: the likely bug or bugs, from the evidence of every failed test together.

Each failed test names its candidate causes (ids of `sockspec.causes`),
ranked: first what its bytes showed (`SpecFailure.evidence`), then the
usual causes of the hint it printed and of its `likely_bug` marker.  One
test's guess can be wrong for the program (a server whose only bug is
strlen() fails the size tests too, whose usual guess is a fixed buffer), so
the run weighs them all: evidence counts EVIDENCE_WEIGHT, a test's k-th
guess 1/k.  The causes are then taken greedily, best first, each one
explaining the failed tests whose bytes showed it or that name it and
whose own first guess weighs no more, until every failed test is explained: a program with two bugs gets
both, and one bug is named once however many tests it fails.

The diagnosis is printed at the end of the run (DIAGNOSIS) and written to
the results file as `{"kind": "diagnosis", "causes": [{"id", "tests",
"evidence"}, ...]}`, most likely first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sockspec import report
from sockspec.causes import CAUSES
from sockspec.i18n import _, ngettext

EVIDENCE_WEIGHT = 3.0  # what the bytes showed, against 1 for a test's first guess
MOST = 4  # causes named at most: past that, the program is not one with a few bugs


@dataclass
class FailedTest:
    nodeid: str
    causes: list[str]  # candidate cause ids, most likely first
    evidence: dict[str, str] = field(default_factory=dict)  # cause id -> what the bytes showed


def rank(failed: list[FailedTest]) -> list[dict[str, Any]]:
    """The diagnosis of a run whose failed tests are `failed`: [{"id", "tests", "evidence"}], most
    likely first."""
    weight: dict[str, float] = {}
    for test in failed:
        for place, cause in enumerate(test.causes):
            weight[cause] = weight.get(cause, 0.0) + 1.0 / (place + 1)
        for cause in test.evidence:
            weight[cause] = weight.get(cause, 0.0) + EVIDENCE_WEIGHT
    unexplained = [test for test in failed if test.causes]
    found = []
    while unexplained and len(found) < MOST:
        named = {cause for test in unexplained for cause in test.causes} - {cause["id"] for cause in found}
        best = max(named, key=lambda cause: (weight[cause], cause))
        pointing = [test for test in failed if best in test.causes]
        evidence = next((t.evidence[best] for t in pointing if best in t.evidence), "")
        found.append({"id": best, "tests": [t.nodeid for t in pointing], "evidence": evidence})
        unexplained = [test for test in unexplained if not _explains(best, test, weight)]
    return found


def _explains(cause: str, test: FailedTest, weight: dict[str, float]) -> bool:
    """A cause explains a failed test whose bytes showed it, or that names it among its guesses
    when it weighs at least as much over the run as the test's own first guess."""
    return cause in test.evidence or (cause in test.causes and weight[cause] >= weight[test.causes[0]])


def candidates(evidence: list[tuple[str, str]], *guesses: tuple[str, ...]) -> list[str]:
    """One test's candidate causes: its evidence first, then each guess in turn, each id once.
    Where the bytes fit two causes alike (one finding, two ids: a reply that skips ahead was drained
    or never sent), the test's own guesses order them."""
    guessed = [cause for guess in guesses for cause in guess]
    place = {cause: guessed.index(cause) if cause in guessed else len(guessed) for cause, _words in evidence}
    first = {words: i for i, (_cause, words) in reversed(list(enumerate(evidence)))}
    shown = sorted(evidence, key=lambda finding: (first[finding[1]], place[finding[0]]))
    ordered = [cause for cause, _words in shown] + guessed
    return [cause for place, cause in enumerate(ordered) if cause in CAUSES and cause not in ordered[:place]]


def lines(found: list[dict[str, Any]], short: dict[str, str]) -> list[str]:
    """The DIAGNOSIS section: each cause with its words, the tests that point to it (as `short`
    names them) and the evidence."""
    out = []
    for number, cause in enumerate(found, 1):
        catalog = CAUSES[cause["id"]]
        tests = [short.get(nodeid, nodeid) for nodeid in cause["tests"]]
        shown = ", ".join(tests[:4])
        if len(tests) > 4:
            more = len(tests) - 4
            shown = ngettext("{tests} and {more} more", "{tests} and {more} more", more).format(tests=shown, more=more)
        out.append(f"{number}. {cause['id']}: {_(catalog.words)}")
        if cause["evidence"]:
            out.append("   " + _("evidence: {evidence}").format(evidence=_(cause["evidence"])))
        out.append("   " + _("failed: {tests}").format(tests=shown))
        out.append("   " + _("usually: {line}   fix: {fix}").format(line=catalog.line, fix=_(catalog.fix)))
    return out


class Diagnosis:
    """Collects the failed tests' candidate causes as their reports arrive (on the controller under
    xdist), and prints the diagnosis at the end of the run."""

    def __init__(self) -> None:
        self.failed: list[FailedTest] = []
        self._short: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        meta = dict(report.user_properties).get("sockspec", {})
        if report.failed and meta.get("causes"):
            self.failed.append(FailedTest(report.nodeid, list(meta["causes"]), dict(meta.get("evidence", {}))))
            self._short[report.nodeid] = report.nodeid.split("::")[-1]

    def causes(self) -> list[dict[str, Any]]:
        return rank(self.failed)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        found = self.causes()
        if found:
            title = ngettext("DIAGNOSIS: the likely bug", "DIAGNOSIS: the likely bugs", len(found))
            # pytest counts characters: a Chinese title is wider than that, by one column for each.
            wider = report.width(title) - len(title)
            fullwidth = terminalreporter.config.get_terminal_writer().fullwidth - wider
            terminalreporter.section(title, sep="=", fullwidth=fullwidth)
            for line in lines(found, self._short):
                terminalreporter.write_line(line)
