"""What one `sockspec bench` run compares: the server under test, the C baseline, socketserver.

A column of the report is a server and the load client that drives it.
Every server runs as a `Target`, under the same process control as in the
spec (its own process group, killed with its whole tree at the end); the C
programs are built once with the spec's build cache.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from sockspec import build
from sockspec.bench import stdlib_echo
from sockspec.paths import PROJECT  # the baselines' cwd: where `python -m sockspec...` finds our modules
from sockspec.targets import ImplError, Target

C_SOURCES = Path(__file__).resolve().parent / "c"
BASELINE = "C baseline"
CLIENTS = ("python", "c")
CLIENT_NAMES = {"python": "Python load client", "c": "C load client"}


@dataclass(frozen=True)
class Column:
    """One column of the report: `server` driven by the `client` load client."""

    name: str
    role: str  # "impl", "baseline", "compare"; "client" when load clients are compared
    server: Target
    client: str  # "python" or "c"


def c_program(name: str, build_timeout: float) -> Path:
    """The binary of c/NAME.c, built on first use; ImplError if it cannot be built."""
    try:
        return build.build(C_SOURCES / f"{name}.c", build_timeout).binary
    except build.BuildError as error:
        raise ImplError(f"cannot build the C {name.replace('_', ' ')}: {error.first_error}") from None


def baseline(model: str, build_timeout: float) -> Target:
    """The project's own C echo server for `model`: blocking for the notes' three, epoll for evented."""
    binary = c_program("epoll_echo_server" if model == "evented" else "echo_server", build_timeout)
    return Target(f"{BASELINE} ({model})", model, "echo", (str(binary), model, "{host}", "{port}"), PROJECT)


def socketserver(model: str) -> Target:
    """The standard library's socketserver class for `model`, echoing."""
    argv = (sys.executable, "-m", "sockspec.bench.stdlib_echo", model, "--host", "{host}", "--port", "{port}")
    return Target(stdlib_echo.name(model), model, "echo", argv, PROJECT)


def columns(impl: Target, client: str, compare: bool, build_timeout: float) -> list[Column]:
    """The server under test, the C baseline and (with `compare`) socketserver, all driven by `client`."""
    found = [
        Column(impl.impl, "impl", impl, client),
        Column(BASELINE, "baseline", baseline(impl.model, build_timeout), client),
    ]
    if compare:
        found.append(Column(stdlib_echo.name(impl.model), "compare", socketserver(impl.model), client))
    return found


def client_check(model: str, build_timeout: float) -> list[Column]:
    """The Python load client and the C one against the same C baseline: is ours the bottleneck?"""
    server = baseline(model, build_timeout)
    return [
        Column(CLIENT_NAMES[client], "client" if client == "python" else "baseline", server, client)
        for client in CLIENTS
    ]
