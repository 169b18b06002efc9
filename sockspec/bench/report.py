"""What `sockspec bench` shows: a table with ratios for people, JSON for machines, a plot on request.

Ratios matter more than absolute numbers: on a shared machine the absolute
figures move with everyone else's load, while two servers measured in turn,
seconds apart, see about the same machine.  So every column after the first
is followed by the ratio first column / that column.
"""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path

from sockspec.bench.columns import Column
from sockspec.bench.measure import Figure
from sockspec.bench.session import Results

SCHEMA = "sockspec-bench/1"
PLOT_EXTRA = "pip install -e '.[plot]'"


def number(value: float | None, unit: str) -> str:
    """16.5k round trips/s, 4.3k connections/s, 2512 MiB/s: three significant digits are plenty here."""
    if value is None:
        return "failed"
    if unit == "MiB/s" or value < 1000:
        return f"{value:.0f}"
    return f"{value / 1000:.0f}k" if value >= 100_000 else f"{value / 1000:.1f}k"


def ratio(results: Results, figure: Figure, column: Column) -> float | None:
    """The first column's figure divided by `column`'s, or None if either is missing."""
    mine = results.cell(figure, results.columns[0]).best
    theirs = results.cell(figure, column).best
    return mine / theirs if mine is not None and theirs else None


def header(results: Results, title: str) -> list[str]:
    settings = results.settings
    cpus = settings.cpus
    pinned = f"client on CPU {cpus.client}, servers on CPU {cpus.server}" if cpus else "client and servers not pinned"
    client = results.columns[0].client
    samples = f"best of {settings.repeat} samples" if settings.repeat > 1 else "one sample"
    before = " ".join(f"{x:.2f}" for x in results.load_before)
    after = " ".join(f"{x:.2f}" for x in results.load_after)
    return [
        f"sockspec bench: {title}",
        f"{pinned}; {'Python' if client == 'python' else 'C'} load client unless a column says otherwise; echo only",
        f"each figure: {samples} of {settings.seconds:g} s after {settings.warmup:g} s of warm-up, "
        "columns measured in turn",
        f"load average {before} before, {after} after",
    ]


def table(results: Results, title: str) -> str:
    """The report as text: one row per figure, a ratio after every column but the first."""
    first = results.columns[0]
    heads = ["figure", first.name]
    for column in results.columns[1:]:
        heads += [column.name, "ratio"]
    rows = []
    for figure in results.figures:
        row = [figure.title, number(results.cell(figure, first).best, figure.unit)]
        for column in results.columns[1:]:
            value = ratio(results, figure, column)
            row += [number(results.cell(figure, column).best, figure.unit), "-" if value is None else f"{value:.2f}"]
        rows.append(row)
    widths = [max(len(row[i]) for row in [heads, *rows]) for i in range(len(heads))]

    def line(cells: list[str]) -> str:
        return "  ".join([cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)])

    lines = [*header(results, title), "", line(heads), *map(line, rows)]
    lines.append(f"ratio: {first.name} / the column to its left (above 1: {first.name} is faster)")
    if any(column.client != first.client for column in results.columns):
        lines += ["", *client_cpu_table(results)]
    lines += notes(results)
    return "\n".join(lines)


def client_cpu_table(results: Results) -> list[str]:
    """When load clients are compared: what each costs per operation, and how busy its CPU was.

    A client that needs about the same CPU time per round trip as the C one,
    and leaves its CPU partly idle, is waiting for the server, not the other
    way round.
    """
    heads = ["load client CPU per operation", *(f"{c.name} (busy)" for c in results.columns)]
    rows = []
    for figure in results.figures:
        row = [figure.title]
        for column in results.columns:
            cell = results.cell(figure, column)
            if not cell.client_cpu:
                row.append("-")
                continue
            row.append(f"{statistics.median(cell.client_cpu):.1f} µs ({statistics.median(cell.client_busy):.0%})")
        rows.append(row)
    widths = [max(len(row[i]) for row in [heads, *rows]) for i in range(len(heads))]
    return [
        "  ".join([cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)])
        for cells in [heads, *rows]
    ] + ["(medians over the samples; busy: the client's CPU time / the measured time)"]


