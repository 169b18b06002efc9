"""Grade one submission end to end: copy, build, probe where it listens or connects, run the spec,
score, report.

The submission is copied into a scratch folder first: it runs there, may
write there, and cannot touch the class folder.  C and C++ are compiled
outside the sandbox (a build failure is a verdict, with the compiler's
messages); everything the student wrote runs only inside it.  The spec
itself also runs inside, as the same sandbox's child, so the spec's client
(grading a server) or the spec's server (grading a client) shares the
submission's network namespace and its hard-coded address.  Servers and
clients go through the same steps; `Assignment.role` says which half of the
spec runs and how the program is told where to go.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sockspec import build, results_file
from sockspec.grade import address, report_files
from sockspec.grade.cgroups import Limits
from sockspec.grade.discover import Submission
from sockspec.grade.isolation import Isolation
from sockspec.grade.record import BUILD_OUTPUT_LIMIT, Record, judge
from sockspec.grade.report_files import folder_name
from sockspec.grade.sandbox import Active, Cancelled, GraderFault, Sandbox
from sockspec.grade.scoring import ScoredTest, client_selection, score
from sockspec.i18n import _
from sockspec.process_tree import describe_exit
from sockspec.timeouts import Timeouts

PROBE_PORT = 40000  # the port a program is told when probed; any port works in a fresh namespace
PROBE_HOST = "127.0.0.1"  # the host a client is told when probed (not local there: see sandbox_init)
OUTPUT_CAP = 1 << 20  # bytes kept of the spec's output and of the servers' output, per submission


@dataclass(frozen=True)
class Assignment:
    """What every submission of one grading run shares."""

    project: Path  # holds spec/server and spec/client
    model: str  # a server's; '' for a client
    reply: str  # a server's; '' for a client
    timeout: float  # wall clock for one submission's probe and spec run
    limits: Limits
    waits: Timeouts  # the spec's waits: start bounds the probe, build the compiler
    spec_options: tuple[str, ...]  # --sockspec-timeout, --sockspec-time-scale and --lang, passed on
    weights: dict[str, float]
    applicable: tuple[str, ...]  # the spec's test ids for this model and reply, or for a client
    fingerprint: str
    role: str = "server"  # server (spec/server) or client (spec/client)
    binary: bool = False  # a client: its binary-safe tests are graded too
    readable: tuple[str, ...] = ()  # host paths every submission may read (--sandbox-read)
    visibility: dict[str, str] = field(default_factory=dict)  # family -> Gradescope's, where not 'visible'

    @property
    def label(self) -> str:
        """The parameters every test id carries (`threaded-echo`), left out of test names."""
        return f"{self.model}-{self.reply}" if self.role == "server" else ""

    @property
    def arguments(self) -> list[str]:
        """What the program is told last on its command line (and in its environment)."""
        return ["{port}"] if self.role == "server" else ["{host}", "{port}"]

    def tests(self, results: dict[str, dict]) -> list[ScoredTest]:
        return score(list(self.applicable), results, self.weights, self.label, self.visibility)


def grade(
    sub: Submission, assignment: Assignment, isolation: Isolation, slot: int, out: Path, scratch: Path, active: Active
) -> Record:
    """Grade `sub` and write its reports to `out`/<name>; raises sandbox.Cancelled on interruption."""
    started = time.monotonic()
    record = new_record(sub, assignment)
    record.fingerprint = assignment.fingerprint
    work = scratch / f"{slot}-{folder_name(sub.name)}"  # the slot keeps two look-alike names apart
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    files: dict[str, bytes] = {}
    try:
        _grade_into(record, sub, assignment, isolation, slot, work, files, active)
    finally:
        record.seconds = time.monotonic() - started
        for name in ("server.txt", "spec-output.txt"):
            if (work / name).exists():
                files.setdefault(name, _capped(work / name))
        shutil.rmtree(work, ignore_errors=True)
    if active.cancelled:
        raise Cancelled()  # whatever it got (a compiler killed by Ctrl-C) is no verdict
    save(record, out / folder_name(sub.name), files)
    return record


def new_record(sub: Submission, assignment: Assignment, verdict: str = "error", reason: str = "") -> Record:
    return Record(sub.name, sub.kind, assignment.model, assignment.reply, verdict, reason, digest=sub.digest,
                  role=assignment.role)  # fmt: skip


def internal_error(sub: Submission, assignment: Assignment, trace: str) -> Record:
    """The record of a submission the grader itself failed on: its verdict says so, in one line,
    and never blames the student; every test is 'not run'."""
    reason = _("internal error of the grader: {error}").format(error=trace.strip().splitlines()[-1][:200])
    record = new_record(sub, assignment, "error", reason)
    record.problem = reason
    record.tests = assignment.tests({})
    return record


def save(record: Record, folder: Path, files: dict[str, bytes]) -> None:
    """Write every report of one submission into a fresh folder, then swap it in whole."""
    fresh = folder.with_name(f".{folder.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    report_files.write_submission(fresh, record)
    for name, data in files.items():
        (fresh / name).write_bytes(data)
    old = folder.with_name(f".{folder.name}.old")
    if folder.exists():
        os.replace(folder, old)
    os.replace(fresh, folder)
    shutil.rmtree(old, ignore_errors=True)


def _grade_into(
    record: Record, sub: Submission, assignment: Assignment, isolation: Isolation, slot: int, work: Path,
    files: dict[str, bytes], active: Active,
) -> None:  # fmt: skip
    if sub.problem or sub.program is None:
        _error(record, assignment, sub.problem or _("nothing to run"))
        return
    hints = address.scan([(p.suffix, p.read_text(errors="replace")) for p in sub.sources])
    role = address.ROLES[assignment.role]
    if role is address.CLIENT and not isolation.namespaces and (unsafe := _reaches_out(hints)):
        _error(record, assignment, unsafe)
        return
    job = f"job-{slot}-{folder_name(sub.name)}"
    with Sandbox(isolation, slot, work, assignment.limits, job, active, assignment.readable) as sandbox:
        _stage(sub, sandbox.staged)
        program = _program(sub, sandbox.box, assignment, sandbox, record, files)
        if program is None:
            return
        deadline = time.monotonic() + assignment.timeout
        placement = address.Placement(fixed_option=role.fixed_option)
        if isolation.namespaces:
            env = dict(_environment(), PORT=str(PROBE_PORT), HOST=PROBE_HOST, PYTHONUNBUFFERED="1")
            argv = [part.replace("{host}", PROBE_HOST).replace("{port}", str(PROBE_PORT)) for part in program.argv]
            wait = min(assignment.waits.start, assignment.timeout)
            seen = sandbox.probe(argv, env, wait, role.name)
            placement = address.place(seen, PROBE_PORT, hints, wait, role)
            if placement.problem:
                _error(record, assignment, placement.problem + _cap_notes(sandbox.events(), assignment.limits))
                return
            record.note = placement.note
        outcome = sandbox.run(
            _spec_argv(program, work, assignment, placement),
            _spec_env(work),
            placement.loopback,
            work / "spec-output.txt",
            max(1.0, deadline - time.monotonic()),
        )
        events = sandbox.events()
        starved = sandbox.starved()
    found = results_file.read(work / "results.jsonl")
    files["results.jsonl"] = _capped(work / "results.jsonl", 16 * OUTPUT_CAP)
    startup = found.startup_error
    if startup is not None:
        reason = _("does not start: {reason}").format(reason=startup["reason"])
        _error(record, assignment, reason + _cap_notes(events, assignment.limits))
        return
    if not found.started and not outcome.timed_out and not starved:
        raise GraderFault(f"the spec run did not start (exit status {outcome.status}): "
                          f"{_capped(work / 'spec-output.txt').decode(errors='replace')[-4000:]}")  # fmt: skip
    record.tests = assignment.tests(found.tests)
    ended_early = ""
    if not outcome.timed_out and not found.ended:
        how = describe_exit(_as_returncode(outcome.status), "it")
        ended_early = _("the spec run ended before its last test: {how}").format(how=how)
    elif found.ended and found.exitstatus not in (0, 1) and not starved:
        raise GraderFault(f"the spec run ended with status {found.exitstatus}: "
                          f"{_capped(work / 'spec-output.txt').decode(errors='replace')[-4000:]}")  # fmt: skip
    record.causes = found.causes
    record.verdict, record.reason = judge(
        record.tests, outcome.timed_out, assignment.timeout, ended_early, found.causes
    )
    record.reason += _cap_notes(events, assignment.limits)


@dataclass(frozen=True)
class Program:
    """How the submission's program starts, inside its sandbox, and what a student calls it."""

    argv: list[str]  # ends with {port}, or {host} {port}
    impl: str  # the spec's --impl (or --client) for it
    name: str  # what its reports call it: the student's own file, as they handed it in


