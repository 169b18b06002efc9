"""The client half's pytest plugin: `--client` and friends, and the `client` fixture.

It turns `--client` into a target (`targets.parse_client`), starts the
client once before any test so a program that cannot start gets one clear
line and exit status 4, and gives every test in spec/client a `client`
fixture (a fresh client program against a fresh listener).  What both
halves share (timeouts, the results file, failures) is the layer of
`sockspec.plugin`; with neither `--impl` nor `--client`, the client spec
runs against reference.client.
"""

from __future__ import annotations

import dataclasses
import importlib
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sockspec import paths, plugin, targets
from sockspec.clientspec.handle import ClientHandle, Where
from sockspec.clientspec.program import ClientStartError
from sockspec.clientspec.scripted_server import ListenError
from sockspec.failure import SpecFailure, Transcript
from sockspec.i18n import _, ngettext
from sockspec.targets import ImplError, Target
from sockspec.timeouts import Patience, Timeouts

BUNDLED = "reference.client"
CLIENT_HELP = (
    "the client program to test: reference.client (bundled), 'cmd:TEMPLATE' (a shell command; {host} and "
    "{port} are substituted and HOST and PORT set in its environment), or a .c/.cpp/.cc/.py file (built if "
    "needed, host and port passed as its last two arguments and in HOST and PORT)"
)
CLIENT_ADDRESS_HELP = (
    "HOST:PORT the client connects to whatever it is told (a hard-coded address, like the notes' "
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
        elif self.where.host != plugin.DEFAULT_HOST:
            options += f" --host {shlex.quote(self.where.host)}"
        if self.binary_claim == "--client-binary":
            options += " --client-binary"
        return options


SETTINGS = pytest.StashKey["ClientSettings | None"]()
PATIENCE = pytest.StashKey[Patience]()
STOP_NOTES = pytest.StashKey["list[str]"]()


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
    shared = plugin.common(config)
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
        return Where(plugin.common(config).host)
    return Where(*plugin.parse_address(address, "--client-address", config))


def _binary_claim(config: pytest.Config, spec: str, cwd: Path) -> str:
    if config.getoption("client_binary"):
        return "--client-binary"
    if spec.startswith("cmd:"):
        return ""
    if spec.endswith(targets.SOURCE_SUFFIXES):
        header = (cwd / spec).read_text(errors="replace").splitlines()[:40]
        claims = any("sockspec:" in line and "binary=yes" in line.split() for line in header)
        return _("{client}'s header says binary=yes").format(client=spec) if claims else ""
    claims = getattr(importlib.import_module(paths.module_name(spec)), "BINARY_SAFE", 0)
    return _("{client} declares BINARY_SAFE = True").format(client=spec) if claims else ""


def pytest_report_header(config: pytest.Config) -> list[str]:
    chosen = config.stash.get(SETTINGS, None)
    if chosen is None:
        return []
    where = chosen.where
    if where.fixed_port:
        listens = _("the harness listens on {host}:{port} (fixed)").format(host=where.host, port=where.fixed_port)
    else:
        listens = _("the harness listens on {host}, a new port per test").format(host=where.host)
    line = _("sockspec client: {client} (binary-safe: {claim}); {listens}")
    return [line.format(client=chosen.target.impl, claim=chosen.binary_claim or _("not claimed"), listens=listens)]


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the client once before any test: a client that cannot start, or never connects, gets
    one clear message (and exit status 4), not the same failure in every test."""
    config = session.config
    chosen = config.stash.get(SETTINGS, None)
    if chosen is None or not chosen.given or hasattr(config, "workerinput") or config.option.collectonly:
        return
    results = config.stash.get(plugin.RESULTS, None)
    if results is not None:
        results.write("client", impl=chosen.target.impl, binary=bool(chosen.binary_claim))
    handle = ClientHandle(chosen.target, chosen.where, Patience(chosen.timeouts), Transcript(), "")
    try:
        handle.connect()
    except (ListenError, ClientStartError, SpecFailure) as error:
        stdout, stderr = handle.last_output()
        output = [f"stdout: {line}" for line in stdout] + [f"stderr: {line}" for line in stderr]
        plugin.startup_failed(config, _start_reason(error), output)
    finally:
        handle.stop()


def _start_reason(error: Exception) -> str:
    if not isinstance(error, SpecFailure):
        return str(error)
    if error.likely_bug:
        reason = _("expected {expected}, but {happened} ({likely_bug})")
    else:
        reason = _("expected {expected}, but {happened}")
    return reason.format(expected=error.expected, happened=error.happened, likely_bug=_(error.likely_bug))


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    notes = config.stash.get(STOP_NOTES, [])
    if notes:
        killed = ngettext(
            "{n} client had to be killed at teardown: {note}",
            "{n} clients had to be killed at teardown; first: {note}",
            len(notes),
        )
        terminalreporter.write_line("sockspec: " + killed.format(n=len(notes), note=notes[0]))


@pytest.fixture
def client(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Iterator[ClientHandle]:
    """The client under test, not started yet (use `connect()`, or `start()` and `accept()`); when the
    test ends its whole process tree is killed and reaped, and every socket closed."""
    chosen = pytestconfig.stash.get(SETTINGS, None)
    if chosen is None:
        pytest.skip(_("the client half of the spec runs with --client (or with neither --client nor --impl)"))
    if request.node.get_closest_marker("binary_safe") and not chosen.binary_claim:
        pytest.skip(_("the client does not claim to be binary-safe (claim it with --client-binary)"))
    patience = pytestconfig.stash[PATIENCE]
    handle = ClientHandle(chosen.target, chosen.where, patience, Transcript(), chosen.command_line_options())
    request.node.stash[plugin.HANDLE] = handle
    try:
        yield handle
    finally:
        note = handle.stop()
        if note:
            pytestconfig.stash[STOP_NOTES].append(f"{request.node.nodeid}: {note}")
        failure = request.node.stash.get(plugin.FAILURE, None)
        if failure is not None:
            patience.note_missed({failure.missed_deadline}, request.node.nodeid)
