"""The corpus as data: find its programs, read their headers, run the spec on one, read the results.

Shared by `tests/test_corpus.py` (the meta-tests) and `tests/corpus/table.py`
(the mutation table), so both see exactly the same entries and run them the
same way.  Nothing here knows about servers or clients beyond two facts: a
server runs with `--impl`, a client with `--client`, each against the spec
folder of its role (`spec/server`, `spec/client`).
"""

from __future__ import annotations

import importlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sockspec import plugin, results_file, targets
from sockspec.causes import CAUSES
from tests import program_environment

CORPUS = Path(__file__).resolve().parent
ROOT = CORPUS.parents[1]
SEED = CORPUS / "seed"

ROLES = {"server": "servers", "client": "clients"}  # role -> its folder in the corpus
KINDS = ("buggy", "correct")
# A script runs under its interpreter as `cmd:INTERPRETER FILE {port}`; the other suffixes go to --impl as they are.
INTERPRETERS = {".sh": "/bin/sh", ".js": "node"}
SUFFIXES = (".c", ".cpp", ".cc", ".py", *INTERPRETERS)
RUN_OPTION = {"server": "--impl", "client": "--client"}

MODELS = targets.MODELS
REPLIES = ("echo", "stdin")
KEYS = {"model", "reply", "caught-by", "expect", "role", "binary", "causes", "diagnosed", "auto"}
# What `--model auto` finds a server to be, where that is not its declared model: the real model of one
# declared wrong on purpose, none where what it does fits no model, varies where its behaviour does.
AUTO_FINDS = (*MODELS, "none", "varies")
# `expect` records a finding instead of hiding it: a buggy program no spec test
# catches (gap), or a correct program the spec fails (false-alarm).  See the
# corpus README for what each does.  There is no "sometimes caught": a bug the
# spec catches only on some runs is a spec test to make deterministic.
EXPECTS = {"buggy": ("caught", "gap"), "correct": ("pass", "false-alarm")}

# A whole-spec run ends long before this (the slowest, against a broken server,
# takes about a minute); it only guards against a run that hangs, a harness bug
# worth reporting.  Below pytest-timeout's 300 s, so a meta-test stops its run
# itself rather than being killed with the run left behind.
RUN_LIMIT = 240.0

# The seed's programs are kept exactly as written, so their headers live here.
# They bind 192.168.153.128:19999 and answer from stdin; `patch_seed` makes
# them listen where the spec tells them, changing nothing else.
SEED_HEADERS = {
    "iterative.cpp": (
        "The seed's single-process server (section 5.2): it serves one client, then returns from main.\n"
        "\n"
        "Also: no SO_REUSEADDR, and recv(fd, buf, strlen(buf) - 1, 0) on a zeroed buffer asks for\n"
        "SIZE_MAX bytes, which fails with EFAULT whenever the stack lies within 2 GiB of the top of\n"
        "user space (about one start in nine, by address randomization): that server start then\n"
        "spins on `continue` and answers nobody, so more tests fail on some runs than on others.\n"
        "\n"
        "sockspec: model=iterative auto=none reply=stdin caught-by=test_serves_client_after_client,test_restart_on_same_port "
        "causes=exits-after-first-client,no-reuseaddr diagnosed=varies\n"
    ),
    "forking.cpp": (
        "The seed's multi-process server (section 6.2): its child never exits, it falls back into the accept loop.\n"
        "\n"
        "The child breaks out of its loop, closes the socket a second time and calls accept() on\n"
        "the listening socket it closed: EBADF, `continue`, forever, at full CPU.  Also: no\n"
        "SO_REUSEADDR, one wait() per SIGCHLD, and the same strlen(buf) - 1 recv as section 5:\n"
        "on the starts where it fails with EFAULT, every child spins on `continue` and answers\n"
        "nobody, so --model auto sees no client served and refuses it.\n"
        "\n"
        "sockspec: model=forking auto=varies reply=stdin caught-by=test_child_exits_and_is_reaped_after_its_client,"
        "test_no_cpu_after_clients_leave,test_restart_on_same_port causes=child-falls-into-accept,no-reuseaddr\n"
    ),
    "threaded.cpp": (
        "The seed's multi-threaded server (section 7.2): no SO_REUSEADDR, so it cannot restart at once.\n"
        "\n"
        "Its threads get their own stack buffer, far from the top of user space, so the\n"
        "strlen(buf) - 1 recv happens to work in them.\n"
        "\n"
        "sockspec: model=threaded reply=stdin caught-by=test_restart_on_same_port causes=no-reuseaddr\n"
    ),
    "client.cpp": (
        "The seed's client (sections 5.1, 6.1, 7.1): it calls recv() once per typed line, so nothing the "
        "server does between two lines is seen.\n"
        "\n"
        "While it waits in getline() it notices neither a close nor a reset; at end of input getline()\n"
        "fails at once, forever, and the client sends nothing and blocks in recv(), so the server never\n"
        "learns the user is done; recv(sockfd, buf, strlen(buf) - 1, 0) asks for SIZE_MAX bytes into a\n"
        "1024-byte buffer, so a longer reply overflows it; after a reset, the second line typed raises\n"
        "SIGPIPE and kills it.\n"
        "\n"
        "sockspec: reply=echo caught-by=test_server_closes_while_client_waits_for_input,test_reply_then_close,"
        "test_end_of_input_closes_the_connection,test_end_of_input_before_any_line,test_text_reply,"
        "test_reply_in_pieces,test_reset_instead_of_reply,test_reset_while_client_waits_for_input causes=waits-in-input,ignores-end-of-input\n"
    ),
}
SEED_ROLES = {"iterative.cpp": "server", "forking.cpp": "server", "threaded.cpp": "server", "client.cpp": "client"}