def _stage(sub: Submission, staged: Path) -> None:
    """The grader's copy of the submission, from which each of its sandbox's launches starts afresh."""
    shutil.rmtree(staged, ignore_errors=True)
    if sub.path.is_dir():
        shutil.copytree(sub.path, staged, symlinks=True)
    else:
        staged.mkdir()
        shutil.copy2(sub.path, staged / sub.path.name)
    if sub.kind == "run":
        run = staged / "run"
        run.chmod(run.stat().st_mode | 0o755)  # unzipping often loses the x bit


def _program(
    sub: Submission, box: Path, assignment: Assignment, sandbox: Sandbox, record: Record, files: dict[str, bytes]
) -> Program | None:
    """How to start the program, building it first (in its sandbox); None after a build failure verdict."""
    assert sub.program is not None
    relative = sub.program.relative_to(sub.path.parent if sub.path.is_file() else sub.path)
    told = assignment.arguments
    if sub.kind == "run":
        return Program([str(box / relative), *told], f"cmd:exec {box / relative} {' '.join(told)}",
                       f"cmd:./run {' '.join(told)}")  # fmt: skip
    if sub.kind == "python":
        return Program([sys.executable, str(box / relative), *told], str(box / relative), str(relative))
    binary = _build(sub, box / relative, assignment, sandbox, record, files)
    if binary is None:
        return None
    return Program([str(binary), *told], f"cmd:exec {binary} {' '.join(told)}", str(relative))


