"""The client half's pytest plugin: `--client` and friends, the `client` fixture, and readable failures.

Registered as a pytest11 entry point (and in the root conftest.py).  It
turns `--client` into a target (`targets.parse_client`), starts the client
once before any test so a program that cannot start gets one clear line
and exit status 4, gives every test in spec/client a `client` fixture (a
fresh client program against a fresh listener), and renders failures in
the layout of `sockspec.report`.  Deadlines, `--sockspec-timeout` and
`--sockspec-time-scale` are shared with the server half; with neither
`--impl` nor `--client`, the client spec runs against reference.client.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sockspec import paths, targets
from sockspec import plugin as server_plugin
from sockspec import report as common_report
from sockspec.clientspec import report
from sockspec.clientspec.handle import ClientHandle, Where
from sockspec.clientspec.peer import ListenError
from sockspec.clientspec.program import ClientStartError
from sockspec.failure import SpecFailure, Transcript
from sockspec.targets import ImplError, Target
from sockspec.timeouts import Patience, Timeouts

BUNDLED = "reference.client"
CLIENT_HELP = (
    "the client program to test: reference.client (bundled), 'cmd:TEMPLATE' (a shell command; {host} and "
    "{port} are substituted and HOST and PORT set in its environment), or a .c/.cpp/.cc/.py file (built if "
    "needed, host and port passed as its last two arguments and in HOST and PORT)"
)
CLIENT_ADDRESS_HELP = (
    "HOST:PORT the client connects to whatever it is told (a hard-coded address, like the seed's "
    "192.168.153.128:19999): the harness listens there instead of on a port of its choosing; HOST must be "
    "an address of this machine (or of the network namespace pytest runs in)"
)
CLIENT_BINARY_HELP = (
    "the client claims to show replies byte for byte, NUL and non-UTF-8 bytes included: run the binary-safe "
    "tests (also claimed by BINARY_SAFE = True in a module, or binary=yes on the sockspec: line of a file's header)"
)

CLIENT_NAME_HELP = "what reports and REPRODUCE lines call the client (default: --client as given)"


@dataclass(frozen=True)
class ClientSettings:
    """What the command line asked of the client half."""

    target: Target
    where: Where
    timeouts: Timeouts
    binary_claim: str  # who claims the client is binary-safe, '' if nobody
    given: bool  # --client was given (not the bundled client by default)

    def command_line_options(self) -> str:
        """The pytest options that select this client, for a reproduce command."""
        options = f"--client {shlex.quote(self.target.impl)}"
        if self.where.fixed_port:
            options += f" --client-address {shlex.quote(f'{self.where.host}:{self.where.fixed_port}')}"
        if self.binary_claim == "--client-binary":
            options += " --client-binary"
        return options


SETTINGS = pytest.StashKey["ClientSettings | None"]()
PATIENCE = pytest.StashKey[Patience]()
STOP_NOTES = pytest.StashKey["list[str]"]()
HANDLE = pytest.StashKey[ClientHandle]()
FAILURE = pytest.StashKey[SpecFailure]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sockspec")
    group.addoption("--client", metavar="CLIENT", help=CLIENT_HELP)
    group.addoption("--client-address", metavar="HOST:PORT", help=CLIENT_ADDRESS_HELP)
    group.addoption("--client-binary", action="store_true", default=False, help=CLIENT_BINARY_HELP)
    group.addoption("--client-name", metavar="NAME", help=CLIENT_NAME_HELP)


# After the server half's pytest_configure: the waits are parsed there, once for both halves.
@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "binary_safe: the test runs only if the client claims to be binary-safe")
    config.stash[SETTINGS] = _settings(config) if runs_client_half(config) else None
    config.stash[STOP_NOTES] = []


def runs_client_half(config: pytest.Config) -> bool:
    """`--client` runs the client half; so does a run with neither `--client` nor `--impl`."""
    return bool(config.getoption("client")) or not config.getoption("impl")


def _settings(config: pytest.Config) -> ClientSettings:
    spec = config.getoption("client") or BUNDLED
    shared = config.stash[server_plugin.SETTINGS]
    waits = shared.timeouts
    cwd = config.invocation_params.dir
    try:
        parsed = targets.parse_client(spec, cwd, waits.build)
        target = dataclasses.replace(parsed, impl=config.getoption("client_name") or spec, wrapper=shared.wrapper)
        where = _where(config)
    except (ImplError, ValueError) as error:
        message = str(error)
        raise pytest.UsageError(f"sockspec: {message if message.startswith('--') else f'--client {message}'}") from None
    config.stash[PATIENCE] = Patience(waits)
    return ClientSettings(target, where, waits, _binary_claim(config, spec, cwd), bool(config.getoption("client")))


def _where(config: pytest.Config) -> Where:
    address = config.getoption("client_address")
    if not address:
        return Where(config.getoption("host"))
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise ValueError(f"--client-address must be HOST:PORT, e.g. 192.168.153.128:19999, not {address!r}")
    if getattr(config.option, "numprocesses", None):
        raise ValueError("--client-address runs one client at a time: it cannot be combined with -n")
    return Where(host.strip("[]"), int(port))


def _binary_claim(config: pytest.Config, spec: str, cwd: Path) -> str:
    if config.getoption("client_binary"):
        return "--client-binary"
    if spec.startswith("cmd:"):
        return ""
    if spec.endswith(targets.SOURCE_SUFFIXES):
        header = (cwd / spec).read_text(errors="replace").splitlines()[:40]
        claims = any("sockspec:" in line and "binary=yes" in line.split() for line in header)
        return f"{spec}'s header says binary=yes" if claims else ""
    claims = getattr(importlib.import_module(paths.module_name(spec)), "BINARY_SAFE", 0)
    return f"{spec} declares BINARY_SAFE = True" if claims else ""


def pytest_report_header(config: pytest.Config) -> list[str]:
    chosen = config.stash.get(SETTINGS, None)
    if chosen is None:
        return []
    where = chosen.where
    listens = f"{where.host}:{where.fixed_port} (fixed)" if where.fixed_port else f"{where.host}, a new port per test"
    return [
        f"sockspec client: {chosen.target.impl} (binary-safe: {chosen.binary_claim or 'not claimed'}); "
        f"the harness listens on {listens}"
    ]


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the client once before any test: a client that cannot start, or never connects, gets
    one clear message (and exit status 4), not the same failure in every test."""
    config = session.config
    chosen = config.stash.get(SETTINGS, None)
    if chosen is None or not chosen.given or hasattr(config, "workerinput") or config.option.collectonly:
        return
    results = config.stash.get(server_plugin.RESULTS, None)
    if results is not None:
        results.write("client", impl=chosen.target.impl, binary=bool(chosen.binary_claim))
    handle = ClientHandle(chosen.target, chosen.where, Patience(chosen.timeouts), Transcript())
    try:
        handle.connect()
    except (ListenError, ClientStartError, SpecFailure) as error:
        reason = _start_reason(error)
        stdout, stderr = _output(handle)
        output = [f"stdout: {line}" for line in stdout] + [f"stderr: {line}" for line in stderr]
        if results is not None:
            results.write("startup_error", reason=reason, output=output)
            results.pytest_sessionfinish(pytest.ExitCode.USAGE_ERROR)
        details = "".join(f"\n  | {line}" for line in output)
        # A usage error: pytest prints this one message and nothing else, and exits with status 4.
        raise pytest.UsageError(f"sockspec: {reason}{details}") from None
    finally:
        handle.stop()


