"""`sockspec merge DIR... --out DIR`: one summary and one report.html from the reports of many shards.

Each shard of `sockspec grade --shard K/N` writes a complete report folder
for its slice of the class.  Merging reads every shard's records (each
submission's `grade.json`), copies the submission folders side by side and
writes the class reports exactly as a single run would have.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from sockspec.grade import report_files
from sockspec.grade.record import Record
from sockspec.grade.report_files import folder_name


class MergeError(Exception):
    """The shards cannot be combined; the message says why."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sockspec merge", description="Combine the reports of grading shards.")
    p.add_argument("shards", nargs="+", type=Path, help="report folders written by sockspec grade --shard K/N")
    p.add_argument("--out", type=Path, default=Path("grades"), help="where the combined reports go (default ./grades)")
    return p


def load_shard(folder: Path) -> tuple[dict, list[Record]]:
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError) as error:
        raise MergeError(f"{folder} is not a report folder of sockspec grade: {error}") from None
    records = []
    for row in summary["submissions"]:
        record = Record.load(folder / folder_name(row["name"]))
        if record is None:
            raise MergeError(f"{folder}: the report of {row['name']} is missing or unreadable")
        records.append(record)
    return summary, records


def _graded_as(summary: dict) -> dict:
    return {"role": summary.get("role", "server"), "model": summary.get("model"), "reply": summary.get("reply")}


def _said(graded: dict) -> str:
    if graded["role"] != "server":
        return f"as {graded['role']}s"
    return f"as model {graded['model']}, reply {graded['reply']}"


def merge(shards: list[Path], out: Path) -> list[Record]:
    graded: dict | None = None
    chosen: dict[str, tuple[Record, Path]] = {}
    parts = []
    for folder in shards:
        summary, records = load_shard(folder)
        if graded is None:
            graded = _graded_as(summary)
        elif _graded_as(summary) != graded:
            raise MergeError(f"{folder} was graded {_said(_graded_as(summary))}; {shards[0]} {_said(graded)}")
        parts.append(summary.get("shard", "?"))
        for record in records:
            if record.name in chosen and chosen[record.name][0].digest != record.digest:
                raise MergeError(f"{record.name} is in {chosen[record.name][1]} and {folder} with different content")
            chosen.setdefault(record.name, (record, folder))
    out.mkdir(parents=True, exist_ok=True)
    for record, folder in chosen.values():
        source, target = folder / folder_name(record.name), out / folder_name(record.name)
        if source.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
    records = sorted((record for record, _ in chosen.values()), key=lambda r: r.name)
    extra = {"merged_from": [str(folder) for folder in shards], "shards": parts}
    assert graded is not None  # argparse asks for at least one shard
    report_files.write_class_reports(out, records, graded, extra)
    return records


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        records = merge(args.shards, args.out)
    except MergeError as error:
        print(f"sockspec merge: {error}", file=sys.stderr)
        return 2
    counts = {v: sum(r.verdict == v for r in records) for v in ("pass", "fail", "error")}
    print(
        f"merged {len(args.shards)} shard(s): {len(records)} submissions, {counts['pass']} pass, "
        f"{counts['fail']} fail, {counts['error']} error; reports in {args.out}/",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
