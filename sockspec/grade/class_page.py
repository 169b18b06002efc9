"""`report.html`: the class at a glance, students by behaviour families, each cell one click from why.

One self-contained file (inline CSS and SVG, no script, nothing fetched), so
it can be mailed, archived or opened from a USB stick.  It opens with what
the class got wrong: the score distribution, how many students failed each
family, and the class's most common bugs (the causes of the records, in the
catalog's words), each naming its students.  Then the table, where every
cell links to an anchor further down holding the failure messages of that
student's tests in that family, exactly as the spec printed them (escaped);
passing tests there are one line per family, so the failures stand out.
Nothing may push the page wider than the window: a reason or a message can
hold a byte string of hundreds of characters without a break, so every
place that shows one wraps anywhere.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from sockspec import i18n
from sockspec.causes import CAUSES
from sockspec.grade.record import Record, verdict_text
from sockspec.grade.scoring import NOT_RUN, PASSED, outcome_text
from sockspec.i18n import _, ngettext

DETAILS_LIMIT = 12_000  # characters per failure message; the full text is in the submission's junit.xml
BINS = 10  # bars of the score histogram, each a tenth of the maximum

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
h2, h3, p, li, td.name, td.reason, pre, code { overflow-wrap: anywhere; word-break: break-word; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
.meta { color: #555; margin-bottom: 1em; }
table.grades { border-collapse: collapse; font-size: .92em; max-width: 100%; }
table.grades th, table.grades td { border: 1px solid #c8c8c8; padding: .3em .55em; text-align: center; }
table.grades th { background: #f0f0f0; }
table.grades td.name, table.grades td.reason { text-align: left; }
table.grades td.reason { min-width: 18em; max-width: 38em; font-size: .9em; color: #333; }
td a { color: inherit; text-decoration: none; display: block; }
td.score { white-space: nowrap; }
.full { background: #b9e8b9; } .partial { background: #ffe08a; } .none { background: #f4a3a3; }
.error { background: #d5d5d5; color: #444; } .na { background: #fafafa; color: #999; }
.v-pass { color: #17691b; font-weight: bold; } .v-fail { color: #a31212; font-weight: bold; }
.v-error { color: #555; font-weight: bold; }
.legend span { display: inline-block; padding: .1em .6em; margin-right: .4em; border: 1px solid #c8c8c8; }
section.student { border-top: 2px solid #888; margin-top: 2em; }
div.family { margin: .8em 0 .8em 1em; padding: .2em .6em; }
div.family.all-passed { margin: .15em 0 .15em 1em; color: #17691b; }
div.family:target, section.student:target { outline: 3px solid #3b7ddd; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: .6em; white-space: pre-wrap; font-size: .85em;
  max-width: 100%; box-sizing: border-box; }
li.passed { color: #17691b; } li.failed, li.error { color: #a31212; } li.not-run { color: #666; }
section.overview { display: flex; flex-wrap: wrap; gap: 1em 2.5em; margin-bottom: 1.5em; }
section.overview > div { min-width: 0; max-width: 100%; }
section.overview > div.bugs { flex: 1 1 30em; }
section.overview h2 { font-size: 1.1em; margin: .2em 0 .4em; }
svg.histogram { max-width: 100%; height: auto; }
svg.histogram rect.bar { fill: #3b7ddd; } svg.histogram rect.ungraded { fill: #b4b4b4; }
svg.histogram text { font: 11px system-ui, sans-serif; fill: #1d1d1f; }
table.families { border-collapse: collapse; font-size: .92em; }
table.families td, table.families th { padding: .15em .5em; text-align: left; }
table.families td.count { text-align: right; white-space: nowrap; }
span.meter { display: inline-block; height: .8em; background: #f4a3a3; vertical-align: middle; }
ol.bugs li { margin-bottom: .45em; } ol.bugs .who { color: #555; } ol.bugs code { font-size: .9em; }
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


def histogram(records: list[Record], bins: int = BINS) -> list[tuple[int, int]]:
    """Per bin of score / max_score (the last bin holds full marks): students graded, and students not
    graded (verdict 'error'), counted apart, because a class full of zeros that are build failures
    asks for a different fix than one full of zeros that ran."""
    counts = [[0, 0] for _bin in range(bins)]
    for record in records:
        fraction = record.score / record.max_score if record.max_score > 0 else 0.0
        # Points are hundredths: a score of exactly 70% must not fall into 60-70% for a rounding error.
        counts[min(int(fraction * bins + 1e-9), bins - 1)][record.verdict == "error"] += 1
    return [(graded, ungraded) for graded, ungraded in counts]


def families_failed(records: list[Record]) -> dict[str, list[str]]:
    """Per family, in the spec's order: the students graded (verdict not 'error') who did not pass
    every one of its tests.  A student that could not be graded failed nothing: they are counted
    in the histogram, not here, so a build failure does not look like a class-wide bug."""
    failed: dict[str, list[str]] = {family: [] for family in families_of(records)}
    for record in records:
        if record.verdict == "error":
            continue
        for family, row in record.families().items():
            if row["passed"] < row["total"]:
                failed[family].append(record.name)
    return failed


def common_causes(records: list[Record]) -> list[tuple[str, list[str]]]:
    """Each cause the records name, with the students who have it: most students first, ties in the
    catalog's order (then by id), a student counted once however many tests point to the cause."""
    students: dict[str, list[str]] = {}
    for record in records:
        for cause in record.causes:
            names = students.setdefault(str(cause.get("id", "")), [])
            if record.name not in names:
                names.append(record.name)
    order = {cause_id: index for index, cause_id in enumerate(CAUSES)}
    ranked = sorted(students.items(), key=lambda item: (-len(item[1]), order.get(item[0], len(order)), item[0]))
    return [(cause_id, names) for cause_id, names in ranked if cause_id]


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _histogram_svg(records: list[Record], bins: int = BINS) -> list[str]:
    """The score distribution as inline SVG bars, each with its count and its range as text (so it
    reads without the picture, and copies as numbers)."""
    counts = histogram(records, bins)
    tallest = max((graded + ungraded for graded, ungraded in counts), default=0) or 1
    bar, gap, height, top, bottom = 50, 8, 120, 16, 22
    width = bins * (bar + gap) + gap
    out = [
        f'<svg class="histogram" width="{width}" height="{top + height + bottom}" '
        f'viewBox="0 0 {width} {top + height + bottom}" role="img" aria-labelledby="histogram-title">',
        f'<title id="histogram-title">{html.escape(_("students per score, as a share of the maximum"))}</title>',
    ]
    for index, (graded, ungraded) in enumerate(counts):
        x = gap + index * (bar + gap)
        low, high = 100 * index // bins, 100 * (index + 1) // bins
        span = f"{low}&ndash;{high}%"
        total = graded + ungraded
        tip = ngettext("{count} student scored {low}-{high}%", "{count} students scored {low}-{high}%", total).format(
            count=total, low=low, high=high
        )
        if ungraded:
            tip += " " + _("({count} not graded)").format(count=ungraded)
        tip = html.escape(tip)
        out.append(
            f'<g class="bin" data-bin="{index}" data-count="{total}" data-ungraded="{ungraded}"><title>{tip}</title>'
        )
        y = top + height
        for css, count in (("bar", graded), ("ungraded", ungraded)):
            if count:
                tall = round(height * count / tallest)
                y -= tall
                out.append(f'<rect class="{css}" x="{x}" y="{y}" width="{bar}" height="{tall}"/>')
        if total:
            out.append(f'<text x="{x + bar // 2}" y="{y - 4}" text-anchor="middle">{total}</text>')
        out.append(f'<text x="{x + bar // 2}" y="{top + height + 14}" text-anchor="middle">{span}</text></g>')
    out.append(f'<line x1="{gap // 2}" y1="{top + height}" x2="{width - gap // 2}" y2="{top + height}" stroke="#888"/>')
    out.append("</svg>")
    return out