class HeaderError(Exception):
    """A corpus program's header is missing or malformed; the message says which and why."""


@dataclass(frozen=True)
class Entry:
    """One program of the corpus and what it claims."""

    path: Path  # the program as stored (for the seed: the unpatched original)
    name: str  # its path inside the corpus, e.g. servers/buggy/strlen_send.c
    role: str  # server or client
    kind: str  # buggy or correct
    description: str  # the header's first line
    model: str | None
    reply: str
    caught_by: tuple[str, ...]
    expect: str  # caught, gap, pass or false-alarm
    seed: bool = False
    binary: bool = False  # a client that claims to show any bytes (binary=yes; its plugin reads the header)
    causes: tuple[str, ...] = ()  # its bug's ids in sockspec.causes (buggy programs)
    # diagnosed=no records a run whose diagnosis misses its causes; =varies, one whose behaviour, and so
    # its diagnosis, changes from run to run (address randomization): both count as misses.
    diagnosed: str = "yes"
    auto: str | None = None  # what --model auto must find (servers): its model, unless auto= says otherwise

    @property
    def id(self) -> str:
        """A short, stable test id: seed/forking.cpp -> seed-forking, servers/buggy/x.c -> x.c."""
        return f"seed-{self.path.stem}" if self.seed else self.path.name

    @property
    def spec_dir(self) -> Path:
        return ROOT / "spec" / self.role

    def describe(self) -> str:
        bits = [b for b in (self.model, self.reply) if b]
        return f"{self.name} ({', '.join(bits)})"


# -- headers ------------------------------------------------------------------


def header_text(path: Path) -> str:
    """The leading docstring, block comment or `#` comment block of a program."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".py":
        match = re.match(r'\s*(?:#[^\n]*\n\s*)*(?:[rRbBuU]?)("""|\'\'\')(.*?)\1', text, re.S)
        return match.group(2) if match else ""
    if path.suffix == ".sh":
        lines = text.splitlines()
        if lines and lines[0].startswith("#!"):
            lines = lines[1:]
        block = []
        for line in lines:
            if not line.startswith("#"):
                break
            block.append(line[1:].strip())
        return "\n".join(block)
    match = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    if not match:
        return ""
    return "\n".join(line.strip().removeprefix("*").strip() for line in match.group(1).splitlines())


