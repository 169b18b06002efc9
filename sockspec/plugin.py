"""The pytest plugin: `--impl` and friends, the `server` fixture, and readable failures.

`conftest.py` at the project root loads this module.  It turns the command
line into targets, parametrizes every spec test that uses a server over
them, deselects tests that do not apply to a target's model or reply mode,
and renders failures in the layout of `sockspec.report`.
"""

from __future__ import annotations

import inspect
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from sockspec import report, targets, timeouts
from sockspec.failure import SpecFailure, Transcript
from sockspec.handle import ServerHandle
from sockspec.pool import ServerPool
from sockspec.server import ServerStartError, become_subreaper
from sockspec.targets import ImplError, Target

MODEL_HELP = "how the server handles clients: iterative|forking|threaded (required unless --impl names a bundled server)"
REPLY_HELP = "echo (default): the server sends back what it received; stdin: it answers each message with a line read from its stdin"
HOST_HELP = "address the server is told to listen on and the spec connects to (default 127.0.0.1; ::1 for IPv6)"
TIMEOUT_HELP = f"override one named wait, NAME=SECONDS; names: {', '.join(timeouts.DOCS)} (repeatable)"
SCALE_HELP = "multiply every wait by FACTOR, for slow or loaded machines (default 1)"
SERVER_LOG_HELP = "append everything the servers print to this file (capped at 1 MiB per server)"


@dataclass(frozen=True)
class Settings:
    """What the command line asked for."""

    targets: list[Target]
    timeouts: timeouts.Timeouts
    host: str
    impl_given: bool


SETTINGS = pytest.StashKey[Settings]()
POOL = pytest.StashKey[ServerPool]()
HANDLE = pytest.StashKey[ServerHandle]()
PHASES = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sockspec", "sockspec: the TCP server under test")
    group.addoption("--impl", metavar="IMPL", help=targets.IMPL_HELP)
    group.addoption("--model", choices=targets.MODELS, help=MODEL_HELP)
    group.addoption("--reply", choices=targets.REPLIES, default="echo", help=REPLY_HELP)
    group.addoption("--host", default="127.0.0.1", help=HOST_HELP)
    group.addoption("--sockspec-timeout", action="append", default=[], metavar="NAME=SECONDS", help=TIMEOUT_HELP)
    group.addoption("--sockspec-time-scale", type=float, default=1.0, metavar="FACTOR", help=SCALE_HELP)
    group.addoption("--server-log", metavar="FILE", help=SERVER_LOG_HELP)
    parser.addini("sockspec_timeouts", TIMEOUT_HELP, type="args", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "behaviour(text, seed): the behaviour a spec module checks, and its seed section")
    config.addinivalue_line("markers", "likely_bug(text): the usual cause when this test fails")
    config.addinivalue_line("markers", "models(*names): the test applies only to these server models")
    config.addinivalue_line("markers", "replies(*names): the test applies only to these reply modes")
    config.stash[SETTINGS] = _settings(config)
    _hypothesis_profile()
    become_subreaper()
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # Terminated like Ctrl-C, so fixtures run their teardown and stop every server.
        signal.signal(signal.SIGTERM, signal.default_int_handler)


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
        if impl:
            chosen = [targets.parse(impl, config.getoption("model"), config.getoption("reply"), cwd, waits.build)]
        else:
            if config.getoption("model"):
                raise ImplError("--model needs --impl: which server should it describe?")
            chosen = targets.bundled_targets(cwd)
    except (ImplError, ValueError) as error:
        raise pytest.UsageError(f"sockspec: {error}") from None
    return Settings(chosen, waits, config.getoption("host"), bool(impl))


