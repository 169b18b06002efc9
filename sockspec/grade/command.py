"""`sockspec grade SUBMISSIONS --model M`: grade a class in parallel, resumably, and write its reports.

`--role client` grades a class of clients instead, with the client half of
the spec and everything else the same.

Exit status: 0 when every submission got a verdict (whatever the
verdicts), 2 for a usage error, 3 if the grader itself failed on some
submission (its report says so), 130 when interrupted.  An interrupted run
kills every sandbox and keeps the reports of the submissions that finished.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import queue
import re
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from sockspec.grade import options, report_files, sandbox
from sockspec.grade.discover import Submission, discover, shard
from sockspec.grade.isolation import Isolation
from sockspec.grade.job import Assignment, grade, internal_error, save
from sockspec.grade.progress import Progress, clock
from sockspec.grade.record import Record, graded_as
from sockspec.grade.report_files import folder_name
from sockspec.i18n import _, ngettext

INTERNAL_ERROR = 3
INTERRUPTED = 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sockspec grade", description="Grade every submission in a folder.")
    p.add_argument("submissions", type=Path, help="folder with one entry (file or folder) per student")
    p.add_argument("--out", type=Path, default=Path("grades"), help="where reports go (default ./grades)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    p.add_argument("--force", action="store_true", help="grade again even submissions that did not change")
    p.add_argument("--shard", metavar="K/N", help="grade only slice K of N (1-based), for batch systems")
    options.add_grading_options(p)
    return p


def parse_shard(text: str | None) -> tuple[int, int]:
    if text is None:
        return 1, 1
    k, sep, n = text.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise options.UsageError(f"--shard must be K/N with 1 <= K <= N, e.g. 2/8, not {text!r}")
    return int(k), int(n)


def main(argv: list[str] | None = None) -> int:
    err = sys.stderr
    try:
        args = options.parse(parser(), sys.argv[1:] if argv is None else argv)
        shard_index, shard_count = parse_shard(args.shard)
        if not args.submissions.is_dir():
            raise options.UsageError(f"{args.submissions} is not a folder")
        assignment, isolation = options.prepare(args)
    except options.UsageError as error:
        print(f"sockspec grade: {error}", file=err)
        return 2
    submissions = shard(discover(args.submissions, args.role), shard_index, shard_count)
    args.out.mkdir(parents=True, exist_ok=True)
    options.take_signals()
    if isolation.process_cap == "nproc" and args.jobs > 1:
        # One budget of processes for all jobs: a fork bomb would starve the submissions beside it.
        isolation.notes.append(
            _("with RLIMIT_NPROC shared, submissions are graded one at a time, not {jobs}").format(jobs=args.jobs)
        )
        args.jobs = 1
    try:
        return _grade_all(submissions, assignment, isolation, args, (shard_index, shard_count), err)
    finally:
        isolation.close()


def _grade_all(
    submissions: list[Submission], assignment: Assignment, isolation: Isolation, args: argparse.Namespace,
    shard_of: tuple[int, int], err,
) -> int:  # fmt: skip
    progress = Progress(len(submissions), err)
    for line in isolation.notes:
        progress.note(f"sockspec grade: {line}")
    grading = Grading(assignment, isolation, args.out, args.jobs, progress)
    todo = [sub for sub in submissions if not grading.reuse(sub, args.force)]
    status = grading.run(todo)
    progress.close()
    finished = [grading.records[s.name] for s in submissions if s.name in grading.records]
    if alike := all_failed_alike(finished):
        said = _("EVERY SUBMISSION FAILED THE SAME WAY: {reason}; check the grading set-up").format(reason=alike)
        progress.note(f"sockspec grade: {said}")
    extra = {"shard": f"{shard_of[0]}/{shard_of[1]}", "sandbox": isolation.describe()}
    graded = graded_as(assignment.role, assignment.model, assignment.reply)
    report_files.write_class_reports(args.out, finished, graded, extra)
    if status:
        done = ngettext(
            "interrupted after {done} of {total} submission in {time}",
            "interrupted after {done} of {total} submissions in {time}",
            len(submissions),
        )
    else:
        done = ngettext(
            "graded {done} of {total} submission in {time}", "graded {done} of {total} submissions in {time}",
            len(submissions),
        )  # fmt: skip
    done = done.format(done=len(finished), total=len(submissions), time=clock(time.monotonic() - progress.started))
    where = _("reports in {folder}/ (summary.json, summary.csv, report.html, and a folder per submission)")
    print(_("{done}; {where}").format(done=done, where=where.format(folder=args.out)), file=err)
    return status or (INTERNAL_ERROR if grading.failures else 0)


class Grading:
    """The submissions of one run, graded `jobs` at a time, each in a sandbox of its own slot."""

    def __init__(self, assignment: Assignment, isolation: Isolation, out: Path, jobs: int, progress: Progress) -> None:
        self.assignment = assignment
        self.isolation = isolation
        self.out = out
        self.jobs = jobs
        self.progress = progress
        self.records: dict[str, Record] = {}
        self.failures = 0  # submissions the grader itself failed on
        self.active = sandbox.Active()
        self._slots: queue.Queue[int] = queue.Queue()
        for slot in range(jobs):
            self._slots.put(slot)

    def reuse(self, sub: Submission, force: bool) -> bool:
        """Keep the report of a submission graded before with the same files and the same spec and
        options (re-scored with the current weights); False if it must be graded."""
        previous = Record.load(self.out / folder_name(sub.name))
        if (
            force
            or previous is None
            or (previous.digest, previous.fingerprint) != (sub.digest, self.assignment.fingerprint)
        ):
            return False
        self.records[sub.name] = _rescore(previous, self.assignment, self.out)
        self.progress.finished(self.records[sub.name], reused=True)
        return True

    def run(self, todo: list[Submission]) -> int:
        """Grade `todo`; 0, or INTERRUPTED after Ctrl-C (or SIGTERM) killed every sandbox still running,
        keeping the reports of those that finished."""
        scratch = Path(tempfile.mkdtemp(prefix="sockspec-grade-"))
        scratch.chmod(0o711)  # a job's uid reaches its own folders inside, and lists none
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grade")
        futures = {pool.submit(self._grade, sub, scratch): sub for sub in todo}
        try:
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=1.0)
                self.progress.tick()
                for future in done:
                    self._collect(future, futures[future])
            return 0
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
            self.progress.note("sockspec grade: " + _("interrupted: killing every submission still running"))
            self.active.cancel_all()
            pool.shutdown(wait=True, cancel_futures=True)
            # Reports finished just before the interrupt are kept, and counted.
            for future, sub in futures.items():
                if future.done() and not future.cancelled() and sub.name not in self.records:
                    self._collect(future, sub)
            return INTERRUPTED
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            sandbox.remove_tree(scratch)

    def _grade(self, sub: Submission, scratch: Path) -> Record:
        slot = self._slots.get()
        self.progress.starting(sub.name)
        try:
            return grade(sub, self.assignment, self.isolation, slot, self.out, scratch, self.active)
        finally:
            self._slots.put(slot)

    def _collect(self, future: concurrent.futures.Future, sub: Submission) -> None:
        try:
            record = future.result()
        except sandbox.Cancelled:
            return
        except Exception:  # a bug of ours must not cost the other students their grades
            self.failures += 1
            trace = traceback.format_exc()
            record = internal_error(sub, self.assignment, trace)
            save(record, self.out / folder_name(sub.name), {"grader-error.txt": trace.encode()})
        self.records[sub.name] = record
        self.progress.finished(record)


def all_failed_alike(records: list[Record]) -> str:
    """The one reason every one of several submissions got the verdict `error` for, numbers aside
    ('' if they did not): a broken set-up, more likely than a class that all made the same mistake."""
    if len(records) < 2 or any(r.verdict != "error" for r in records):
        return ""
    reasons = {re.sub(r"\d+", "N", r.reason.replace(r.name, "NAME")) for r in records}
    return records[0].reason if len(reasons) == 1 else ""


def _rescore(record: Record, assignment: Assignment, out: Path) -> Record:
    """An unchanged submission keeps its outcomes; its points follow the current weights."""
    outcomes = {t.nodeid: {"outcome": t.outcome, "summary": t.summary, "details": t.details, "duration": t.duration}
                for t in record.tests if t.outcome != "not run"}  # fmt: skip
    record.tests = assignment.tests(outcomes)
    report_files.write_submission(out / folder_name(record.name), record)
    return record


if __name__ == "__main__":
    sys.exit(main())
