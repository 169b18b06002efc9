"""The pytest layer both halves of the spec stand on: the options they share, the results, the failures.

Three plugins are registered as pytest11 entry points: this one, and one
per half (`serverspec.plugin`, `clientspec.plugin`), each built on this
layer and neither reaching into the other.  This one owns what both halves
mean the same way:

- the options `--host`, `--sockspec-timeout`, `--sockspec-time-scale`,
  `--sockspec-results` and `--sockspec-confine` (`common` reads them once),
  and `--lang`, the language every failure speaks (`sockspec.i18n`);
- a run from any folder (`invocation.anchor`), hypothesis's files kept out
  of the user's folder, and Ctrl-C, however the run was started;
- the markers every spec test may carry: `behaviour` and `likely_bug`;
- the results file, and a program that cannot start: one line and exit
  status 4 (`startup_failed`);
- a failure's message: the half's handle of the test says what is its own
  (`FailureParts`), and this layer lays it out (`sockspec.report`).
"""

from __future__ import annotations

import inspect
import json
import os
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Protocol

import pytest

from sockspec import diagnosis, evidence, i18n, invocation, paths, report, timeouts
from sockspec.causes import CAUSES
from sockspec.diagnosis import Diagnosis
from sockspec.failure import Hint, SpecFailure, Transcript
from sockspec.i18n import _
from sockspec.report import FailureParts
from sockspec.results_file import ResultsFile, family_of
from sockspec.signals import take_back_ctrl_c
from sockspec.timeouts import Patience

HOST_HELP = "address the server is told to listen on and the spec connects to (default 127.0.0.1; ::1 for IPv6)"
TIMEOUT_HELP = f"override one named wait, NAME=SECONDS; names: {', '.join(timeouts.DOCS)} (repeatable)"
SCALE_HELP = "multiply every wait by FACTOR, for slow or loaded machines (default 1)"
RESULTS_HELP = "write one JSON line per test to this file as the run goes (for graders)"
CONFINE_HELP = (
    "run every program under test under the command prefix in this JSON file (a list of strings): "
    "the sandbox of sockspec grade"
)
LANG_HELP = "the language of failures and the diagnosis: {} (default: from LANGUAGE, LC_ALL, LC_MESSAGES, LANG)"
DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Common:
    """What the command line asked of both halves."""

    timeouts: timeouts.Timeouts
    host: str
    wrapper: tuple[str, ...]  # what every program under test runs under (--sockspec-confine)
    timing_options: str  # --sockspec-timeout and --sockspec-time-scale as given, for a reproduce command


class Describes(Protocol):
    """A half's handle of one test, as this layer sees it."""

    patience: Patience
    transcript: Transcript

    def failure_parts(self, failure: SpecFailure) -> FailureParts: ...


COMMON = pytest.StashKey[Common]()
RESULTS = pytest.StashKey[ResultsFile]()
HANDLE = pytest.StashKey[Describes]()
FAILURE = pytest.StashKey[SpecFailure]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sockspec", "sockspec: the program under test")
    group.addoption("--host", default=DEFAULT_HOST, help=HOST_HELP)
    group.addoption("--sockspec-timeout", action="append", default=[], metavar="NAME=SECONDS", help=TIMEOUT_HELP)
    group.addoption("--sockspec-time-scale", type=float, default=1.0, metavar="FACTOR", help=SCALE_HELP)
    group.addoption("--sockspec-results", metavar="FILE", help=RESULTS_HELP)
    group.addoption("--sockspec-confine", metavar="FILE", help=CONFINE_HELP)
    languages = i18n.languages()
    group.addoption("--lang", choices=languages, help=LANG_HELP.format(", ".join(languages)))
    parser.addini("sockspec_timeouts", TIMEOUT_HELP, type="args", default=[])


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """`pytest --impl X` runs as if started where the spec is, from any folder (see `invocation`)."""
    invocation.anchor(early_config, parser, args)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "behaviour(text, notes, checks_replies): the behaviour a spec module checks, the section of the notes it "
        "comes from, and whether its tests are about the replies themselves",
    )
    config.addinivalue_line(
        "markers", "likely_bug(text, causes): the usual cause when this test fails, and its ids in sockspec.causes"
    )
    i18n.use(config.getoption("lang") or i18n.from_environment())
    config.stash[COMMON] = _common(config)
    # hypothesis keeps files (its cache of constants) in ./.hypothesis: not in the user's folder.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(paths.user_cache("hypothesis")))
    take_back_ctrl_c()  # Ctrl-C stops the run, and the programs it starts, however it was started
    if hasattr(config, "workerinput"):
        return  # the controller collects the reports and writes what the run found
    found = Diagnosis()
    config.pluginmanager.register(found, "sockspec-diagnosis")
    if config.getoption("sockspec_results"):
        results = ResultsFile(Path(config.getoption("sockspec_results")), found)
        config.stash[RESULTS] = results
        config.pluginmanager.register(results, "sockspec-results")


