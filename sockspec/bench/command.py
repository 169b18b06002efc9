"""`sockspec bench --impl X`: how fast a server echoes, next to a C baseline measured in the same run.

Exit status: 0 when every figure of the server under test was measured, 1
when some could not be (the report says why), 2 for a usage error (a bad
option or --impl, --plot without matplotlib), 4 when a server could not be
started, 130 when interrupted.  With --check-client: 1 when the Python load
client reached less than CLIENT_GOAL of the C client on a round-trip figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

from sockspec import proc, targets
from sockspec.bench import columns as columns_
from sockspec.bench import measure, pinning, report, session, stdlib_echo
from sockspec.serverspec.launch import ServerStartError
from sockspec.targets import ImplError
from sockspec.timeouts import Timeouts

USAGE_ERROR = 2
SERVER_ERROR = 4
INTERRUPTED = 130
CLIENT_GOAL = 0.8  # the Python load client must reach this share of the C client's round trips
MAX_SECONDS = 60.0
MAX_REPEAT = 20
MAX_CLIENTS = 10000


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sockspec bench",
        description="Measure an echo server against the project's C echo server of the same model, in the same run.",
    )
    p.add_argument("--impl", help=targets.IMPL_HELP)
    p.add_argument("--model", help="iterative, forking, threaded or evented: required for cmd: and source files")
    p.add_argument("--seconds", type=float, default=1.0, help="measured time of one sample, seconds (default 1)")
    p.add_argument("--repeat", type=int, default=3, help="samples per figure and server; the best counts (default 3)")
    p.add_argument(
        "--clients", default="1,10,100,1000", help="concurrent clients of the round-trip figures (1,10,100,1000)"
    )
    p.add_argument(
        "--compare",
        choices=["socketserver"],
        action="append",
        default=[],
        help="add the standard library's echo server of the same model as a column (socketserver; asyncio for evented)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.add_argument("--plot", type=Path, metavar="PNG", help="also draw the figures into this PNG (needs matplotlib)")
    p.add_argument("--load-client", choices=columns_.CLIENTS, default="python", help="which load client (python)")
    p.add_argument(
        "--check-client",
        action="store_true",
        help="instead of a server, measure the Python load client against the C one, on the C baseline",
    )
    p.add_argument("--no-pin", action="store_true", help="do not put the client and the servers on different CPUs")
    return p


def parse_clients(text: str) -> list[int]:
    try:
        found = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ImplError(f"--clients must be numbers separated by commas, e.g. 1,10,100, not {text!r}") from None
    if not found or not all(1 <= n <= MAX_CLIENTS for n in found):
        raise ImplError(f"--clients must be between 1 and {MAX_CLIENTS}, not {text!r}")
    return found


def check_options(args: argparse.Namespace) -> None:
    """Raise ImplError (a usage error) for any option that cannot work, before anything starts."""
    if not args.check_client and not args.impl:
        raise ImplError("--impl is required (or --check-client to measure the load client itself)")
    if args.check_client and args.impl:
        raise ImplError("--check-client measures the load clients on the C baseline: give --model, not --impl")
    if not 0 < args.seconds <= MAX_SECONDS:
        raise ImplError(f"--seconds must be above 0 and at most {MAX_SECONDS:g}")
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise ImplError(f"--repeat must be between 1 and {MAX_REPEAT}")
    if args.plot is not None and not report.plot_available():
        raise ImplError(f"--plot needs matplotlib, which is not installed: {report.PLOT_EXTRA}")
    if args.plot is not None and not args.plot.parent.is_dir():
        raise ImplError(f"--plot {args.plot}: no such folder {args.plot.parent}")


def enough_descriptors(clients: int) -> None:
    """Raise the soft limit on open files so that `clients` connections fit; ImplError if they cannot."""
    needed = clients + 64
    if proc.raise_open_files(needed) < needed:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        raise ImplError(f"{clients} clients need {needed} open files, but this shell allows {hard} (ulimit -n)")


def main(argv: list[str] | None = None) -> int:
    try:
        return _bench(parser().parse_args(argv))
    except KeyboardInterrupt:
        print("sockspec bench: interrupted; every server was stopped", file=sys.stderr)
        return INTERRUPTED


def _has_baseline(model: str) -> None:
    """The baselines are one per mechanism; a server of `any` mechanism has none of its own to be
    measured against, so say so instead of failing later."""
    if model not in stdlib_echo.MODELS:
        known = ", ".join(stdlib_echo.MODELS)
        raise ImplError(
            f"--model must be one of {known} (the models the baselines have), not {model!r}: "
            "bench a server of another design as the model it is closest to"
        )


def _bench(args: argparse.Namespace) -> int:
    build_timeout = Timeouts().build
    try:
        check_options(args)
        clients = parse_clients(args.clients)
        enough_descriptors(max(clients))
        if args.check_client:
            model = args.model or "threaded"
            _has_baseline(model)
            columns = columns_.client_check(model, build_timeout)
            impl, title = "", f"Python load client vs C load client, on the C baseline ({model})"
        else:
            target = targets.parse(args.impl, args.model, "echo", Path.cwd(), build_timeout)
            model, impl, title = target.model, target.impl, f"{target.impl} ({target.model} model)"
            _has_baseline(model)
            columns = columns_.columns(target, args.load_client, bool(args.compare), build_timeout)
        needs_c = any(column.client == "c" for column in columns)
        c_client = columns_.c_program("load_client", build_timeout) if needs_c else None
    except ImplError as error:
        print(f"sockspec bench: {error}", file=sys.stderr)
        return USAGE_ERROR
    sampling = session.Sampling(args.seconds, args.repeat, pinning.choose(not args.no_pin))
    figures = measure.figures(model, clients)
    progress = _progress if sys.stderr.isatty() else _silent
    try:
        results = session.run(columns, figures, sampling, c_client, progress)
    except ServerStartError as error:
        progress("")
        print(f"sockspec bench: {error.reason}", file=sys.stderr)
        return SERVER_ERROR
    progress("")
    if args.json:
        print(json.dumps(report.as_json(results, impl, model, title), indent=2))
    else:
        print(report.table(results, title))
    if args.plot is not None:
        report.plot(results, title, args.plot)
    return _status(results, args.check_client)


def _status(results: session.Results, check_client: bool) -> int:
    first = results.columns[0]
    if any(results.cell(figure, first).best is None for figure in results.figures):
        return 1
    if check_client:
        shares = [report.ratio(results, f, results.columns[1]) for f in results.figures if f.load.kind == "roundtrip"]
        return 0 if all(share is not None and share >= CLIENT_GOAL for share in shares) else 1
    return 0


def _progress(message: str) -> None:
    """On a terminal: one line that says what is being measured, cleared by an empty message."""
    print(f"\r\033[K{message}", end="", file=sys.stderr, flush=True)


def _silent(message: str) -> None:
    pass