def parse_header(text: str, where: str) -> tuple[str, dict[str, str]]:
    """(first line, key=value pairs of the `sockspec:` line); HeaderError if either is missing."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines or not lines[0]:
        raise HeaderError(f"{where}: no header (a docstring or block comment whose first line names the bug)")
    first = lines[0]
    found = [line for line in lines if line.startswith("sockspec:")]
    if len(found) != 1:
        raise HeaderError(f"{where}: expected exactly one `sockspec:` line in the header, found {len(found)}")
    pairs = {}
    for item in found[0][len("sockspec:") :].split():
        key, sep, value = item.partition("=")
        if not sep or key not in KEYS:
            raise HeaderError(f"{where}: bad item {item!r} in the sockspec: line (keys: {', '.join(sorted(KEYS))})")
        if key in pairs:
            raise HeaderError(f"{where}: {key} given twice")
        pairs[key] = value
    return first, pairs


def make_entry(path: Path, name: str, role: str, kind: str, text: str, seed: bool = False) -> Entry:
    """Check a header against the rules of the corpus README and the spec folder of its role."""
    first, pairs = parse_header(text, name)
    if pairs.get("role", role) != role:
        raise HeaderError(f"{name}: role={pairs['role']} but the program sits in the {role}s' folder")
    model = pairs.get("model")
    if role == "server" and model not in MODELS:
        raise HeaderError(f"{name}: model= must be one of {', '.join(MODELS)}, not {model!r}")
    reply = pairs.get("reply", "echo")
    if reply not in REPLIES:
        raise HeaderError(f"{name}: reply= must be one of {', '.join(REPLIES)}, not {reply!r}")
    expect = pairs.get("expect", EXPECTS[kind][0])
    if expect not in EXPECTS[kind]:
        raise HeaderError(f"{name}: expect= for a {kind} program must be one of {', '.join(EXPECTS[kind])}")
    binary = pairs.get("binary", "no")
    if binary not in ("yes", "no"):
        raise HeaderError(f"{name}: binary= must be yes or no, not {binary!r}")
    caught_by = tuple(t for t in pairs.get("caught-by", "").split(",") if t)
    if kind == "correct" and caught_by:
        raise HeaderError(f"{name}: a correct program has no caught-by")
    if kind == "buggy" and expect != "gap" and not caught_by:
        raise HeaderError(f"{name}: a buggy program needs caught-by= (or expect=gap if no spec test catches it)")
    if expect == "gap" and caught_by:
        raise HeaderError(f"{name}: expect=gap means no spec test catches it, so it has no caught-by")
    catalog = spec_catalog(role)
    if catalog is not None:
        for test in caught_by:
            if test not in catalog:
                raise HeaderError(f"{name}: caught-by names {test}, which is not a test function of spec/{role}")
            if not catalog[test].applies(model, reply, binary == "yes"):
                raise HeaderError(f"{name}: {test} does not run for model={model} reply={reply} binary={binary}")
    causes = tuple(c for c in pairs.get("causes", "").split(",") if c)
    if unknown := [c for c in causes if c not in CAUSES]:
        raise HeaderError(f"{name}: causes= names {unknown[0]}, which is not a cause of sockspec.causes")
    if kind == "buggy" and not causes:
        raise HeaderError(f"{name}: a buggy program needs causes= (its bug's ids in sockspec.causes)")
    if kind == "correct" and (causes or "diagnosed" in pairs):
        raise HeaderError(f"{name}: a correct program has no causes= and no diagnosed=")
    if pairs.get("diagnosed", "yes") not in ("yes", "no", "varies"):
        raise HeaderError(f"{name}: diagnosed= must be yes, no or varies")
    auto = pairs.get("auto", model) if role == "server" else None
    if auto is not None and (auto not in AUTO_FINDS or "auto" in pairs and auto == model):
        raise HeaderError(f"{name}: auto= must be a model other than its own, none or varies, not {auto!r}")
    return Entry(path, name, role, kind, first, model, reply, caught_by, expect, seed, binary == "yes", causes,
                 pairs.get("diagnosed", "yes"), auto)  # fmt: skip


def corpus_files() -> list[tuple[Path, str, str]]:
    """Every program of the corpus folders, as (path, role, kind); the seed is not among them."""
    found = []
    for role, folder in ROLES.items():
        for kind in KINDS:
            directory = CORPUS / folder / kind
            if directory.is_dir():
                found += [(p, role, kind) for p in sorted(directory.iterdir()) if p.suffix in SUFFIXES]
    return found


def load(path: Path, role: str, kind: str) -> Entry:
    return make_entry(path, str(path.relative_to(CORPUS)), role, kind, header_text(path))


def seed_entries() -> list[Entry]:
    """The seed's programs that have a header above: all buggy."""
    return [
        make_entry(SEED / file, f"seed/{file}", SEED_ROLES[file], "buggy", text, seed=True)
        for file, text in SEED_HEADERS.items()
    ]