def _start_reason(error: Exception) -> str:
    if not isinstance(error, SpecFailure):
        return str(error)
    reason = f"expected {error.expected}, but {error.happened}"
    return f"{reason} ({error.likely_bug})" if error.likely_bug else reason


def _output(handle: ClientHandle) -> tuple[list[str], list[str]]:
    """The client's last lines of stdout and of stderr."""
    program = handle.program
    if program is None:
        return [], []
    if program.exit_code() is not None:
        # What it printed just before it exited may still be on its way through the terminal.
        program.stdout.wait(lambda: False, handle.timeouts.stop)
    return program.stdout.last_lines(), program.stderr.last_lines()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    notes = config.stash.get(STOP_NOTES, [])
    if notes:
        terminalreporter.write_line(f"sockspec: {len(notes)} client(s) had to be killed at teardown; first: {notes[0]}")


@pytest.fixture
def client(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Iterator[ClientHandle]:
    """The client under test, not started yet (use `connect()`, or `start()` and `accept()`); when the
    test ends its whole process tree is killed and reaped, and every socket closed."""
    chosen = pytestconfig.stash.get(SETTINGS, None)
    if chosen is None:
        pytest.skip("the client half of the spec runs with --client (or with neither --client nor --impl)")
    if request.node.get_closest_marker("binary_safe") and not chosen.binary_claim:
        pytest.skip("the client does not claim to be binary-safe (claim it with --client-binary)")
    patience = pytestconfig.stash[PATIENCE]
    handle = ClientHandle(chosen.target, chosen.where, patience, Transcript())
    request.node.stash[HANDLE] = handle
    try:
        yield handle
    finally:
        note = handle.stop()
        if note:
            pytestconfig.stash[STOP_NOTES].append(f"{request.node.nodeid}: {note}")
        failure = request.node.stash.get(FAILURE, None)
        if failure is not None:
            patience.note_missed({failure.missed_deadline}, request.node.nodeid)


# Outermost wrapper: it runs after the server half's, which adds the results-file metadata it completes.
@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    handle = item.stash.get(HANDLE, None)
    if handle is None or call.excinfo is None or not rep.failed or not call.excinfo.errisinstance(SpecFailure):
        return  # anything but a spec failure is a bug of ours or of the test: keep the traceback
    failure: SpecFailure = call.excinfo.value
    item.stash[FAILURE] = failure
    rep.longrepr = common_report.as_longrepr(_render(item, handle, failure), failure, item.location)
    for key, meta in rep.user_properties:
        if key == "sockspec" and isinstance(meta, dict):
            meta["summary"] = str(failure)


def _render(item: pytest.Item, handle: ClientHandle, failure: SpecFailure) -> str:
    behaviour = item.get_closest_marker("behaviour")
    likely = item.get_closest_marker("likely_bug")
    test_function = getattr(item, "function", None)
    did = inspect.getdoc(test_function) if test_function else ""
    chosen = item.config.stash[SETTINGS]
    assert chosen is not None
    if behaviour is not None:
        seed = behaviour.kwargs.get("seed")
        behaviour_text = behaviour.args[0] + (f" (seed {seed})" if seed else "")
    else:
        behaviour_text = item.name
    program = handle.program
    stdout, stderr = _output(handle)
    return report.render(
        behaviour=behaviour_text,
        did=" ".join((did or item.name).split()),
        failure=failure,
        likely_bug=likely.args[0] if likely else "",
        note=handle.patience.note(who="client", test=item.nodeid),
        transcript=handle.transcript.lines(),
        client=program.describe() if program else "not started",
        stdout=stdout,
        stderr=stderr,
        reproduce=common_report.reproduce(
            chosen.command_line_options() + handle.patience.shortened_options(item.nodeid), item
        ),
    )
