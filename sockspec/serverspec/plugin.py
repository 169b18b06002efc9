"""The server half's pytest plugin: `--impl` and friends, the `server` fixture, and tests that apply.

It turns the command line into targets, parametrizes every spec test that
uses a server over them, deselects tests that do not apply to a target's
model or reply mode, starts the server once before any test (so one that
cannot start gets one clear line), and gives each test a `server` of its
own.  What both halves share (timeouts, the results file, failures) is the
layer of `sockspec.plugin`.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sockspec import invocation, plugin, proc, targets
from sockspec.i18n import _, ngettext
from sockspec.serverspec import auto
from sockspec.serverspec.handle import ServerHandle
from sockspec.serverspec.launch import ServerStartError
from sockspec.serverspec.pool import ServerPool
from sockspec.targets import ImplError, Target

MODEL_HELP = (
    "how the server handles clients: iterative|forking|threaded|evented, or any (concurrent, by whatever "
    "mechanism: no check of it), or auto (the spec watches its first clients and runs for the model they "
    "show); required unless --impl names a bundled server"
)
REPLY_HELP = (
    "echo (default): the server sends back what it received; "
    "stdin: it answers each message with a line read from its stdin"
)
SERVER_LOG_HELP = "append everything the servers print to this file (capped at 1 MiB per server)"
ADDRESS_HELP = (
    "HOST:PORT the server listens on whatever it is told (a hard-coded address); the spec then "
    "connects there and runs one server at a time"
)
IMPL_NAME_HELP = (
    "what reports and REPRODUCE lines call the server (default: --impl as given; the grader gives the student's file)"
)


@dataclass(frozen=True)
class ServerSettings:
    """What the command line asked of the server half."""

    targets: list[Target]
    host: str
    fixed_port: int | None  # the server's own port, when it cannot be told one
    impl_given: bool
    where_option: str  # --address or --host, as given, for a reproduce command


# Descriptors the harness and its servers (which inherit the limit) may open: the spec's largest
# crowd, 1100 clients beyond select()'s FD_SETSIZE, needs as many on each side, and a shell's
# default soft limit is often 1024.  The grader's sandbox allows as many.
OPEN_FILES = 4096

SETTINGS = pytest.StashKey[ServerSettings]()
FOUND_MODEL = "sockspec_found_model"  # workerinput: (model, words) of --model auto, from the controller
POOL = pytest.StashKey[ServerPool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sockspec")
    group.addoption("--impl", metavar="IMPL", help=targets.IMPL_HELP)
    group.addoption("--model", choices=(*targets.MODELS, targets.AUTO), help=MODEL_HELP)
    group.addoption("--reply", choices=targets.REPLIES, default="echo", help=REPLY_HELP)
    group.addoption("--address", metavar="HOST:PORT", help=ADDRESS_HELP)
    group.addoption("--server-log", metavar="FILE", help=SERVER_LOG_HELP)
    group.addoption("--impl-name", metavar="NAME", help=IMPL_NAME_HELP)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "models(*names): the test applies only to these server models")
    config.addinivalue_line("markers", "replies(*names): the test applies only to these reply modes")
    config.addinivalue_line(
        "markers", "blocks_port: the test may leave the server's port unusable for a minute (run last on a fixed port)"
    )
    proc.raise_open_files(OPEN_FILES)
    config.stash[SETTINGS] = _settings(config)
    _collect_only_the_halves_asked_for(config)


def _settings(config: pytest.Config) -> ServerSettings:
    shared = plugin.common(config)
    impl = config.getoption("impl")
    try:
        if impl:
            cwd = config.invocation_params.dir
            parsed = targets.parse(impl, config.getoption("model"), config.getoption("reply"), cwd,
                                   shared.timeouts.build)  # fmt: skip
            chosen = [dataclasses.replace(parsed, impl=config.getoption("impl_name") or impl, wrapper=shared.wrapper)]
            found = getattr(config, "workerinput", {}).get(FOUND_MODEL)
            if found:  # the controller watched the server (--model auto): every worker runs for its model
                chosen = [dataclasses.replace(chosen[0], model=found[0], found=found[1])]
        else:
            if config.getoption("model"):
                raise ImplError("--model needs --impl: which server should it describe?")
            chosen = targets.bundled_targets(config.invocation_params.dir)
        address = config.getoption("address")
        host, port = plugin.parse_address(address, "--address", config) if address else (shared.host, None)
    except (ImplError, ValueError) as error:
        raise pytest.UsageError(f"sockspec: {error}") from None
    where = f" --address {shlex.quote(address)}" if address else plugin.host_option(config)
    return ServerSettings(chosen, host, port, bool(impl), where)


def _server_half_runs(config: pytest.Config) -> bool:
    return config.stash[SETTINGS].impl_given or not config.getoption("client", None)


def pytest_report_header(config: pytest.Config) -> list[str]:
    chosen = config.stash[SETTINGS]
    if not _server_half_runs(config):
        return []
    lines = [f"sockspec: {t.impl} (model {t.model}, reply {t.reply})" for t in chosen.targets]
    found = _("--model auto found {model}: {words}")
    lines += ["sockspec: " + found.format(model=t.model, words=_(t.found)) for t in chosen.targets if t.found]
    where = f"{chosen.host}:{chosen.fixed_port} (fixed)" if chosen.fixed_port else f"host {chosen.host}"
    lines.append(f"sockspec: {where}; waits {plugin.common(config).timeouts.describe()}")
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
    marks = {name: tuple(mark.args) for name in ("models", "replies") if (mark := item.get_closest_marker(name))}
    return plugin.applies(marks, target.model, target.reply)


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


@pytest.hookimpl(tryfirst=True)  # before the header is printed and xdist's workers are started
def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the server once before any test: a server that cannot start gets one clear message
    (and exit status 4), not the same failure in every test.  With --model auto, first watch it
    and choose the model it shows."""
    config = session.config
    chosen = config.stash[SETTINGS]
    log = config.getoption("server_log")
    pool = ServerPool(chosen.host, plugin.common(config).timeouts, Path(log) if log else None, chosen.fixed_port)
    config.stash[POOL] = pool
    worker = hasattr(config, "workerinput")
    try:
        if chosen.impl_given and chosen.targets[0].model == targets.AUTO and not worker:
            chosen.targets[0] = auto.find(pool, chosen.targets[0])[0]
    except (ServerStartError, auto.ModelNotFound) as error:
        plugin.startup_failed(config, error.reason, error.output)
    results = config.stash.get(plugin.RESULTS, None)
    if results is not None and _server_half_runs(config):
        results.write("run", targets=[_run_line(t) for t in chosen.targets])
    if not chosen.impl_given or worker or config.option.collectonly:
        return
    try:
        pool.preflight(chosen.targets[0])
    except ServerStartError as error:
        plugin.startup_failed(config, error.reason, error.output)
    if config.pluginmanager.hasplugin("dsession"):
        pool.stop_all()  # the xdist workers start their own