def discover(roles: tuple[str, ...] | None = None) -> tuple[list[Entry], list[str]]:
    """(entries, header errors): every program whose role has a spec folder, seed first."""
    entries: list[Entry] = []
    errors: list[str] = []
    try:
        entries += seed_entries()
    except HeaderError as error:
        errors.append(str(error))
    for path, role, kind in corpus_files():
        try:
            entries.append(load(path, role, kind))
        except HeaderError as error:
            errors.append(str(error))
    wanted = [e for e in entries if (roles is None or e.role in roles) and e.spec_dir.is_dir()]
    return wanted, errors


# -- the spec's test functions --------------------------------------------------


@dataclass(frozen=True)
class SpecTest:
    """One spec test function and the marks that say what it runs for."""

    name: str
    module: str
    marks: dict[str, tuple[str, ...]]  # models, replies, binary_safe: their arguments

    def applies(self, model: str | None, reply: str, binary: bool = False) -> bool:
        return plugin.applies(self.marks, model, reply, binary)


_CATALOGS: dict[str, dict[str, SpecTest] | None] = {}


def spec_catalog(role: str) -> dict[str, SpecTest] | None:
    """Every test function of spec/<role>, by name; None if that spec does not exist yet."""
    if role in _CATALOGS:
        return _CATALOGS[role]
    folder = ROOT / "spec" / role
    if not folder.is_dir():
        _CATALOGS[role] = None
        return None
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    catalog = {}
    for file in sorted(folder.glob("test_*.py")):
        module = importlib.import_module(f"spec.{role}.{file.stem}")
        module_marks = getattr(module, "pytestmark", [])
        module_marks = module_marks if isinstance(module_marks, list) else [module_marks]
        for name, function in vars(module).items():
            if not name.startswith("test_") or not callable(function):
                continue
            marks = [*module_marks, *getattr(function, "pytestmark", [])]
            # The closest mark wins, as for pytest's get_closest_marker: the function's, after the module's.
            chosen = {
                mark.name: tuple(mark.args) for mark in marks if mark.name in ("models", "replies", "binary_safe")
            }
            catalog[name] = SpecTest(name, file.stem, chosen)
    _CATALOGS[role] = catalog
    return catalog


def applicable_tests(entry: Entry) -> list[str]:
    catalog = spec_catalog(entry.role) or {}
    return sorted(t.name for t in catalog.values() if t.applies(entry.model, entry.reply, entry.binary))


# -- running the spec on one entry ----------------------------------------------


def patch_seed(source: Path, folder: Path) -> Path:
    """A copy of a seed program that binds the loopback address and the port in $PORT."""
    text = source.read_text(encoding="utf-8")
    patched = text.replace('"192.168.153.128"', '"127.0.0.1"').replace("htons(19999)", 'htons(atoi(getenv("PORT")))')
    copy = folder / source.name
    copy.write_text(patched, encoding="utf-8")
    return copy


def program(entry: Entry, scratch: Path) -> str:
    """What to pass to --impl/--client: the file itself, or a patched copy, or a cmd: for a script."""
    path = patch_seed(entry.path, scratch) if entry.seed else entry.path
    if path.suffix in INTERPRETERS:
        return f"cmd:{INTERPRETERS[path.suffix]} {path} {{port}}"
    return str(path)


