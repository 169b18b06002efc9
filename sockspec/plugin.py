"""The pytest plugin: `--impl` and friends, the `server` fixture, and readable failures.

`conftest.py` at the project root loads this module.  It turns the command
line into targets, parametrizes every spec test that uses a server over
them, deselects tests that do not apply to a target's model or reply mode,
and renders failures in the layout of `sockspec.report`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sockspec import invocation, paths, report, targets, timeouts
from sockspec.failure import SpecFailure, Transcript
from sockspec.handle import ServerHandle
from sockspec.pool import ServerPool
from sockspec.process_tree import take_back_ctrl_c
from sockspec.results import ResultsFile, family_of
from sockspec.server import ServerStartError
from sockspec.targets import ImplError, Target

MODEL_HELP = (
    "how the server handles clients: iterative|forking|threaded (required unless --impl names a bundled server)"
)
REPLY_HELP = (
    "echo (default): the server sends back what it received; "
    "stdin: it answers each message with a line read from its stdin"
)
HOST_HELP = "address the server is told to listen on and the spec connects to (default 127.0.0.1; ::1 for IPv6)"
TIMEOUT_HELP = f"override one named wait, NAME=SECONDS; names: {', '.join(timeouts.DOCS)} (repeatable)"
SCALE_HELP = "multiply every wait by FACTOR, for slow or loaded machines (default 1)"
SERVER_LOG_HELP = "append everything the servers print to this file (capped at 1 MiB per server)"
ADDRESS_HELP = (
    "HOST:PORT the server listens on whatever it is told (a hard-coded address); the spec then "
    "connects there and runs one server at a time"
)
RESULTS_HELP = "write one JSON line per test to this file as the run goes (for graders)"
IMPL_NAME_HELP = (
    "what reports and REPRODUCE lines call the server (default: --impl as given; the grader gives the student's file)"
)
CONFINE_HELP = (
    "run every program under test under the command prefix in this JSON file (a list of strings): "
    "the sandbox of sockspec grade"
)


@dataclass(frozen=True)
class Settings:
    """What the command line asked for."""

    targets: list[Target]
    timeouts: timeouts.Timeouts
    host: str
    fixed_port: int | None  # the server's own port, when it cannot be told one
    impl_given: bool
    extra_options: str  # the options besides --impl that a reproduce command needs
    wrapper: tuple[str, ...] = ()  # what every program under test runs under (--sockspec-confine)


SETTINGS = pytest.StashKey[Settings]()
POOL = pytest.StashKey[ServerPool]()
RESULTS = pytest.StashKey[ResultsFile]()
HANDLE = pytest.StashKey[ServerHandle]()
FAILURE = pytest.StashKey[SpecFailure]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sockspec", "sockspec: the TCP server under test")
    group.addoption("--impl", metavar="IMPL", help=targets.IMPL_HELP)
    group.addoption("--model", choices=targets.MODELS, help=MODEL_HELP)
    group.addoption("--reply", choices=targets.REPLIES, default="echo", help=REPLY_HELP)
    group.addoption("--host", default="127.0.0.1", help=HOST_HELP)
    group.addoption("--sockspec-timeout", action="append", default=[], metavar="NAME=SECONDS", help=TIMEOUT_HELP)
    group.addoption("--sockspec-time-scale", type=float, default=1.0, metavar="FACTOR", help=SCALE_HELP)
    group.addoption("--address", metavar="HOST:PORT", help=ADDRESS_HELP)
    group.addoption("--server-log", metavar="FILE", help=SERVER_LOG_HELP)
    group.addoption("--sockspec-results", metavar="FILE", help=RESULTS_HELP)
    group.addoption("--impl-name", metavar="NAME", help=IMPL_NAME_HELP)
    group.addoption("--sockspec-confine", metavar="FILE", help=CONFINE_HELP)
    parser.addini("sockspec_timeouts", TIMEOUT_HELP, type="args", default=[])


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """`pytest --impl X` runs as if started in the project's root, from any folder (see `invocation`)."""
    invocation.anchor(early_config, parser, args)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "behaviour(text, seed, checks_replies): the behaviour a spec module checks, its seed section, "
        "and whether its tests are about the replies themselves",
    )
    config.addinivalue_line("markers", "likely_bug(text): the usual cause when this test fails")
    config.addinivalue_line("markers", "models(*names): the test applies only to these server models")
    config.addinivalue_line("markers", "replies(*names): the test applies only to these reply modes")
    config.addinivalue_line(
        "markers", "blocks_port: the test may leave the server's port unusable for a minute (run last on a fixed port)"
    )
    config.stash[SETTINGS] = _settings(config)
    # hypothesis keeps files (its cache of constants) in ./.hypothesis: not in the user's folder.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(paths.user_cache("hypothesis")))
    _collect_only_the_halves_asked_for(config)
    take_back_ctrl_c()  # Ctrl-C stops the run, and the servers it starts, however it was started