def _build(
    sub: Submission, source: Path, assignment: Assignment, sandbox: Sandbox, record: Record, files: dict[str, bytes]
) -> Path | None:
    """Compile the submission's C or C++ source inside its sandbox (cached by content); its binary,
    or None after a build failure verdict."""
    assert sub.program is not None
    data = sub.program.read_bytes()
    binary = sandbox.bin / source.stem
    cached = build.cached(source.suffix, data, source.stem)
    if cached is not None:
        place_binary(cached.binary, binary)
        output = cached.compiler_output
    else:
        made = source.with_name(f".sockspec-build-{source.stem}")
        argv = build.command(source.suffix, source, made)
        built = sandbox.build(argv, _environment(), str(made), binary.name, assignment.waits.build)
        output = built.output.replace(f"{sandbox.box}/", "")
        if built.timed_out:
            output += (
                "\n"
                + _("error: the compiler did not finish within {seconds:g} s").format(seconds=assignment.waits.build)
                + "\n"
            )
        if not built.ok:
            files["build.txt"] = output.encode()
            record.build_output = output[:BUILD_OUTPUT_LIMIT]
            first = build.BuildError(source, output).first_error
            _error(record, assignment, _("does not compile: {error}").format(error=first))
            return None
        build.store(source.suffix, data, binary, output, source.stem)
    files["build.txt"] = (output or _("compiled without messages") + "\n").encode()
    return binary