def _hypothesis_profile() -> None:
    # Same examples on every run (a grade must not change between runs), no
    # example database left on disk, no per-example deadline (timing is the
    # spec's job), and no shrinking: each shrink step against a server that
    # hangs would cost a whole reply deadline.
    settings.register_profile(
        "sockspec",
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=40,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    settings.load_profile("sockspec")


def pytest_report_header(config: pytest.Config) -> list[str]:
    chosen = config.stash[SETTINGS]
    lines = [f"sockspec: {t.impl} (model {t.model}, reply {t.reply})" for t in chosen.targets]
    lines.append(f"sockspec: host {chosen.host}; waits {chosen.timeouts.describe()}")
    return lines


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # With --impl the user checks one server: the project's own tests are not theirs to run.
    if config.stash[SETTINGS].impl_given and collection_path == config.rootpath / "tests":
        return True
    return None


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
        items[:] = keep


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the server once before any test: a server that cannot start gets one clear line."""
    config = session.config
    chosen = config.stash[SETTINGS]
    config.stash[POOL] = ServerPool(chosen.host, chosen.timeouts, _path(config.getoption("server_log")))
    if not chosen.impl_given or hasattr(config, "workerinput") or config.option.collectonly:
        return
    pool = config.stash[POOL]
    try:
        pool.shared(chosen.targets[0])
    except ServerStartError as error:
        details = "".join(f"\n  | {line}" for line in error.output)
        pytest.exit(f"sockspec: {error.reason}{details}", returncode=pytest.ExitCode.TESTS_FAILED)
    if config.pluginmanager.hasplugin("dsession"):
        pool.stop_all()  # the xdist workers start their own


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def pytest_unconfigure(config: pytest.Config) -> None:
    if POOL in config.stash:
        config.stash[POOL].stop_all()


@pytest.fixture(scope="session")
def sockspec_pool(pytestconfig: pytest.Config) -> ServerPool:
    return pytestconfig.stash[POOL]


def _failed(item: pytest.Item) -> bool:
    return any(r.failed for r in item.stash.get(PHASES, {}).values())


@pytest.fixture
def server(request: pytest.FixtureRequest, target: Target, sockspec_pool: ServerPool) -> Iterator[ServerHandle]:
    """The shared server of this target, replaced after a test that spoiled it."""
    try:
        process, baseline = sockspec_pool.shared(target)
    except ServerStartError as error:
        pytest.fail(f"the server does not start: {error.reason}", pytrace=False)
    handle = ServerHandle(process, baseline, Transcript())
    request.node.stash[HANDLE] = handle
    yield handle
    handle.close_clients()
    leftover = process.operator.take_back()
    if leftover or _failed(request.node) or not process.alive() or not process.is_listening():
        sockspec_pool.discard(target)


@pytest.fixture
def start_server(
    request: pytest.FixtureRequest, target: Target, sockspec_pool: ServerPool
) -> Iterator[Callable[..., ServerHandle]]:
    """Start a server of this test's own (on a given port, if asked); all are stopped at the end."""
    started: list[ServerHandle] = []
    transcript = Transcript()

    def start(port: int | None = None) -> ServerHandle:
        process, baseline = sockspec_pool.start(target, port=port)
        handle = ServerHandle(process, baseline, transcript)
        started.append(handle)
        request.node.stash[HANDLE] = handle
        return handle

    yield start
    for handle in started:
        handle.close_clients()
        sockspec_pool.stop(handle.process)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    item.stash.setdefault(PHASES, {})[rep.when] = rep
    handle = item.stash.get(HANDLE, None)
    if handle is None or call.excinfo is None or not rep.failed or not call.excinfo.errisinstance(SpecFailure):
        return  # anything but a spec failure is a bug of ours or of the test: keep the traceback
    rep.longrepr = _render(item, handle, call.excinfo.value)


def _render(item: pytest.Item, handle: ServerHandle, failure: SpecFailure) -> str:
    behaviour = item.get_closest_marker("behaviour")
    likely = item.get_closest_marker("likely_bug")
    process = handle.process
    exit_description = process.exit_description()
    test_function = getattr(item, "function", None)
    did = inspect.getdoc(test_function) if test_function else ""
    target = item.callspec.params["target"]  # type: ignore[attr-defined]
    reproduce = f"pytest {target.command_line_options()} '{item.nodeid}'"
    if behaviour is not None:
        seed = behaviour.kwargs.get("seed")
        behaviour_text = behaviour.args[0] + (f" (seed {seed})" if seed else "")
    else:
        behaviour_text = item.name
    return report.render(
        behaviour=behaviour_text,
        did=" ".join((did or item.name).split()),
        failure=failure,
        likely_bug=likely.args[0] if likely else "",
        transcript=handle.transcript.lines(),
        state=None if exit_description else process.state(),
        exit_description=exit_description,
        output=process.output.last_lines(),
        reproduce=reproduce,
    )