def _run_line(target: Target) -> dict[str, str]:
    line = {"impl": target.impl, "model": target.model, "reply": target.reply}
    return {**line, "declared": targets.AUTO, "found": target.found} if target.found else line


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: each worker runs for the model --model auto found (the workers do not watch again)."""
    target = node.config.stash[SETTINGS].targets[0]
    if target.found:
        node.workerinput[FOUND_MODEL] = (target.model, target.found)


def pytest_unconfigure(config: pytest.Config) -> None:
    if POOL in config.stash:
        config.stash[POOL].stop_all()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if POOL in config.stash and config.stash[POOL].stop_notes:
        notes = config.stash[POOL].stop_notes
        killed = ngettext(
            "{n} server had to be killed at teardown: {note}",
            "{n} servers had to be killed at teardown; first: {note}",
            len(notes),
        )
        terminalreporter.write_line("sockspec: " + killed.format(n=len(notes), note=_(notes[0])))


@pytest.fixture(scope="session")
def sockspec_pool(pytestconfig: pytest.Config) -> ServerPool:
    return pytestconfig.stash[POOL]


@pytest.fixture
def start_server(
    request: pytest.FixtureRequest, target: Target, sockspec_pool: ServerPool
) -> Iterator[Callable[..., ServerHandle]]:
    """Start servers of this test's own (on a given port, if asked); all are stopped at the end."""
    started: list[ServerHandle] = []
    patience = sockspec_pool.patience(target)
    where = request.config.stash[SETTINGS].where_option

    def start(port: int | None = None) -> ServerHandle:
        process = sockspec_pool.start(target, port=port)
        transcript = started[0].transcript if started else None
        handle = ServerHandle(process, patience, request.node.nodeid, transcript, where)
        started.append(handle)
        request.node.stash[plugin.HANDLE] = handle
        return handle

    try:
        yield start
    finally:
        for handle in started:
            handle.close_clients()
            sockspec_pool.stop(handle.process)
        failure = request.node.stash.get(plugin.FAILURE, None)
        if failure is not None:
            patience.note_missed({failure.missed_deadline}, request.node.nodeid)


@pytest.fixture
def server(start_server: Callable[..., ServerHandle]) -> ServerHandle:
    """A fresh server for this test, listening on a port of its own; stopped when the test ends."""
    try:
        return start_server()
    except ServerStartError as error:
        pytest.fail(_("the server does not start: {reason}").format(reason=_(error.reason)), pytrace=False)