def _settings(config: pytest.Config) -> Settings:
    try:
        overrides = timeouts.parse_overrides(
            [*config.getini("sockspec_timeouts"), *config.getoption("sockspec_timeout")]
        )
        scale = config.getoption("sockspec_time_scale")
        if scale <= 0:
            raise ValueError("--sockspec-time-scale must be positive")
        waits = timeouts.Timeouts().with_overrides(overrides).scaled(scale)
        cwd = config.invocation_params.dir
        impl = config.getoption("impl")
        wrapper = confinement(config)
        if impl:
            parsed = targets.parse(impl, config.getoption("model"), config.getoption("reply"), cwd, waits.build)
            chosen = [dataclasses.replace(parsed, impl=config.getoption("impl_name") or impl, wrapper=wrapper)]
        else:
            if config.getoption("model"):
                raise ImplError("--model needs --impl: which server should it describe?")
            chosen = targets.bundled_targets(cwd)
        host, fixed_port = _address(config)
    except (ImplError, ValueError) as error:
        raise pytest.UsageError(f"sockspec: {error}") from None
    return Settings(chosen, waits, host, fixed_port, bool(impl), _extra_options(config), wrapper)


def confinement(config: pytest.Config) -> tuple[str, ...]:
    """The command prefix of --sockspec-confine; raise ValueError if the file is not a list of strings."""
    path = config.getoption("sockspec_confine")
    if not path:
        return ()
    try:
        prefix = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"--sockspec-confine {path}: {error}") from None
    if not isinstance(prefix, list) or not all(isinstance(part, str) for part in prefix):
        raise ValueError(f"--sockspec-confine {path}: not a JSON list of strings")
    return tuple(prefix)


def _extra_options(config: pytest.Config) -> str:
    """The options that change how a test runs, as the user gave them, for a reproduce command."""
    options = []
    if config.getoption("address"):
        options.append(f"--address {shlex.quote(config.getoption('address'))}")
    elif config.getoption("host") != "127.0.0.1":
        options.append(f"--host {shlex.quote(config.getoption('host'))}")
    options += [f"--sockspec-timeout {shlex.quote(item)}" for item in config.getoption("sockspec_timeout")]
    if config.getoption("sockspec_time_scale") != 1.0:
        options.append(f"--sockspec-time-scale {config.getoption('sockspec_time_scale'):g}")
    return "".join(f" {option}" for option in options)


def _address(config: pytest.Config) -> tuple[str, int | None]:
    address = config.getoption("address")
    if not address:
        return config.getoption("host"), None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise ValueError(f"--address must be HOST:PORT, e.g. 192.168.153.128:19999, not {address!r}")
    if getattr(config.option, "numprocesses", None):
        raise ValueError("--address runs one server at a time: it cannot be combined with -n")
    return host.strip("[]"), int(port)


def _server_half_runs(config: pytest.Config) -> bool:
    return config.stash[SETTINGS].impl_given or not config.getoption("client", None)