def _overview(records: list[Record], anchors: dict[str, str]) -> list[str]:
    """The class at a glance: what the class got wrong, before any one student."""
    e = html.escape
    graded = [r for r in records if r.verdict != "error"]
    shares = sorted(r.score / r.max_score if r.max_score > 0 else 0.0 for r in graded)
    ungraded = len(records) - len(graded)
    if shares:
        middle = len(shares) // 2
        median = shares[middle] if len(shares) % 2 else (shares[middle - 1] + shares[middle]) / 2
        typical = _("graded students: median {median}, mean {mean}").format(
            median=_percent(median), mean=_percent(sum(shares) / len(shares))
        )
    else:
        typical = _("no student could be graded")
    if ungraded:
        typical = _("{typical}; {count} not graded (grey), counted at their score").format(
            typical=typical, count=ungraded
        )
    out = [
        '<section class="overview" id="overview">',
        f'<div class="scores"><h2>{_("Scores")}</h2>',
        *_histogram_svg(records),
        f'<p class="meta">{e(typical)}</p></div>',
        f'<div class="families"><h2>{_("Families failed")}</h2>',
        '<p class="meta">'
        + e(_("students (of {count} graded) who did not pass every test of the family").format(count=len(graded)))
        + "</p>",
        '<table class="families"><tbody>',
    ]
    for family, names in families_failed(records).items():
        applies = sum(family in r.families() for r in graded)
        share = len(names) / applies if applies else 0.0
        out.append(
            f'<tr class="family" data-family="{e(family, quote=True)}" data-failed="{len(names)}" '
            f'title="{e(", ".join(names), quote=True)}"><th>{e(family)}</th>'
            f'<td class="count">{e(_("{failed} of {total}").format(failed=len(names), total=applies))}</td>'
            f'<td><span class="meter" style="width: {share * 8:.2f}em"></span></td></tr>'
        )
    out += ["</tbody></table></div>", f'<div class="bugs"><h2>{e(_("The class’s most common bugs"))}</h2>']
    causes = common_causes(records)
    if not causes:
        out.append(f'<p class="meta">{e(_("no likely bug was named for any student"))}</p>')
    else:
        out.append('<ol class="bugs">')
        for cause_id, names in causes:
            words = _(CAUSES[cause_id].words) if cause_id in CAUSES else ""
            who = ", ".join(f'<a href="#{anchors[name]}">{e(name)}</a>' for name in names)
            count = ngettext("{count} student", "{count} students", len(names)).format(count=len(names))
            out.append(
                f'<li data-cause="{e(cause_id, quote=True)}" data-students="{len(names)}"><b>{e(count)}</b>'
                f" <code>{e(cause_id)}</code>"
                + (f": {e(words)}" if words else "")
                + f' <span class="who">({who})</span></li>'
            )
        out.append("</ol>")
    out += ["</div>", "</section>"]
    return out


