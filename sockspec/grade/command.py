"""`sockspec grade SUBMISSIONS --model M`: grade a class in parallel, resumably, and write its report_files.

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
import hashlib
import os
import queue
import re
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from sockspec import timeouts
from sockspec.grade import report_files, sandbox
from sockspec.grade.cgroups import Limits
from sockspec.grade.discover import Submission, discover, shard
from sockspec.grade.isolation import Isolation, detect
from sockspec.grade.job import Assignment, grade, new_record, save
from sockspec.grade.progress import Progress, clock
from sockspec.grade.record import Record, graded_as
from sockspec.grade.report_files import folder_name
from sockspec.grade.scoring import WeightsError, applicable_tests, load_weights
from sockspec.paths import PACKAGE, PROJECT, SPEC
from sockspec.signals import take_back_ctrl_c
from sockspec.targets import MODELS, REPLIES

ROLES = ("server", "client")

INTERNAL_ERROR = 3
INTERRUPTED = 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sockspec grade", description="Grade every submission in a folder.")
    p.add_argument("submissions", type=Path, help="folder with one entry (file or folder) per student")
    p.add_argument("--role", default="server", choices=ROLES, help="grade servers (default) or clients")
    p.add_argument("--model", choices=MODELS, help="the server model the assignment asks for (servers: required)")
    p.add_argument("--reply", choices=REPLIES, help="servers: echo (default) or stdin, as for the spec")
    p.add_argument(
        "--client-binary", action="store_true", help="clients: grade the binary-safe tests too (every byte shown)"
    )
    p.add_argument("--out", type=Path, default=Path("grades"), help="where reports go (default ./grades)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    p.add_argument("--timeout", type=float, default=300.0, help="wall clock per submission, seconds (default 300)")
    p.add_argument("--weights", type=Path, help="TOML file with a [weights] table: family = points")
    p.add_argument("--force", action="store_true", help="grade again even submissions that did not change")
    p.add_argument("--shard", metavar="K/N", help="grade only slice K of N (1-based), for batch systems")
    p.add_argument("--max-processes", type=int, default=512, help="tasks per submission, threads included (512)")
    p.add_argument("--memory", type=int, default=1024, metavar="MIB", help="memory per submission in MiB (1024)")
    p.add_argument("--cpus", type=float, default=1.0, help="CPU cores per submission (1)")
    p.add_argument(
        "--disk",
        type=int,
        default=256,
        metavar="MIB",
        help="a submission's working folder, and each /tmp, in MiB (256)",
    )
    p.add_argument(
        "--sandbox-read", action="append", default=[], metavar="PATH", type=Path,
        help="a folder or file every submission may read, besides the system's (repeatable), e.g. /opt/jdk",
    )  # fmt: skip
    p.add_argument(
        "--sockspec-timeout", action="append", default=[], metavar="NAME=SECONDS", help="passed on to the spec"
    )
    p.add_argument("--sockspec-time-scale", type=float, default=1.0, metavar="FACTOR", help="passed on to the spec")
    p.add_argument("--no-namespaces", action="store_true", help="do not use namespaces (test the fallback)")
    p.add_argument("--no-cgroups", action="store_true", help="do not use cgroups (test the fallback)")
    return p


def parse_shard(text: str | None) -> tuple[int, int]:
    if text is None:
        return 1, 1
    k, sep, n = text.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise ValueError(f"--shard must be K/N with 1 <= K <= N, e.g. 2/8, not {text!r}")
    return int(k), int(n)


def fingerprint(model: str, reply: str, options: list[str], namespaces: bool, role: str = "server") -> str:
    """Of everything that decides test outcomes: the spec, the harness and the options."""
    if role == "server":
        digest = hashlib.sha256(repr((model, reply, options, namespaces)).encode())
        folders = [SPEC / "server", PACKAGE]
    else:
        digest = hashlib.sha256(repr((role, options, namespaces)).encode())
        folders = [SPEC / "client", PACKAGE, PACKAGE / "clientspec"]
    for folder in folders:
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def check_role(args: argparse.Namespace) -> None:
    """The options that belong to the other role are a usage error, not silently ignored."""
    if args.role == "server":
        if args.model is None:
            raise ValueError("--model is required for servers (iterative, forking or threaded)")
        if args.client_binary:
            raise ValueError("--client-binary is for --role client")
        args.reply = args.reply or "echo"
        return
    given = [option for option, value in (("--model", args.model), ("--reply", args.reply)) if value is not None]
    if given:
        raise ValueError(
            f"{' and '.join(given)} do{'es' if len(given) == 1 else ''} not apply to --role client: a client has no "
            "server model, and the spec plays its server"
        )
    args.model = args.reply = ""


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    err = sys.stderr
    try:
        check_role(args)
        shard_index, shard_count = parse_shard(args.shard)
        weights = load_weights(args.weights, args.role)
        waits = timeouts.Timeouts().with_overrides(timeouts.parse_overrides(args.sockspec_timeout))
        if args.sockspec_time_scale <= 0 or args.jobs < 1 or args.timeout <= 0 or args.disk < 1:
            raise ValueError("--sockspec-time-scale, --jobs, --timeout and --disk must be positive")
        if missing := [str(path) for path in args.sandbox_read if not path.exists()]:
            raise ValueError(f"--sandbox-read {missing[0]}: no such file or folder")
        waits = waits.scaled(args.sockspec_time_scale)
        if not args.submissions.is_dir():
            raise ValueError(f"{args.submissions} is not a folder")
    except (ValueError, WeightsError) as error:
        print(f"sockspec grade: {error}", file=err)
        return 2
    spec_options = [f"--sockspec-timeout={item}" for item in args.sockspec_timeout]
    spec_options.append(f"--sockspec-time-scale={args.sockspec_time_scale:g}")
    submissions = shard(discover(args.submissions, args.role), shard_index, shard_count)
    args.out.mkdir(parents=True, exist_ok=True)
    take_back_ctrl_c()
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # terminated like Ctrl-C: kill and keep reports
    isolation = detect(not args.no_namespaces, not args.no_cgroups)
    if isolation.process_cap == "nproc" and args.jobs > 1:
        # One budget of processes for all jobs: a fork bomb would starve the submissions beside it.
        isolation.notes.append(f"with RLIMIT_NPROC shared, submissions are graded one at a time, not {args.jobs}")
        args.jobs = 1
    try:
        decisive = spec_options + [str(args.timeout)] + (["--client-binary"] if args.client_binary else [])
        assignment = Assignment(
            project=PROJECT,
            model=args.model,
            reply=args.reply,
            timeout=args.timeout,
            limits=Limits(args.max_processes, args.memory << 20, args.cpus, args.disk << 20),
            waits=waits,
            spec_options=tuple(spec_options),
            weights=weights,
            applicable=tuple(applicable_tests(PROJECT, args.model, args.reply, args.role, args.client_binary)),
            fingerprint=fingerprint(args.model, args.reply, decisive, isolation.namespaces, args.role),
            role=args.role,
            binary=args.client_binary,
            readable=tuple(str(path.resolve()) for path in args.sandbox_read),
        )
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
        progress.note(f"sockspec grade: EVERY SUBMISSION FAILED THE SAME WAY: {alike}; check the grading set-up")
    extra = {"shard": f"{shard_of[0]}/{shard_of[1]}", "sandbox": isolation.describe()}
    graded = graded_as(assignment.role, assignment.model, assignment.reply)
    report_files.write_class_reports(args.out, finished, graded, extra)
    print(
        f"{'interrupted after' if status else 'graded'} {len(finished)} of {len(submissions)} submissions in "
        f"{clock(time.monotonic() - progress.started)}; reports in {args.out}/ "
        "(summary.json, summary.csv, report.html, and a folder per submission)",
        file=err,
    )
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
            self.progress.note("sockspec grade: interrupted: killing every submission still running")
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
            record = _internal_error(sub, self.assignment, self.out, traceback.format_exc())
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


def _internal_error(sub: Submission, assignment: Assignment, out: Path, trace: str) -> Record:
    reason = f"internal error of the grader: {trace.strip().splitlines()[-1][:200]}"
    record = new_record(sub, assignment, "error", reason)
    record.problem = reason
    record.tests = assignment.tests({})
    save(record, out / folder_name(sub.name), {"grader-error.txt": trace.encode()})
    return record


if __name__ == "__main__":
    sys.exit(main())