def pytest_report_header(config: pytest.Config) -> list[str]:
    chosen = config.stash[SETTINGS]
    if not _server_half_runs(config):
        return []
    lines = [f"sockspec: {t.impl} (model {t.model}, reply {t.reply})" for t in chosen.targets]
    where = f"{chosen.host}:{chosen.fixed_port} (fixed)" if chosen.fixed_port else f"host {chosen.host}"
    lines.append(f"sockspec: {where}; waits {chosen.timeouts.describe()}")
    return lines


def _halves(config: pytest.Config) -> list[Path]:
    return invocation.halves(config.stash[SETTINGS].impl_given, bool(config.getoption("client", None)))


def _collect_only_the_halves_asked_for(config: pytest.Config) -> None:
    """`pytest --impl X` with no paths runs the server spec, not every testpath, nor the folder
    it was started in.

    `invocation.anchor` has chosen these paths already, except when this plugin is loaded by the
    root conftest.py (sockspec not installed), too late for that hook.  With neither option,
    everything runs: both halves against the bundled programs, and the project's own tests.
    """
    halves = _halves(config)
    if halves and config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(half) for half in halves]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With explicit paths (say `spec`), still skip the half of the spec nobody asked for."""
    halves = _halves(config)
    other = set(invocation.halves(server=True, client=True)) - set(halves)
    return True if halves and collection_path in other else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        chosen = metafunc.config.stash[SETTINGS].targets
        metafunc.parametrize("target", chosen, ids=[t.label for t in chosen], scope="session")


def _applies(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("target") if callspec else None
    if target is None:
        return True
    models = item.get_closest_marker("models")
    replies = item.get_closest_marker("replies")
    return (models is None or target.model in models.args) and (replies is None or target.reply in replies.args)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep = [item for item in items if _applies(item)]
    dropped = [item for item in items if not _applies(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    if config.stash[SETTINGS].fixed_port:
        # On a fixed port, a server without SO_REUSEADDR cannot start again while the port is in
        # TIME_WAIT: a test that may leave it so runs last, or it would fail every test after it.
        keep.sort(key=lambda item: item.get_closest_marker("blocks_port") is not None)
    items[:] = keep


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the server once before any test: a server that cannot start gets one clear message
    (and exit status 4), not the same failure in every test."""
    config = session.config
    chosen = config.stash[SETTINGS]
    pool = ServerPool(chosen.host, chosen.timeouts, _path(config.getoption("server_log")), chosen.fixed_port)
    config.stash[POOL] = pool
    worker = hasattr(config, "workerinput")
    if config.getoption("sockspec_results") and not worker:
        results = ResultsFile(Path(config.getoption("sockspec_results")))
        config.stash[RESULTS] = results
        config.pluginmanager.register(results, "sockspec-results")
        if _server_half_runs(config):
            results.write("run", targets=[{"impl": t.impl, "model": t.model, "reply": t.reply} for t in chosen.targets])
    if not chosen.impl_given or worker or config.option.collectonly:
        return
    try:
        pool.preflight(chosen.targets[0])
    except ServerStartError as error:
        if RESULTS in config.stash:
            config.stash[RESULTS].write("startup_error", reason=error.reason, output=error.output)
            config.stash[RESULTS].pytest_sessionfinish(pytest.ExitCode.USAGE_ERROR)
        details = "".join(f"\n  | {line}" for line in error.output)
        # A usage error: pytest prints this one message and nothing else, and exits with status 4.
        raise pytest.UsageError(f"sockspec: {error.reason}{details}") from None
    if config.pluginmanager.hasplugin("dsession"):
        pool.stop_all()  # the xdist workers start their own


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def pytest_unconfigure(config: pytest.Config) -> None:
    if POOL in config.stash:
        config.stash[POOL].stop_all()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if POOL in config.stash and config.stash[POOL].stop_notes:
        notes = config.stash[POOL].stop_notes
        terminalreporter.write_line(f"sockspec: {len(notes)} server(s) had to be killed at teardown; first: {notes[0]}")