def common(config: pytest.Config) -> Common:
    return config.stash[COMMON]


def _common(config: pytest.Config) -> Common:
    try:
        overrides = timeouts.parse_overrides(
            [*config.getini("sockspec_timeouts"), *config.getoption("sockspec_timeout")]
        )
        scale = config.getoption("sockspec_time_scale")
        if scale <= 0:
            raise ValueError("--sockspec-time-scale must be positive")
        waits = timeouts.Timeouts().with_overrides(overrides).scaled(scale)
        wrapper = _confinement(config.getoption("sockspec_confine"))
    except ValueError as error:
        raise pytest.UsageError(f"sockspec: {error}") from None
    timing = [f"--sockspec-timeout {shlex.quote(item)}" for item in config.getoption("sockspec_timeout")]
    if scale != 1.0:
        timing.append(f"--sockspec-time-scale {scale:g}")
    return Common(waits, config.getoption("host"), wrapper, "".join(f" {option}" for option in timing))


def _confinement(path: str | None) -> tuple[str, ...]:
    """The command prefix of --sockspec-confine; ValueError if the file is not a list of strings."""
    if not path:
        return ()
    try:
        prefix = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"--sockspec-confine {path}: {error}") from None
    if not isinstance(prefix, list) or not all(isinstance(part, str) for part in prefix):
        raise ValueError(f"--sockspec-confine {path}: not a JSON list of strings")
    return tuple(prefix)


def applies(marks: Mapping[str, tuple[str, ...]], model: str | None, reply: str, binary: bool = True) -> bool:
    """Does a test with these marks run for a server of this model and reply mode (model None: a
    client), and for a client that claims, or not, to be binary-safe?  The one definition: the
    server half deselects by it, the corpus checks its headers by it, and the grader's list of
    applicable tests is a collection that used it."""
    models, replies = marks.get("models"), marks.get("replies")
    model_ok = models is None or model is None or model in models
    return model_ok and (replies is None or reply in replies) and (binary or "binary_safe" not in marks)


def host_option(config: pytest.Config) -> str:
    """` --host H` when it is not the default, for a reproduce command."""
    host = config.getoption("host")
    return f" --host {shlex.quote(host)}" if host != DEFAULT_HOST else ""


