"""`report.html`: the class at a glance, students by behaviour families, each cell one click from why.

One self-contained file (inline CSS, no script, nothing fetched), so it can
be mailed, archived or opened from a USB stick.  Every cell links to an
anchor further down holding the failure messages of that student's tests
in that family, exactly as the spec printed them (escaped).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from sockspec.grade.record import Record
from sockspec.grade.scoring import NOT_RUN, PASSED

DETAILS_LIMIT = 12_000  # characters per failure message; the full text is in the submission's junit.xml

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
.meta { color: #555; margin-bottom: 1em; }
table.grades { border-collapse: collapse; font-size: .92em; }
table.grades th, table.grades td { border: 1px solid #c8c8c8; padding: .3em .55em; text-align: center; }
table.grades th { background: #f0f0f0; }
table.grades td.name, table.grades td.reason { text-align: left; }
table.grades td.reason { max-width: 38em; font-size: .9em; color: #333; }
td a { color: inherit; text-decoration: none; display: block; }
td.score { white-space: nowrap; }
.full { background: #b9e8b9; } .partial { background: #ffe08a; } .none { background: #f4a3a3; }
.error { background: #d5d5d5; color: #444; } .na { background: #fafafa; color: #999; }
.v-pass { color: #17691b; font-weight: bold; } .v-fail { color: #a31212; font-weight: bold; }
.v-error { color: #555; font-weight: bold; }
.legend span { display: inline-block; padding: .1em .6em; margin-right: .4em; border: 1px solid #c8c8c8; }
section.student { border-top: 2px solid #888; margin-top: 2em; }
div.family { margin: .8em 0 .8em 1em; padding: .2em .6em; }
div.family:target, section.student:target { outline: 3px solid #3b7ddd; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: .6em; white-space: pre-wrap; font-size: .85em; }
li.passed { color: #17691b; } li.failed, li.error { color: #a31212; } li.not-run { color: #666; }
"""


def points(value: float) -> str:
    """2, 1.5, 0.67: as a person writes points."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _anchors(records: list[Record]) -> dict[str, str]:
    """A unique anchor per student, however their names sanitize."""
    anchors: dict[str, str] = {}
    for index, record in enumerate(records):
        anchors[record.name] = f"s{index}-{_slug(record.name)}"
    return anchors


def families_of(records: list[Record]) -> list[str]:
    order: list[str] = []
    for record in records:
        for test in record.tests:
            if test.family not in order:
                order.append(test.family)
    return order


def _cell_class(record: Record, row: dict[str, float] | None) -> str:
    if row is None:
        return "na"
    if record.verdict == "error" and row["passed"] == 0:
        return "error"
    if row["passed"] == row["total"]:
        return "full"
    return "partial" if row["passed"] else "none"


def render(
    records: list[Record],
    graded: dict[str, Any],
    files: dict[str, list[str]] | None = None,
    title: str = "sockspec grades",
) -> str:
    """The page; `graded` is record.graded_as() (role, model, reply); `files` maps a student to
    their report files, as links relative to the page."""
    families = families_of(records)
    anchors = _anchors(records)
    counts = {v: sum(r.verdict == v for r in records) for v in ("pass", "fail", "error")}
    e = html.escape
    if graded.get("role", "server") == "server":
        what = f"servers, model <b>{e(str(graded['model']))}</b>, reply <b>{e(str(graded['reply']))}</b>"
    else:
        what = f"<b>{e(str(graded['role']))}s</b>"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">{what}; {len(records)} submissions: '
        f"{counts['pass']} pass, {counts['fail']} fail, {counts['error']} error; "
        f"generated {datetime.now().strftime('%Y-%m-%d %H:%M')}</p>",
        '<p class="legend"><span class="full">all tests passed</span><span class="partial">some passed</span>'
        '<span class="none">none passed</span><span class="error">not graded</span>'
        '<span class="na">no such test for this model</span></p>',
        '<table class="grades"><thead><tr><th>student</th><th>verdict</th><th>score</th>',
        *[f"<th>{e(family)}</th>" for family in families],
        "<th>reason</th></tr></thead><tbody>",
    ]
    for record in records:
        anchor = anchors[record.name]
        rows = record.families()
        out.append(
            f'<tr id="row-{anchor}"><td class="name"><a href="#{anchor}">{e(record.name)}</a></td>'
            f'<td class="v-{record.verdict}">{record.verdict}</td>'
            f'<td class="score">{points(record.score)} / {points(record.max_score)}</td>'
        )
        for family in families:
            row = rows.get(family)
            css = _cell_class(record, row)
            if row is None:
                out.append('<td class="na">&ndash;</td>')
                continue
            label = "error" if css == "error" else f"{points(row['points'])}/{points(row['max_points'])}"
            tip = f"{int(row['passed'])} of {int(row['total'])} tests passed"
            out.append(f'<td class="{css}" title="{tip}"><a href="#{anchor}-{_slug(family)}">{label}</a></td>')
        out.append(f'<td class="reason">{e(record.reason)}</td></tr>')
    out.append("</tbody></table>")
    for record in records:
        out.extend(_student_section(record, anchors[record.name], (files or {}).get(record.name, [])))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _student_section(record: Record, anchor: str, files: list[str]) -> list[str]:
    e = html.escape
    out = [
        f'<section class="student" id="{anchor}">',
        f'<h2>{e(record.name)} &mdash; <span class="v-{record.verdict}">{record.verdict}</span>, '
        f"{points(record.score)} / {points(record.max_score)}</h2>",
        f'<p class="reason">{e(record.reason)}</p>',
    ]
    if record.note:
        out.append(f'<p class="meta">{e(record.note)}</p>')
    if files:
        links = ", ".join(f'<a href="{e(path, quote=True)}">{e(path.rsplit("/", 1)[-1])}</a>' for path in files)
        out.append(f'<p class="meta">files: {links}</p>')
    if record.build_output and record.verdict == "error":
        out.append(f'<pre class="build">{e(record.build_output)}</pre>')
    for family, row in record.families().items():
        out.append(
            f'<div class="family" id="{anchor}-{_slug(family)}"><h3>{e(family)}: '
            f"{points(row['points'])} / {points(row['max_points'])} "
            f"({int(row['passed'])} of {int(row['total'])} passed)</h3><ul>"
        )
        for test in (t for t in record.tests if t.family == family):
            css = "not-run" if test.outcome == NOT_RUN else test.outcome
            line = f'<li class="{css}">{e(test.name)}: {e(test.outcome)}'
            if test.outcome != PASSED and test.outcome != NOT_RUN:
                details = test.details or test.summary
                if len(details) > DETAILS_LIMIT:
                    details = details[:DETAILS_LIMIT] + "\n[... cut; the whole message is in junit.xml]"
                line += f"<pre>{e(details)}</pre>"
            out.append(line + "</li>")
        out.append("</ul></div>")
    out.append("</section>")
    return out
