"""The mutation table: run the whole spec against every corpus program and show what it caught.

    python -m tests.corpus.table [-j N] [--only NAME ...]

For each buggy program: whether the spec caught it and which spec tests
failed; for each correct program: whether it passed.  Then the spec tests
that no buggy program fails ("catch nothing"), and one summary line:

    caught X/Y buggy, passed Z/W correct, diagnosed D/Y, auto A/S

("diagnosed": the whole run's top cause is one the program's header
declares, and every declared cause is named; "auto": the servers whose
declared model `--model auto` found, in a run of its own.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from tests import program_environment
from tests.corpus import entries
from tests.corpus.entries import Entry, RunResult


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.corpus.table", description=__doc__.split("\n")[0])
    parser.add_argument(
        "-j", "--jobs", type=int, default=os.cpu_count() or 1, help="spec runs at once (default: cores)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", default=[], help="run only entries whose name contains one of these"
    )
    return parser.parse_args(argv)


def worker_env(slot: int, jobs: int) -> dict[str, str]:
    """Each parallel run draws its ports from a slice of its own (as pytest-xdist workers do)."""
    return program_environment(PYTEST_XDIST_WORKER=f"gw{slot}", PYTEST_XDIST_WORKER_COUNT=str(jobs))


def run_all(chosen: list[Entry], jobs: int) -> dict[Entry, RunResult]:
    free = list(range(jobs))
    results: dict[Entry, RunResult] = {}

    def one(entry: Entry) -> RunResult:
        slot = free.pop()
        try:
            result = entries.run(entry, env=worker_env(slot, jobs))
            if entry.role == "server":
                result.found_model = entries.run(entry, env=worker_env(slot, jobs), model="auto").found_model
            return result
        finally:
            free.append(slot)

    # Correct programs last: the buggy ones are the table's point, show them early.
    order = sorted(chosen, key=lambda e: (e.kind != "buggy", e.name))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(one, entry): entry for entry in order}
        for done, future in enumerate(as_completed(futures), 1):
            entry = futures[future]
            result = future.result()
            results[entry] = result
            verdict = (
                ("caught" if result.caught else "NOT caught")
                if entry.kind == "buggy"
                else ("passed" if result.passed else "FAILED")
            )
            print(
                f"[{done}/{len(order)}] {entry.name}: {verdict} ({result.seconds:.0f} s)", file=sys.stderr, flush=True
            )
    return results


def row(name: str, verdict: str, detail: str, width: int) -> str:
    return f"  {name:<{width}}  {verdict:<10} {detail}".rstrip()


def render(results: dict[Entry, RunResult], partial: bool = False) -> list[str]:
    lines: list[str] = []
    buggy = sorted((e for e in results if e.kind == "buggy"), key=lambda e: (not e.seed, e.name))
    correct = sorted((e for e in results if e.kind == "correct"), key=lambda e: e.name)
    width = max((len(e.describe()) for e in results), default=20)

    lines.append("BUGGY PROGRAMS (caught? and the spec tests that failed)")
    for entry in buggy:
        result = results[entry]
        verdict = "caught" if result.caught else "NOT CAUGHT"
        detail = result.compact_failures() or "-"
        missing = [t for t in entry.caught_by if t not in result.failing()]
        if missing:
            detail += f"   [header's caught-by did not fail: {', '.join(missing)}]"
        if entry.expect == "gap":
            detail += f"   [known: expect={entry.expect}]"
        top = result.causes[0] if result.causes else "none"
        right = "right" if not result.diagnosis_misses() else f"WRONG, declared {','.join(entry.causes)}"
        right += "" if entry.diagnosed == "yes" else f"; header: diagnosed={entry.diagnosed}"
        detail = f"diagnosis: {top} ({right})   {auto(entry, result)}" + detail
        lines.append(row(entry.describe(), verdict, detail, width))

    lines += ["", "CORRECT PROGRAMS (passed the whole spec?)"]
    for entry in correct:
        result = results[entry]
        verdict = "passed" if result.passed else "FAILED"
        detail = "" if result.passed else result.compact_failures() or f"pytest exit status {result.returncode}"
        if entry.expect == "false-alarm":
            detail += "   [known false alarm]"
        lines.append(row(entry.describe(), verdict, auto(entry, result) + detail, width))

    harness = [(e, t) for e, r in results.items() for t in r.harness_errors()]
    if harness:
        lines += ["", "HARNESS ERRORS (failures that are not spec failures)"]
        lines += [f"  {e.name}: {t.nodeid.split('::')[-1]}: {t.summary}" for e, t in harness]

    for role in sorted({e.role for e in buggy}):
        catalog = entries.spec_catalog(role) or {}
        caught_somewhere = {f for e in buggy if e.role == role for f in results[e].failing()}
        nothing = sorted(set(catalog) - caught_somewhere)
        among = " run here" if partial else ""
        lines += [
            "",
            f"catch nothing (spec/{role} tests no buggy program{among} fails): {', '.join(nothing) or 'none'}",
        ]

    lines += ["", *times(buggy, correct, results)]

    roles = sorted({e.role for e in results})
    lines.append("")
    if len(roles) > 1:
        for role in roles:
            lines.append(
                f"{role}s: "
                + summary([e for e in buggy if e.role == role], [e for e in correct if e.role == role], results)
            )
    lines.append(summary(buggy, correct, results))
    return lines


def auto(entry: Entry, result: RunResult) -> str:
    """What --model auto found, marked where it is not what the header says."""
    if entry.role != "server":
        return ""
    header = "" if result.found_model == entry.auto or entry.auto == "varies" else f", header: auto={entry.auto}!"
    return f"auto: {result.found_model}{header}   "


def times(buggy: list[Entry], correct: list[Entry], results: dict[Entry, RunResult]) -> list[str]:
    """Wall time of the whole spec per role and model: the slowest correct program and the slowest
    buggy one. A broken program must not make a run slow: every wait it turns into a timeout is
    bounded, so its run stays within twice the slowest correct one's."""
    lines = ["TIMES (whole spec, wall seconds; the bar: slowest buggy <= 2 x slowest correct)"]
    for key in sorted({(e.role, e.model) for e in buggy + correct}):
        fine = [e for e in correct if (e.role, e.model) == key]
        broken = [e for e in buggy if (e.role, e.model) == key]
        if not fine or not broken:
            continue
        fine_max = max(fine, key=lambda e: results[e].seconds)
        broken_max = max(broken, key=lambda e: results[e].seconds)
        ratio = results[broken_max].seconds / results[fine_max].seconds
        lines.append(
            f"  {key[0]} {key[1] or '-'}: correct {results[fine_max].seconds:.1f} s ({fine_max.name}), "
            f"buggy {results[broken_max].seconds:.1f} s ({broken_max.name}), {ratio:.2f} x"
        )
    return lines


def summary(buggy: list[Entry], correct: list[Entry], results: dict[Entry, RunResult]) -> str:
    caught = sum(results[e].caught for e in buggy)
    passed = sum(results[e].passed for e in correct)
    diagnosed = sum(not results[e].diagnosis_misses() for e in buggy)
    servers = [e for e in buggy + correct if e.role == "server"]
    found = sum(results[e].found_model == e.model for e in servers)
    return (
        f"caught {caught}/{len(buggy)} buggy, passed {passed}/{len(correct)} correct, diagnosed {diagnosed}/{len(buggy)}"
        + (f", auto {found}/{len(servers)}" if servers else "")
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    found, errors = entries.discover()
    for error in errors:
        print(f"header error: {error}", file=sys.stderr)
    chosen = [e for e in found if not args.only or any(name in e.name for name in args.only)]
    if not chosen:
        print("no corpus entry matches", file=sys.stderr)
        return 2
    started = time.monotonic()
    results = run_all(chosen, max(1, args.jobs))
    print("\n".join(render(results, partial=bool(args.only))))
    print(f"({len(chosen)} spec runs in {time.monotonic() - started:.0f} s with -j {args.jobs})", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
