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

from sockspec import i18n
from sockspec.grade import report_files
from sockspec.grade.options import add_lang_option
from sockspec.grade.record import Record
from sockspec.grade.report_files import folder_name
from sockspec.i18n import _, ngettext


class MergeError(Exception):
    """The shards cannot be combined; the message says why."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sockspec merge", description="Combine the reports of grading shards.")
    p.add_argument("shards", nargs="+", type=Path, help="report folders written by sockspec grade --shard K/N")
    p.add_argument("--out", type=Path, default=Path("grades"), help="where the combined reports go (default ./grades)")
    add_lang_option(p, "report.html", "; each submission's reports keep the language it was graded in")
    return p


def load_shard(folder: Path) -> tuple[dict, list[Record]]:
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError) as error:
        raise MergeError(
            _("{folder} is not a report folder of sockspec grade: {error}").format(folder=folder, error=error)
        ) from None
    records = []
    for row in summary["submissions"]:
        record = Record.load(folder / folder_name(row["name"]))
        if record is None:
            raise MergeError(
                _("{folder}: the report of {name} is missing or unreadable").format(folder=folder, name=row["name"])
            )
        records.append(record)
    return summary, records


def _graded_as(summary: dict) -> dict:
    return {"role": summary.get("role", "server"), "model": summary.get("model"), "reply": summary.get("reply")}


def _said(graded: dict) -> str:
    if graded["role"] == "client":
        return _("as clients")
    if graded["role"] != "server":
        return _("as {role}").format(role=graded["role"])
    return _("as model {model}, reply {reply}").format(model=graded["model"], reply=graded["reply"])


def merge(shards: list[Path], out: Path) -> list[Record]:
    graded: dict | None = None
    chosen: dict[str, tuple[Record, Path]] = {}
    parts = []
    for folder in shards:
        summary, records = load_shard(folder)
        if graded is None:
            graded = _graded_as(summary)
        elif _graded_as(summary) != graded:
            raise MergeError(
                _("{folder} was graded {how}; {first} {first_how}").format(
                    folder=folder, how=_said(_graded_as(summary)), first=shards[0], first_how=_said(graded)
                )
            )
        parts.append(summary.get("shard", "?"))
        for record in records:
            if record.name in chosen and chosen[record.name][0].digest != record.digest:
                raise MergeError(
                    _("{name} is in {first} and {folder} with different content").format(
                        name=record.name, first=chosen[record.name][1], folder=folder
                    )
                )
            chosen.setdefault(record.name, (record, folder))
    out.mkdir(parents=True, exist_ok=True)
    for record, folder in chosen.values():
        source, target = folder / folder_name(record.name), out / folder_name(record.name)
        if source.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
    records = sorted((record for record, _folder in chosen.values()), key=lambda r: r.name)
    extra = {"merged_from": [str(folder) for folder in shards], "shards": parts}
    assert graded is not None  # argparse asks for at least one shard
    report_files.write_class_reports(out, records, graded, extra)
    return records


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    i18n.use(args.lang)
    try:
        records = merge(args.shards, args.out)
    except MergeError as error:
        print(f"sockspec merge: {error}", file=sys.stderr)
        return 2
    counts = {v: sum(r.verdict == v for r in records) for v in ("pass", "fail", "error")}
    shards = ngettext("merged {count} shard", "merged {count} shards", len(args.shards)).format(count=len(args.shards))
    text = _("{shards}: {submissions} submissions, {passed} pass, {failed} fail, {errors} error; reports in {folder}/")
    print(
        text.format(
            shards=shards, submissions=len(records), passed=counts["pass"], failed=counts["fail"],
            errors=counts["error"], folder=args.out,
        ),
        file=sys.stderr,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