def missing_interpreter(entry: Entry) -> str | None:
    """The interpreter a script needs that this machine lacks (node for a .js file), if any."""
    interpreter = INTERPRETERS.get(entry.path.suffix)
    return interpreter if interpreter and shutil.which(interpreter) is None else None


def command(
    entry: Entry,
    scratch: Path,
    results: Path,
    only: tuple[str, ...] = (),
    waits: dict[str, float] | None = None,
    model: str | None = None,
) -> list[str]:
    """The pytest command line that runs the spec (or only the tests named) against `entry`; with
    `model`, as that model, not its own (`auto`: only the model is found, no test runs)."""
    argv = [sys.executable, "-m", "pytest", RUN_OPTION[entry.role], program(entry, scratch)]
    if model or entry.model:
        argv += ["--model", model or entry.model]
    if model == targets.AUTO:
        argv += ["--collect-only"]
    argv += ["--reply", entry.reply, str(entry.spec_dir), "-q", "-p", "no:cacheprovider"]
    argv += ["-p", "no:xdist", "--sockspec-results", str(results)]
    for name, seconds in (waits or {}).items():
        argv += ["--sockspec-timeout", f"{name}={seconds:g}"]
    if only:
        argv += ["-k", " or ".join(only)]
    return argv


@dataclass(frozen=True)
class TestResult:
    nodeid: str
    function: str
    outcome: str  # passed, failed, error, skipped
    summary: str
    harness_error: bool  # failed with something other than a spec failure: a traceback of ours
    details: str = ""  # the whole failure message


@dataclass
class RunResult:
    """What one spec run against one entry showed."""

    entry: Entry
    returncode: int
    seconds: float
    tests: list[TestResult] = field(default_factory=list)
    startup_error: str = ""
    output: str = ""  # pytest's own output, for when nothing else explains a result
    timed_out: bool = False
    causes: list[str] = field(default_factory=list)  # the run's diagnosis: cause ids, most likely first
    found_model: str = "none"  # with --model auto: the model found, or none (startup_error says why)

    def diagnosis_misses(self) -> list[str]:
        """What the run's diagnosis gets wrong about the entry's declared causes ([] if right): its top
        cause must be one of them, and each of them must be named."""
        declared = self.entry.causes
        misses = [] if self.causes[:1] and self.causes[0] in declared else [f"top cause {self.causes[:1]}"]
        return misses + [f"{cause} not named" for cause in declared if cause not in self.causes]

    def failing(self) -> dict[str, list[TestResult]]:
        """Failed (or errored) cases, grouped by test function."""
        grouped: dict[str, list[TestResult]] = {}
        for test in self.tests:
            if test.outcome in ("failed", "error"):
                grouped.setdefault(test.function, []).append(test)
        return grouped

    def cases(self, function: str) -> list[TestResult]:
        return [t for t in self.tests if t.function == function]

    @property
    def passed(self) -> bool:
        """Every test ran and passed (or was skipped), and pytest agrees."""
        return self.returncode == 0 and not self.startup_error and not self.failing() and not self.timed_out

    @property
    def caught(self) -> bool:
        """The spec said no: some test failed, or the server could not even start."""
        return bool(self.failing() or self.startup_error or self.timed_out)

    def harness_errors(self) -> list[TestResult]:
        return [t for t in self.tests if t.harness_error]

    def compact_failures(self) -> str:
        """`test_a, test_b (2/8)`: failing functions, with failing/all cases when parametrized."""
        parts = []
        for function, failed in sorted(self.failing().items()):
            total = len(self.cases(function))
            parts.append(function if total == 1 else f"{function} ({len(failed)}/{total})")
        if self.startup_error:
            parts.append(f"does not start: {self.startup_error}")
        if self.timed_out:
            parts.append(f"run killed after {RUN_LIMIT:g} s")
        return ", ".join(parts)

    def failure_summaries(self, limit: int = 40) -> str:
        lines = [f"{t.nodeid.split('::')[-1]}: {t.summary}" for group in self.failing().values() for t in group]
        if self.startup_error:
            lines.insert(0, f"startup error: {self.startup_error}")
        if self.timed_out:
            lines.insert(0, f"the run did not finish within {RUN_LIMIT:g} s and was killed")
        if not lines and self.returncode != 0:
            lines = [f"pytest exited with status {self.returncode}:", *self.output.splitlines()[-30:]]
        return "\n".join(lines[:limit])