def render(
    records: list[Record],
    graded: dict[str, Any],
    files: dict[str, list[str]] | None = None,
    title: str | None = None,
) -> str:
    """The page, in the language in use; `graded` is record.graded_as() (role, model, reply); `files`
    maps a student to their report files, as links relative to the page; `title` is "sockspec grades"
    by default."""
    title = _("sockspec grades") if title is None else title
    families = families_of(records)
    anchors = _anchors(records)
    counts = {v: sum(r.verdict == v for r in records) for v in ("pass", "fail", "error")}
    e = html.escape
    role = graded.get("role", "server")
    if role == "server":
        what = e(_("servers, model {model}, reply {reply}"))
        what = what.format(model=f"<b>{e(str(graded['model']))}</b>", reply=f"<b>{e(str(graded['reply']))}</b>")
    elif role == "client":
        what = f"<b>{e(_('clients'))}</b>"
    else:
        what = f"<b>{e(str(role))}</b>"
    count = ngettext(
        "{what}; {count} submission: {passed} pass, {failed} fail, {errors} error; generated {date}",
        "{what}; {count} submissions: {passed} pass, {failed} fail, {errors} error; generated {date}",
        len(records),
    )
    legend = [("full", _("all tests passed")), ("partial", _("some passed")), ("none", _("none passed")),
              ("error", _("not graded")), ("na", _("no such test for this model"))]  # fmt: skip
    headings = [_("student"), _("verdict"), _("score"), *families, _("reason")]
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{i18n.current().replace("_", "-")}"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        '<p class="meta">'
        + e(count).format(
            what=what,
            count=len(records),
            passed=counts["pass"],
            failed=counts["fail"],
            errors=counts["error"],
            date=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
        + "</p>",  # fmt: skip
        *_overview(records, anchors),
        '<p class="legend">' + "".join(f'<span class="{css}">{e(label)}</span>' for css, label in legend) + "</p>",
        '<table class="grades"><thead><tr>' + "".join(f"<th>{e(heading)}</th>" for heading in headings),
        "</tr></thead><tbody>",
    ]
    for record in records:
        anchor = anchors[record.name]
        rows = record.families()
        out.append(
            f'<tr id="row-{anchor}"><td class="name"><a href="#{anchor}">{e(record.name)}</a></td>'
            f'<td class="v-{record.verdict}">{e(verdict_text(record.verdict))}</td>'
            f'<td class="score">{points(record.score)} / {points(record.max_score)}</td>'
        )
        for family in families:
            row = rows.get(family)
            css = _cell_class(record, row)
            if row is None:
                out.append('<td class="na">&ndash;</td>')
                continue
            label = (
                e(verdict_text("error")) if css == "error" else f"{points(row['points'])}/{points(row['max_points'])}"
            )
            tip = ngettext("{passed} of {total} test passed", "{passed} of {total} tests passed", int(row["total"]))
            tip = e(tip.format(passed=int(row["passed"]), total=int(row["total"])), quote=True)
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
        f'<h2>{e(record.name)} &mdash; <span class="v-{record.verdict}">{e(verdict_text(record.verdict))}</span>, '
        f"{points(record.score)} / {points(record.max_score)}</h2>",
        f'<p class="reason">{e(record.reason)}</p>',
    ]
    if record.note:
        out.append(f'<p class="meta">{e(record.note)}</p>')
    if files:
        links = ", ".join(f'<a href="{e(path, quote=True)}">{e(path.rsplit("/", 1)[-1])}</a>' for path in files)
        out.append(f'<p class="meta">{e(_("files: {links}")).format(links=links)}</p>')
    if record.build_output and record.verdict == "error":
        out.append(f'<pre class="build">{e(record.build_output)}</pre>')
    if record.causes:
        out.append(f'<p class="meta">{e(_("likely bugs, most likely first:"))}</p><ul class="causes">')
        for cause in record.causes:
            cause_id = str(cause.get("id", ""))
            words = _(CAUSES[cause_id].words) if cause_id in CAUSES else ""
            evidence = str(cause.get("evidence", ""))
            out.append(
                f"<li><code>{e(cause_id)}</code>"
                + (f": {e(words)}" if words else "")
                + (f" &mdash; {e(evidence)}" if evidence else "")
                + "</li>"
            )
        out.append("</ul>")
    for family, row in record.families().items():
        out.extend(_family_block(record, family, row, f"{anchor}-{_slug(family)}"))
    out.append("</section>")
    return out