def place_binary(source: Path, target: Path) -> None:
    """Copy a binary that another job may start at once, by a `cp` of its own.  Written from this
    process, the target's open descriptor would be inherited by whatever another grading thread
    forks meanwhile, and the binary's exec fails (ETXTBSY, 'exited with status 126') until that
    child execs in its turn: a race that gave an innocent submission an error verdict."""
    subprocess.run(["cp", "--", str(source), str(target)], check=True, stdin=subprocess.DEVNULL)
    target.chmod(0o755)


def _as_returncode(status: int | None) -> int:
    """A status as sandbox_init reports it (128 + N for death by signal N) as Popen.returncode says it."""
    return -(status - 128) if status is not None and status > 128 else status or 0


def _reaches_out(hints: address.Hints) -> str:
    """Why a client may not run without a network namespace of its own: its source names an address
    off this machine, where its connect() would go on the real network; '' if it names none."""
    elsewhere = [a for a in hints.addresses if not a.startswith("127.") and a != "0.0.0.0"]
    if not elsewhere:
        return ""
    return _(
        "its source names the address {address}, and without network namespaces the grader does not "
        "run a client that may connect there"
    ).format(address=elsewhere[0])


def _spec_argv(program: Program, work: Path, assignment: Assignment, placement: address.Placement) -> list[str]:
    """The spec run: privileged, isolated from any folder and environment (-I), writing no bytecode
    (-B); the programs it starts are confined by the job's confine.json."""
    if assignment.role == "server":
        chosen = ["--impl", program.impl, "--impl-name", program.name, "--model", assignment.model,
                  "--reply", assignment.reply, "--server-log", str(work / "server.txt")]  # fmt: skip
    else:
        chosen = ["--client", program.impl, "--client-name", program.name, *client_selection(assignment.binary)]
    return [
        sys.executable, "-I", "-B", "-m", "pytest", str(assignment.project / "spec" / assignment.role), "-q",
        "-p", "no:cacheprovider", *chosen, "--sockspec-results", str(work / "results.jsonl"),
        "--sockspec-confine", str(work / "confine.json"), *placement.address_option, *assignment.spec_options,
    ]  # fmt: skip


# What a submission and the spec inside its sandbox see of the grader's environment.  Nothing
# else: a CI token must not end up in a student's server output, and PYTEST_ADDOPTS=-n auto
# must not reach the spec run.
PASSED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


def _environment() -> dict[str, str]:
    return {k: os.environ[k] for k in PASSED_ENVIRONMENT if k in os.environ}


def _spec_env(work: Path) -> dict[str, str]:
    """The harness's: its temporary files and hypothesis's in the job's folder, out of the programs' view."""
    (work / "tmp").mkdir(exist_ok=True)
    return dict(_environment(), HOME=str(work), TMPDIR=str(work / "tmp"),
                HYPOTHESIS_STORAGE_DIRECTORY=str(work / ".hypothesis"))  # fmt: skip


def _error(record: Record, assignment: Assignment, reason: str) -> None:
    record.verdict, record.reason, record.problem = "error", reason, reason
    record.tests = assignment.tests({})


def _cap_notes(events: dict[str, int], limits: Limits) -> str:
    notes = ""
    if events.get("process_cap_hits"):
        notes += " " + _("(it hit the cap of {count} processes: a fork bomb?)").format(count=limits.max_processes)
    if events.get("oom_kills"):
        notes += " " + _("(the memory cap of {mib} MiB killed a process)").format(mib=limits.memory_bytes >> 20)
    return notes


def _capped(path: Path, cap: int = OUTPUT_CAP) -> bytes:
    """The file's first `cap` bytes, with a note if there was more."""
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError:
        return b""
    if len(data) > cap:
        return data[:cap] + ("\n[" + _("sockspec grade: cut at {mib} MiB").format(mib=cap >> 20) + "]\n").encode()
    return data


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in _capped(path).decode(errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else _("it printed nothing")
