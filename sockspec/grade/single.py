"""`sockspec grade-one SUBMISSION --model M --results FILE --format F`: one submission, for any platform.

Gradescope, PrairieLearn, GitHub Classroom, Autolab or a CI job hand over
one submission at a time and read one file of results.  This grades it as
`sockspec grade` grades each submission of a class (the same sandbox,
options and points) and writes that file in the platform's format:
Gradescope's `results.json`, PrairieLearn's `results.json`, JUnit XML, or
the grader's own record as JSON.  What it printed goes to the platform's
log, for the instructor: the verdict, and the sandbox's fallbacks.

Exit status: 0 when the submission got a verdict (whatever it is), 2 for a
usage error, 3 when the grader itself failed on it (the results file then
says so, and never blames the student), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from sockspec.grade import discover, options, report_files, sandbox
from sockspec.grade.job import grade, internal_error
from sockspec.grade.record import Record, verdict_text
from sockspec.grade.scoring import outcome_text
from sockspec.report import pad

# Each writes the record, and whether the grader itself failed on it, in one platform's format.
FORMATS: dict[str, Callable[[Record, bool], str]] = {
    "gradescope": lambda record, _failed: json.dumps(report_files.gradescope(record), indent=1),
    "prairielearn": lambda record, failed: json.dumps(report_files.prairielearn(record, failed), indent=1),
    "junit": lambda record, _failed: report_files.junit(record),
    "json": lambda record, _failed: json.dumps(record.to_json(), indent=1),
}
INTERNAL_ERROR = 3
INTERRUPTED = 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sockspec grade-one", description="Grade one submission for a platform.")
    p.add_argument("submission", type=Path, help="the submission: a source file, or a folder (with a run script)")
    p.add_argument("--results", type=Path, required=True, help="the file the platform reads the results from")
    p.add_argument("--format", choices=FORMATS, default="gradescope", help="that file's format (default gradescope)")
    options.add_grading_options(p)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = options.parse(parser(), sys.argv[1:] if argv is None else argv)
        if not args.submission.exists():
            raise options.UsageError(f"{args.submission}: no such file or folder")
        assignment, isolation = options.prepare(args)
    except options.UsageError as error:
        print(f"sockspec grade-one: {error}", file=sys.stderr)
        return 2
    options.take_signals()
    try:
        for line in isolation.notes:
            print(f"sockspec grade-one: {line}", flush=True)
        sub = discover.single(args.submission, args.role)
        status = 0
        with tempfile.TemporaryDirectory(prefix="sockspec-grade-one-") as scratch_name:
            scratch = Path(scratch_name)
            scratch.chmod(0o711)  # the job's uid reaches its own folders inside, and lists none
            try:
                record = grade(sub, assignment, isolation, 0, scratch / "reports", scratch, sandbox.Active())
            except KeyboardInterrupt:
                return INTERRUPTED
            except Exception:  # a bug of ours: said as such, never as the student's verdict
                record = internal_error(sub, assignment, traceback.format_exc())
                status = INTERNAL_ERROR
    finally:
        isolation.close()
    _write(args.results, FORMATS[args.format](record, status == INTERNAL_ERROR))
    _log(record)
    return status


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    report_files.write_atomic(path, text)


def _log(record: Record) -> None:
    """What the platform's log (the instructor's view) shows: the verdict, then each test that did not pass."""
    print(f"{record.name}: {verdict_text(record.verdict)} {record.score:g}/{record.max_score:g}: {record.reason}")
    for test in record.tests:
        if test.outcome != "passed":
            print(f"  {pad(outcome_text(test.outcome), 9)}{test.name}: {test.summary}")