def notes(results: Results) -> list[str]:
    """Why a figure is missing, which clients were never answered, which server had to be killed."""
    found = []
    for figure in results.figures:
        for column in results.columns:
            cell = results.cell(figure, column)
            if cell.error:
                found.append(f"{column.name}, {figure.title}: {cell.error}")
            elif cell.served is not None and cell.served < figure.load.clients:
                found.append(
                    f"{column.name}, {figure.title}: replies reached only {cell.served} of the "
                    f"{figure.load.clients} clients while measured"
                )
    found += results.stop_notes
    return [f"note: {note}" for note in found]


def as_json(results: Results, impl: str, model: str, title: str) -> dict:
    """Everything the table shows and the samples behind it; the schema is in docs/performance.md."""
    settings = results.settings
    first = results.columns[0]
    figures = []
    for figure in results.figures:
        cells = {column.name: results.cell(figure, column) for column in results.columns}
        figures.append(
            {
                "key": figure.key,
                "title": figure.title,
                "unit": figure.unit,
                "kind": figure.load.kind,
                "clients": figure.load.clients,
                "message_bytes": figure.load.size,
                "values": {name: cell.best for name, cell in cells.items()},
                "samples": {name: cell.samples for name, cell in cells.items()},
                "served": {name: cell.served for name, cell in cells.items()},
                "client_cpu_us": {name: cell.client_cpu for name, cell in cells.items()},
                "client_busy": {name: cell.client_busy for name, cell in cells.items()},
                "errors": {name: cell.error for name, cell in cells.items() if cell.error},
                "ratios": {
                    f"{first.name} / {column.name}": ratio(results, figure, column) for column in results.columns[1:]
                },
            }
        )
    cpus = settings.cpus
    return {
        "schema": SCHEMA,
        "title": title,
        "impl": impl,
        "model": model,
        "reply": "echo",
        "seconds": settings.seconds,
        "warmup": settings.warmup,
        "repeat": settings.repeat,
        "cpus": {"client": cpus.client, "server": cpus.server} if cpus else None,
        "load_average": {"before": list(results.load_before), "after": list(results.load_after)},
        "columns": [
            {
                "name": c.name,
                "role": c.role,
                "client": c.client,
                "command": list(c.server.argv_template),
                "port": results.ports.get(c.server),
            }
            for c in results.columns
        ],
        "figures": figures,
        "notes": [note.removeprefix("note: ") for note in notes(results)],
    }


def plot_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def plot(results: Results, title: str, path: Path) -> None:
    """Bars of each figure relative to the baseline column (1.0), labelled with the absolute values."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed: the plot only goes to a file
    import matplotlib.pyplot as plt

    baseline = next((c for c in results.columns if c.role == "baseline"), results.columns[-1])
    count = len(results.columns)
    width = 0.8 / count
    fig, axes = plt.subplots(figsize=(max(8, 1.6 * len(results.figures)), 5))
    for i, column in enumerate(results.columns):
        xs, heights, labels = [], [], []
        for x, figure in enumerate(results.figures):
            value = results.cell(figure, column).best
            reference = results.cell(figure, baseline).best
            if value is None or not reference:
                continue
            xs.append(x + (i - (count - 1) / 2) * width)
            heights.append(value / reference)
            labels.append(number(value, figure.unit))
        bars = axes.bar(xs, heights, width, label=column.name)
        axes.bar_label(bars, labels, fontsize=7, rotation=90, padding=2)
    axes.axhline(1.0, color="grey", linewidth=0.8)
    axes.set_xticks(range(len(results.figures)), [f.title.replace(", ", ",\n", 1) for f in results.figures], fontsize=8)
    axes.set_ylabel(f"relative to {baseline.name} (= 1)")
    settings = results.settings
    load = " ".join(f"{x:.2f}" for x in results.load_before)
    axes.set_title(
        f"{title}\nbest of {settings.repeat} × {settings.seconds:g} s per figure; load average {load} before",
        fontsize=10,
    )
    axes.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
