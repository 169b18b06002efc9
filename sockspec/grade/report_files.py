"""The machine-readable reports: the class summary (JSON, CSV) and, per submission, Gradescope's
`results.json` and a JUnit `junit.xml`.

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

from sockspec.grade import class_page
from sockspec.grade.record import RECORD_FILE, Record
from sockspec.grade.scoring import NOT_RUN, PASSED

SUMMARY_COLUMNS = ["name", "verdict", "score", "max_score", "failed", "reason"]
OUTPUT_LIMIT = 16_000  # characters of failure details per test in results.json and junit.xml


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
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "\n[... cut: see junit.xml's source run]"


def gradescope(record: Record) -> dict[str, Any]:
    """Gradescope's autograder results format: the score, and one entry per test with its points."""
    tests = []
    for test in record.tests:
        if test.outcome == PASSED:
            output = "passed"
        elif test.outcome == NOT_RUN:
            output = f"not run: {record.reason}"
        else:
            output = _clip(test.details or test.summary or test.outcome)
        tests.append(
            {
                "name": test.name,
                "score": round(test.points, 4),
                "max_score": round(test.max_points, 4),
                "status": "passed" if test.outcome == PASSED else "failed",
                "output": output,
                "visibility": "visible",
            }
        )
    return {
        "score": record.score,
        "max_score": record.max_score,
        "execution_time": round(record.seconds, 1),
        "output": f"{record.verdict}: {record.reason}" + (f"\n{record.note}" if record.note else ""),
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
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
            ET.SubElement(case, "error", message=f"not run: {record.reason}")
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
