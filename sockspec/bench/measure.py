"""One figure on one server: warm up, measure for a bounded time, let the server settle.

The figures are those of the echo benchmarks of uvloop's vmbench: round
trips of small messages on one connection and on many, and throughput with
large messages; plus connections per second, which is where the three
server models differ most (a connection costs an accept(), and a fork() or a
thread).  Only echo is measured: the stdin reply mode waits for an operator
and is not a throughput target.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sockspec.bench import load
from sockspec.bench.load import Load, LoadError
from sockspec.serverspec.launch import ServerProcess
from sockspec.timeouts import wait_for

MIB = 1024 * 1024
SMALL = 64  # bytes per message in the round-trip and connection figures
SETTLE = 10.0  # seconds a server gets to end the threads and children of the last figure's clients
C_CLIENT_SLACK = load.SETUP_TIMEOUT + 3 * load.IO_TIMEOUT  # beyond warm-up and measured time: setup, drain


@dataclass(frozen=True)
class Figure:
    """One row of the report."""

    key: str  # stable, for --json
    title: str
    unit: str
    load: Load

    def value(self, count: load.Count) -> float:
        """The figure in its unit: operations per second, or MiB per second echoed."""
        return count.rate * self.load.size / MIB if self.unit == "MiB/s" else count.rate


def figures(model: str, clients: list[int]) -> list[Figure]:
    """The figures for a server of `model`: an iterative server serves one client at a time."""
    found = [Figure("roundtrips-1", "round trips/s, 1 client", "round trips/s", Load("roundtrip", 1, SMALL))]
    if model != "iterative":
        found += [
            Figure(f"roundtrips-{n}", f"round trips/s, {n} clients", "round trips/s", Load("roundtrip", n, SMALL))
            for n in clients
            if n > 1
        ]
    found += [
        Figure("connections", "connections/s (connect, echo, close)", "connections/s", Load("connect", 1, SMALL)),
        Figure("mib", "MiB/s, 1 MiB messages", "MiB/s", Load("bulk", 1, MIB)),
    ]
    return found


@dataclass(frozen=True)
class Sample:
    """One measurement: the figure's value, or why there is none."""

    value: float | None
    served: int = 0  # connections that got replies while measured
    client_cpu: float = 0.0  # microseconds of the load client's CPU time per operation
    client_busy: float = 0.0  # share of its CPU the load client used while it measured
    error: str = ""


def measure(
    figure: Figure, server: ServerProcess, client: str, c_client: Path | None, warmup: float, seconds: float
) -> Sample:
    """Measure `figure` on `server` with the `client` load client ("python" or "c")."""
    address = (server.host, server.port)
    try:
        if client == "python":
            count = load.run(figure.load, address, warmup, seconds)
        else:
            assert c_client is not None
            count = _run_c_client(c_client, figure.load, address, warmup, seconds)
    except LoadError as error:
        gone = server.exit_description()
        return Sample(None, error=f"{gone} during this figure" if gone else str(error))
    finally:
        settle(server)
    cpu_per_operation = count.cpu / count.operations * 1e6 if count.operations else 0.0
    busy = count.cpu / count.seconds if count.seconds else 0.0
    return Sample(figure.value(count), count.served, cpu_per_operation, busy)


def settle(server: ServerProcess) -> bool:
    """Wait until the server is back to its state before any client: the next figure starts clean."""
    baseline = server.baseline

    def quiet() -> bool:
        state = server.state()
        return not state.alive or (not state.descendants and (baseline is None or state.threads <= baseline.threads))

    return bool(wait_for(quiet, SETTLE))


def _run_c_client(binary: Path, work: Load, address: tuple[str, int], warmup: float, seconds: float) -> load.Count:
    argv = [str(binary), address[0], str(address[1]), work.kind, str(work.clients), str(work.size)]
    argv += [f"{warmup:g}", f"{seconds:g}"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=warmup + seconds + C_CLIENT_SLACK, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise LoadError(f"the C load client did not finish within {warmup + seconds + C_CLIENT_SLACK:g} s") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise LoadError(lines[-1] if lines else f"the C load client exited with status {done.returncode}")
    operations, elapsed, served, cpu = done.stdout.split()
    return load.Count(int(operations), float(elapsed), int(served), float(cpu))