@pytest.fixture(scope="session")
def sockspec_pool(pytestconfig: pytest.Config) -> ServerPool:
    return pytestconfig.stash[POOL]


@pytest.fixture
def start_server(
    request: pytest.FixtureRequest, target: Target, sockspec_pool: ServerPool
) -> Iterator[Callable[..., ServerHandle]]:
    """Start servers of this test's own (on a given port, if asked); all are stopped at the end."""
    started: list[ServerHandle] = []
    transcript = Transcript()
    patience = sockspec_pool.patience(target)

    def start(port: int | None = None) -> ServerHandle:
        process = sockspec_pool.start(target, port=port)
        handle = ServerHandle(process, transcript, patience, request.node.nodeid)
        started.append(handle)
        request.node.stash[HANDLE] = handle
        return handle

    try:
        yield start
    finally:
        for handle in started:
            handle.close_clients()
            sockspec_pool.stop(handle.process)
        failure = request.node.stash.get(FAILURE, None)
        if failure is not None:
            patience.note_missed({failure.missed_deadline}, request.node.nodeid)


@pytest.fixture
def server(start_server: Callable[..., ServerHandle]) -> ServerHandle:
    """A fresh server for this test, listening on a port of its own; stopped when the test ends."""
    try:
        return start_server()
    except ServerStartError as error:
        pytest.fail(f"the server does not start: {error.reason}", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    behaviour = item.get_closest_marker("behaviour")
    meta = {"family": family_of(item), "behaviour": behaviour.args[0] if behaviour else ""}
    rep.user_properties.append(("sockspec", meta))
    handle = item.stash.get(HANDLE, None)
    if handle is None or call.excinfo is None or not rep.failed or not call.excinfo.errisinstance(SpecFailure):
        return  # anything but a spec failure is a bug of ours or of the test: keep the traceback
    item.stash[FAILURE] = call.excinfo.value
    rep.longrepr = report.as_longrepr(_render(item, handle, call.excinfo.value), call.excinfo.value, item.location)
    meta["summary"] = str(call.excinfo.value)


def _likely_bug(behaviour: pytest.Mark | None, likely: pytest.Mark | None, failure: SpecFailure) -> str:
    """The test's usual cause; but a reply that came back changed, in a test that is not about
    replies (`behaviour(..., checks_replies=True)`), has a cause of its own."""
    if failure.exchange_hint and not (behaviour and behaviour.kwargs.get("checks_replies")):
        return failure.exchange_hint
    return likely.args[0] if likely else ""


def _render(item: pytest.Item, handle: ServerHandle, failure: SpecFailure) -> str:
    behaviour = item.get_closest_marker("behaviour")
    likely = item.get_closest_marker("likely_bug")
    process = handle.process
    exit_description = process.exit_description()
    test_function = getattr(item, "function", None)
    did = inspect.getdoc(test_function) if test_function else ""
    target = item.callspec.params["target"]  # type: ignore[attr-defined]
    # A test that failed on deadlines shortened by earlier misses is reproduced with them.
    extra = item.config.stash[SETTINGS].extra_options + handle.patience.shortened_options(item.nodeid)
    if behaviour is not None:
        seed = behaviour.kwargs.get("seed")
        behaviour_text = behaviour.args[0] + (f" (seed {seed})" if seed else "")
    else:
        behaviour_text = item.name
    return report.render(
        behaviour=behaviour_text,
        did=" ".join((did or item.name).split()),
        failure=failure,
        likely_bug=_likely_bug(behaviour, likely, failure),
        note=handle.patience.note(test=item.nodeid),
        transcript=handle.transcript.lines(),
        program_line=exit_description or process.state().describe(),
        outputs={"OUTPUT": process.output.last_lines()},
        reproduce=report.reproduce(target.command_line_options() + extra, item),
        exit_description=exit_description,
    )
