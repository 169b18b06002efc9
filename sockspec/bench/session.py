"""A whole `sockspec bench` run: start every server, measure every figure on each, stop them all.

The machine is shared, so nothing is compared across runs: each figure is
measured on every column in turn, `repeat` times, with the order of the
columns rotated each round, and a column's figure is its best sample (like
`timeit`: interference from other programs only ever makes a sample slower).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sockspec.bench import pinning
from sockspec.bench.columns import Column
from sockspec.bench.measure import Figure, measure
from sockspec.bench.pinning import Cpus
from sockspec.process_tree import sweep_orphans
from sockspec.serverspec import launch
from sockspec.serverspec.launch import ServerProcess, ServerStartError
from sockspec.signals import arm_cleanup
from sockspec.targets import Target
from sockspec.timeouts import Timeouts

HOST = "127.0.0.1"  # loopback only: the benchmark never leaves the machine


@dataclass(frozen=True)
class Sampling:
    seconds: float  # measured, per sample
    repeat: int  # samples per figure and column
    cpus: Cpus | None

    @property
    def warmup(self) -> float:
        """Unmeasured time before each sample: connections made, caches and CPU clocks warm."""
        return min(0.5, max(0.05, self.seconds / 4))


@dataclass
class Cell:
    """One figure on one column: its samples, or why it has none."""

    samples: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)  # the load client's CPU µs per operation, per sample
    client_busy: list[float] = field(default_factory=list)  # share of its CPU the load client used, per sample
    served: int | None = None  # fewest connections that got replies in any sample
    error: str = ""

    @property
    def best(self) -> float | None:
        return max(self.samples) if self.samples else None


@dataclass
class Results:
    columns: list[Column]
    figures: list[Figure]
    settings: Sampling
    cells: dict[tuple[str, str], Cell]  # (figure key, column name)
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    stop_notes: list[str] = field(default_factory=list)
    ports: dict[Target, int] = field(default_factory=dict)  # where each server listened

    def cell(self, figure: Figure, column: Column) -> Cell:
        return self.cells[(figure.key, column.name)]


def run(
    columns: list[Column],
    figures: list[Figure],
    settings: Sampling,
    c_client: Path | None,
    progress: Callable[[str], None],
) -> Results:
    """Measure every figure on every column; raise ServerStartError (naming the server) if one does not start."""
    results = Results(columns, figures, settings, {}, os.getloadavg())
    started: dict[Target, ServerProcess] = {}

    def stop_all() -> None:
        for process in started.values():
            note = process.stop()
            if note:
                results.stop_notes.append(f"{process.target.impl}: {note}")
        started.clear()

    arm_cleanup(stop_all)
    affinity = os.sched_getaffinity(0)
    try:
        for column in columns:
            if column.server not in started:
                progress(f"starting {column.server.impl}")
                try:
                    process = launch.start(column.server, HOST, Timeouts())
                except ServerStartError as error:
                    printed = f" (it printed: {error.output[-1]})" if error.output else ""
                    raise ServerStartError(f"{column.server.impl} did not start: {error.reason}{printed}", []) from None
                started[column.server] = process
                results.ports[column.server] = process.port
                pinning.pin_server(settings.cpus, process.tree.members())
        pinning.pin_client(settings.cpus)
        for figure in figures:
            _measure_figure(figure, columns, started, settings, c_client, results, progress)
    finally:
        os.sched_setaffinity(0, affinity)
        stop_all()
        sweep_orphans(Timeouts().sweep)
        results.load_after = os.getloadavg()
    return results


def _measure_figure(
    figure: Figure,
    columns: list[Column],
    started: dict[Target, ServerProcess],
    settings: Sampling,
    c_client: Path | None,
    results: Results,
    progress: Callable[[str], None],
) -> None:
    cells = {column.name: results.cells.setdefault((figure.key, column.name), Cell()) for column in columns}
    for round_ in range(settings.repeat):
        shift = round_ % len(columns)
        for column in columns[shift:] + columns[:shift]:
            cell = cells[column.name]
            if cell.error:
                continue  # it failed once: failing again would only cost time
            progress(f"{figure.title}: {column.name} ({round_ + 1}/{settings.repeat})")
            sample = measure(figure, started[column.server], column.client, c_client, settings.warmup, settings.seconds)
            if sample.value is None:
                cell.error = sample.error
                continue
            cell.samples.append(sample.value)
            cell.client_cpu.append(sample.client_cpu)
            cell.client_busy.append(sample.client_busy)
            cell.served = sample.served if cell.served is None else min(cell.served, sample.served)
