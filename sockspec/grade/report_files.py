"""The machine-readable reports: the class summary (JSON, CSV) and, per submission, Gradescope's
`results.json` and a JUnit `junit.xml`; PrairieLearn's results.json for `grade-one`.

Each file is written to a temporary name and renamed into place, so an
interrupted grader never leaves half a report behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from sockspec import diagnosis
from sockspec.grade import class_page
from sockspec.grade.record import RECORD_FILE, Record, verdict_text
from sockspec.grade.scoring import NOT_RUN, PASSED, ScoredTest, outcome_text
from sockspec.i18n import N_, _

SUMMARY_COLUMNS = ["name", "verdict", "score", "max_score", "failed", "causes", "reason"]
OUTPUT_LIMIT = 16_000  # characters of failure details per test in results.json and junit.xml
# The labels of a failure's lines that a report adds, as sockspec.report's LABELS say them.
LIKELY_BUG, REPRODUCE = N_("LIKELY BUG"), N_("REPRODUCE")


def write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def summary(records: list[Record], graded: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """`graded` is record.graded_as(): role, model and reply."""
    return {**graded, "submissions": [r.summary_row() for r in records], **(extra or {})}


def summary_csv(records: list[Record]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for record in records:
        row = record.summary_row()
        row["failed"] = " ".join(row["failed"])
        row["causes"] = " ".join(row["causes"])
        writer.writerow([row[column] for column in SUMMARY_COLUMNS])
    return buffer.getvalue()


SUBMISSION_FILES = ("results.json", "junit.xml", "build.txt", "server.txt", "spec-output.txt", "grader-error.txt")


def write_class_reports(out: Path, records: list[Record], graded: dict[str, Any], extra: dict[str, Any]) -> None:
    """summary.json, summary.csv and report.html for `records`, whose folders are in `out`; `graded` is
    record.graded_as(): role, model and reply."""
    write_atomic(out / "summary.json", json.dumps(summary(records, graded, extra), indent=1))
    write_atomic(out / "summary.csv", summary_csv(records))
    files = {
        r.name: [f"{folder_name(r.name)}/{f}" for f in SUBMISSION_FILES if (out / folder_name(r.name) / f).exists()]
        for r in records
    }
    write_atomic(out / "report.html", class_page.render(records, graded, files))


def folder_name(name: str) -> str:
    """The folder of a submission's reports: its name, made safe for any file system."""
    return re.sub(r"[^\w.-]+", "_", name) or "_"


def _clip(text: str) -> str:
    return (
        text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "\n" + _("[... cut: see junit.xml's source run]")
    )


def feedback(record: Record, test: ScoredTest) -> str:
    """What a student reads for one test: why it failed, its likely bug and how to run it again."""
    if test.outcome == PASSED:
        return outcome_text(PASSED)
    if test.outcome == NOT_RUN:
        return _("not run: {reason}").format(reason=record.reason)
    lines = [test.details or test.summary or outcome_text(test.outcome)]
    for label, value in ((_(LIKELY_BUG), test.likely_bug), (_(REPRODUCE), test.reproduce)):
        if value and f"{label}:" not in lines[0]:
            lines.append(f"{label}: {value}")
    return _clip("\n".join(lines))


def headline(record: Record) -> str:
    """The verdict and its reason, the run's note, its DIAGNOSIS, and the first failure's likely bug
    and reproduction."""
    lines = [f"{verdict_text(record.verdict)}: {record.reason}"] + ([record.note] if record.note else [])
    if record.causes:
        names = {t.nodeid: t.name for t in record.tests}
        lines += ["", _("DIAGNOSIS"), *diagnosis.lines(record.causes, names), ""]
    first = next((t for t in record.tests if t.outcome not in (PASSED, NOT_RUN)), None)
    if first is not None:
        lines += [f"{_(label)}: {value}" for label, value in ((LIKELY_BUG, first.likely_bug),
                                                             (REPRODUCE, first.reproduce)) if value]  # fmt: skip
    return "\n".join(lines)


def gradescope(record: Record) -> dict[str, Any]:
    """Gradescope's results.json, with the fields Gradescope documents only: the score, and one
    entry per test with its points, status and visibility.  A submission that ran no test (it did
    not compile, or the grader failed on it) is one failed test worth every point, so Gradescope
    shows the reason where it shows tests and never a score out of nothing."""
    tests = [
        {
            "name": test.name,
            "score": round(test.points, 2),
            "max_score": round(test.max_points, 2),
            "status": "passed" if test.outcome == PASSED else "failed",
            "output": feedback(record, test),
            "visibility": test.visibility,
        }
        for test in record.tests
        if test.outcome != NOT_RUN or any(t.outcome != NOT_RUN for t in record.tests)
    ]
    if not tests:
        tests = [{"name": "sockspec: " + _("the submission could not be graded"), "score": 0.0,
                  "max_score": record.max_score, "status": "failed", "output": headline(record),
                  "visibility": "visible"}]  # fmt: skip
    return {
        "score": record.score,
        "execution_time": round(record.seconds),
        "output": headline(record),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def prairielearn(record: Record, grader_failed: bool = False) -> dict[str, Any]:
    """PrairieLearn's external grading results.json: a score from 0 to 1, and the tests with their
    points.  When the grader itself failed, the submission is not gradable (PrairieLearn then
    charges the student no attempt) and format_errors says why."""
    if grader_failed:
        return {"gradable": False, "score": 0, "message": headline(record), "format_errors": [record.reason]}
    return {
        "gradable": True,
        "score": round(record.score / record.max_score, 4) if record.max_score else 0.0,
        "message": headline(record),
        "output": "",
        "tests": [
            {
                "name": test.name,
                "points": round(test.points, 2),
                "max_points": round(test.max_points, 2),
                "message": test.summary,
                "output": feedback(record, test),
            }
            for test in record.tests
        ],
    }


def junit(record: Record) -> str:
    """A JUnit XML testsuite: failed tests carry the summary as message and the details as text."""
    failures = sum(t.outcome == "failed" for t in record.tests)
    errors = sum(t.outcome in ("error", NOT_RUN) for t in record.tests)
    suite = ET.Element(
        "testsuite",
        name=f"sockspec.{record.name}",
        tests=str(len(record.tests)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(sum(t.outcome == "skipped" for t in record.tests)),
        time=f"{sum(t.duration for t in record.tests):.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for key in ("verdict", "reason", "role", "model", "reply"):
        ET.SubElement(properties, "property", name=key, value=str(getattr(record, key)))
    ET.SubElement(properties, "property", name="score", value=f"{record.score:g}/{record.max_score:g}")
    for test in record.tests:
        case = ET.SubElement(
            suite, "testcase", classname=f"spec.{record.role}.{test.family}", name=test.name.split(": ", 1)[-1],
            time=f"{test.duration:.3f}",
        )  # fmt: skip
        if test.outcome == "failed":
            ET.SubElement(case, "failure", message=test.summary).text = _clip(test.details)
        elif test.outcome == "error":
            ET.SubElement(case, "error", message=test.summary).text = _clip(test.details)
        elif test.outcome == NOT_RUN:
            ET.SubElement(case, "error", message=_("not run: {reason}").format(reason=record.reason))
        elif test.outcome == "skipped":
            ET.SubElement(case, "skipped", message=test.summary)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def write_submission(folder: Path, record: Record) -> None:
    """The per-submission reports that are derived from the record alone."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "results.json", json.dumps(gradescope(record), indent=1))
    write_atomic(folder / "junit.xml", junit(record))
    write_atomic(folder / RECORD_FILE, json.dumps(record.to_json(), indent=1))