def function_of(nodeid: str) -> str:
    """spec/server/test_x.py::test_y[forking-echo-1B] -> test_y"""
    return nodeid.split("::")[-1].split("[")[0]


def read_results(entry: Entry, path: Path, returncode: int, seconds: float, output: str) -> RunResult:
    run = RunResult(entry, returncode, seconds, output=output)
    recorded = results_file.read(path)
    for record in recorded.tests.values():
        failed = record["outcome"] in ("failed", "error")
        run.tests.append(
            TestResult(
                record["nodeid"],
                function_of(record["nodeid"]),
                record["outcome"],
                record.get("summary", ""),
                failed and _is_harness_error(record),
                record.get("details", ""),
            )
        )
    if recorded.startup_error is not None:
        run.startup_error = recorded.startup_error.get("reason", "")
    run.causes = [cause["id"] for cause in recorded.causes]
    found = [t for t in recorded.targets if t.get("declared") == targets.AUTO]
    run.found_model = found[0]["model"] if found else "none"
    return run


def _is_harness_error(record: dict) -> bool:
    """A failure that is not a spec failure (nor the server failing to start): a bug of ours."""
    summary = record.get("summary", "")
    if summary.startswith("expected ") or "the server does not start" in summary:
        return False
    return "Traceback" in record.get("details", "") or "Error" in summary


def run(
    entry: Entry,
    only: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    waits: dict[str, float] | None = None,
    model: str | None = None,
    options: tuple[str, ...] = (),
) -> RunResult:
    """Run the spec (or only the test functions named) against `entry` in a pytest of its own.

    `waits` overrides named deadlines (`--sockspec-timeout NAME=SECONDS`); `model`, the program's
    own (see `command`); `options` are added to the command line as they are (`--lang zh_CN`).
    """
    with tempfile.TemporaryDirectory(prefix="sockspec-corpus-") as scratch_name:
        scratch = Path(scratch_name)
        results = scratch / "results.jsonl"
        argv = command(entry, scratch, results, only, waits, model) + list(options)
        started = time.monotonic()
        # Same process group as us: Ctrl-C reaches the run too, and it stops its servers.
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env if env is not None else program_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        timed_out = False
        try:
            output, _ = process.communicate(timeout=RUN_LIMIT)
        except subprocess.TimeoutExpired:
            timed_out = True
            output = _stop(process)
        except BaseException:
            _stop(process)  # interrupted ourselves: never leave a run (and its servers) behind
            raise
        seconds = time.monotonic() - started
        result = read_results(entry, results, process.returncode, seconds, output.decode("utf-8", "replace"))
        result.timed_out = timed_out
        return result


def _stop(process: subprocess.Popen) -> bytes:
    """End a pytest that ran too long: SIGTERM first, so it stops its servers itself."""
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


# A buggy program misses the deadlines its bug is about; waiting the spec's full,
# generous deadlines for that proves nothing more.  Only the deadlines for
# events are shortened (never a window in which nothing may happen), so a
# caught-by test can only fail sooner, never pass where the real spec fails;
# the table runs with the spec's own deadlines.
FAIL_FAST = {"reply": 1.0, "settle": 1.0, "exit": 1.0}


def prove_caught(
    entry: Entry, env: dict[str, str] | None = None, waits: dict[str, float] | None = FAIL_FAST
) -> tuple[RunResult, list[str]]:
    """Run a buggy entry's caught-by tests once; return the run and the caught-by tests that did not fail."""
    result = run(entry, only=entry.caught_by, env=env, waits=waits)
    failing = set(result.failing())
    return result, [test for test in entry.caught_by if test not in failing]