def _family_block(record: Record, family: str, row: dict[str, float], anchor: str) -> list[str]:
    """One family of one student: every test that did not pass, in full; the tests that passed, and
    those that never ran, one line each, so the failures are what the eye finds."""
    e = html.escape
    tests = [t for t in record.tests if t.family == family]
    passed = [t.name.removeprefix(f"{family}: ") for t in tests if t.outcome == PASSED]
    not_run = [t.name.removeprefix(f"{family}: ") for t in tests if t.outcome == NOT_RUN]
    score = f"{points(row['points'])} / {points(row['max_points'])}"
    if len(passed) == len(tests):
        said = _("{family}: all {count} passed ({score})")
        said = said.format(family=family, count=len(tests), score=score)
        return [f'<div class="family all-passed" id="{anchor}">{e(said)}</div>']
    said = _("{family}: {score} ({passed} of {count} passed)")
    said = said.format(family=family, score=score, passed=len(passed), count=len(tests))
    out = [f'<div class="family" id="{anchor}"><h3>{e(said)}</h3><ul>']
    for test in tests:
        if test.outcome in (PASSED, NOT_RUN):
            continue
        details = test.details or test.summary
        if len(details) > DETAILS_LIMIT:
            details = details[:DETAILS_LIMIT] + "\n" + _("[... cut; the whole message is in junit.xml]")
        said = f"{test.name}: {outcome_text(test.outcome)}"
        out.append(f'<li class="{e(test.outcome)}">{e(said)}<pre>{e(details)}</pre></li>')
    for css, label, names in (
        ("passed", _("{count} passed: {names}"), passed),
        ("not-run", _("{count} not run: {names}"), not_run),
    ):
        if names:
            out.append(f'<li class="{css}">{e(label.format(count=len(names), names=", ".join(names)))}</li>')
    out.append("</ul></div>")
    return out