def parse_address(value: str, option: str, config: pytest.Config) -> tuple[str, int]:
    """HOST:PORT of --address or --client-address; ValueError if it is not one, or with -n."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise ValueError(f"{option} must be HOST:PORT, e.g. 192.168.153.128:19999, not {value!r}")
    if getattr(config.option, "numprocesses", None):
        raise ValueError(f"{option} runs one program at a time: it cannot be combined with -n")
    return host.strip("[]"), int(port)


def startup_failed(config: pytest.Config, reason: str, output: list[str]) -> NoReturn:
    """The program cannot start: the results file says why, and pytest prints this one message and
    nothing else, and exits with status 4 (a usage error), instead of failing every test alike."""
    results = config.stash.get(RESULTS, None)
    if results is not None:
        results.write("startup_error", reason=reason, output=output)
        results.pytest_sessionfinish(pytest.ExitCode.USAGE_ERROR)
    details = "".join(f"\n  | {line}" for line in output)
    raise pytest.UsageError(f"sockspec: {reason}{details}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    if call.when == "teardown":
        _drop_hypothesis_patch(item)
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    behaviour = item.get_closest_marker("behaviour")
    meta = {"family": family_of(item), "behaviour": _(behaviour.args[0]) if behaviour else ""}
    rep.user_properties.append(("sockspec", meta))
    handle = item.stash.get(HANDLE, None)
    if handle is None or call.excinfo is None or not rep.failed or not call.excinfo.errisinstance(SpecFailure):
        return  # anything but a spec failure is a bug of ours or of the test: keep the traceback
    failure = call.excinfo.value
    item.stash[FAILURE] = failure
    parts = handle.failure_parts(failure)
    failure.evidence += evidence.of_output(line for lines in parts.outputs.values() for line in lines)
    likely = likely_bug(item, failure)
    causes = _candidate_causes(item, failure, likely, parts.exit_description, parts.signal_hints)
    options = parts.options + common(item.config).timing_options + handle.patience.shortened_options(item.nodeid)
    reproduce = report.reproduce(options, item)
    text = report.render(
        behaviour=_behaviour_text(item),
        did=_did(item),
        failure=failure,
        likely_bug=likely,
        note=handle.patience.note(who=parts.who, test=item.nodeid),
        transcript=handle.transcript.lines(),
        program_line=parts.program_line,
        outputs=parts.outputs,
        reproduce=reproduce,
        exit_description=parts.exit_description,
        program=parts.program,
        signal_hints=parts.signal_hints,
    )
    rep.longrepr = report.as_longrepr(text, failure, item.location)
    meta.update(summary=str(failure), likely_bug=_(failure.likely_bug or likely), reproduce=reproduce)
    meta.update(causes=causes, evidence={cause: words for cause, words in reversed(failure.evidence)})


def _candidate_causes(
    item: pytest.Item, failure: SpecFailure, likely: str, exit_description: str, signal_hints: Mapping
) -> list[str]:
    """The failure's candidate causes, most likely first: what its bytes showed, a death by signal,
    the test's own hint for what it saw, its `likely_bug(..., causes=...)`, and last the harness's
    general hints (a changed reply, a spin, serving one at a time).  Death by SIGPIPE is no
    candidate of a program that did not die of it, nor a cause of another model than the server's
    (a reaping bug of a threaded server)."""
    marker = item.get_closest_marker("likely_bug")
    marked = (marker.kwargs.get("causes") or getattr(marker.args[0], "causes", ())) if marker else ()
    text = marker.args[0] if marker else None
    shown = (report.signal_hint(exit_description, signal_hints), failure.likely_bug, likely)
    hints = [hint for hint in shown if isinstance(hint, Hint) and hint is not text]
    general = [hint.causes for hint in hints if hint.general]
    own = [hint.causes for hint in hints if not hint.general]
    found = diagnosis.candidates(failure.evidence, *own, tuple(marked), *general)
    model = getattr(item.stash.get(HANDLE, None), "model", None)
    possible = [cause for cause in found if CAUSES[cause].possible_for(model)]
    return [cause for cause in possible if cause != "sigpipe" or "SIGPIPE" in exit_description]


def _drop_hypothesis_patch(item: pytest.Item) -> None:
    """hypothesis's pytest plugin turns a test's falsifying examples into a patch that adds them
    to the test's source, at the test's teardown report, when libcst is installed.  Here that
    source is the spec, not the user's: a student told to `git apply` it into the installed spec
    is misled, and building it imports libcst, whose imports warn (an error under the project's
    warnings policy).  The failure's own message already shows the example.  The attribute is
    hypothesis's private name, read from its plugin, so a hypothesis without it changes nothing."""
    try:
        from _hypothesis_pytestplugin import FAILING_EXAMPLES_KEY
    except ImportError:
        return
    item.__dict__.pop(FAILING_EXAMPLES_KEY, None)


def likely_bug(item: pytest.Item, failure: SpecFailure) -> str:
    """The test's usual cause; but a reply that came back changed, in a test that is not about
    replies (`behaviour(..., checks_replies=True)`), has a cause of its own."""
    behaviour = item.get_closest_marker("behaviour")
    likely = item.get_closest_marker("likely_bug")
    if failure.exchange_hint and not (behaviour and behaviour.kwargs.get("checks_replies")):
        return failure.exchange_hint
    return likely.args[0] if likely else ""


def _behaviour_text(item: pytest.Item) -> str:
    behaviour = item.get_closest_marker("behaviour")
    if behaviour is None:
        return item.name
    notes = behaviour.kwargs.get("notes")
    return _(behaviour.args[0]) + (_(" (notes {section})").format(section=_(notes)) if notes else "")


def _did(item: pytest.Item) -> str:
    """What the test did: its docstring, on one line."""
    function = getattr(item, "function", None)
    doc = inspect.getdoc(function) if function else None
    return " ".join((doc or item.name).split())
