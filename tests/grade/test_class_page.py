"""report.html's class overview and student sections, on small classes built from records, and the
terminal's progress, on a fake terminal with a fake clock (fast: no browser, no grading, no sleep).

The overview must count what the class got wrong correctly, or a teacher
fixes the wrong lecture: which cause most students share, who they are (each
name a link that lands on that student), how scores spread, and how many
graded students failed each family.  The progress must show what runs now
and for how long, redrawn in place without leaving stale lines behind.
"""

from __future__ import annotations

import html
import io
import re

from sockspec.causes import CAUSES
from sockspec.grade import class_page
from sockspec.grade.progress import Progress
from sockspec.grade.record import Record
from sockspec.grade.scoring import NOT_RUN, PASSED, ScoredTest

GRADED = {"role": "server", "model": "threaded", "reply": "echo"}


def student(name: str, outcomes: dict[str, list[str]], causes: list[str], verdict: str = "fail") -> Record:
    """A record whose family F has one test per outcome in outcomes[F], each worth one point."""
    tests = [
        ScoredTest(
            f"spec/server/test_{family}.py::test_{i}", f"{family}: test_{i}", family, outcome,
            1.0 if outcome == PASSED else 0.0, 1.0, summary=f"{name} broke {family} {i}",
            details=f"DETAILS of {name}'s {family} test_{i}" if outcome not in (PASSED, NOT_RUN) else "",
        )
        for family, family_outcomes in outcomes.items()
        for i, outcome in enumerate(family_outcomes)
    ]  # fmt: skip
    return Record(name, "c", "threaded", "echo", verdict, f"{name}'s reason", tests=tests,
                  causes=[{"id": c, "tests": [], "evidence": f"{name} showed {c}"} for c in causes])  # fmt: skip


def small_class() -> list[Record]:
    """alice 1/5 (20%), bob 5/5, carol 3/5 (60%): alice and bob lose bytes at a NUL, carol leaves zombies;
    dave could not be graded (0/5)."""
    return [
        student(
            "alice",
            {"send_recv": ["failed", "failed", PASSED], "close": ["failed", "error"]},
            ["strlen-on-binary", "no-reap", "strlen-on-binary"],
        ),  # fmt: skip
        student("bob", {"send_recv": [PASSED] * 3, "close": [PASSED] * 2}, ["strlen-on-binary"], verdict="pass"),
        student("carol", {"send_recv": [PASSED] * 3, "close": ["failed", NOT_RUN]}, ["no-reap", "made-up-cause"]),
        student("dave", {"send_recv": [NOT_RUN] * 3, "close": [NOT_RUN] * 2}, [], verdict="error"),
    ]


def ids_of(page: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page))


def section_of(page: str, name: str) -> str:
    """The id of the student section whose heading names `name`."""
    found = re.search(rf'<section class="student" id="([^"]+)">\s*<h2>{re.escape(name)} &mdash;', page)
    assert found, f"no section for {name}"
    return found.group(1)


def test_most_common_bugs_first_with_their_students_linked():
    page = class_page.render(small_class(), GRADED)
    bugs = re.search(r'<ol class="bugs">(.*?)</ol>', page, re.DOTALL)
    assert bugs, "no list of the class's bugs"
    items = re.findall(r'<li data-cause="([^"]+)" data-students="(\d+)">(.*?)</li>', bugs.group(1), re.DOTALL)
    assert [(cause, int(count)) for cause, count, _ in items] == [
        ("strlen-on-binary", 2), ("no-reap", 2), ("made-up-cause", 1),
    ]  # fmt: skip
    ids = ids_of(page)
    for cause, _, body in items:
        links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', body)
        for target, name in links:
            assert target in ids and target == section_of(page, name), (cause, target, name)
        names = [name for _, name in links]
        assert names == {"strlen-on-binary": ["alice", "bob"], "no-reap": ["alice", "carol"],
                         "made-up-cause": ["carol"]}[cause]  # fmt: skip
        if cause in CAUSES:
            assert html.escape(CAUSES[cause].words) in body
        else:  # not in the catalog: the id alone
            assert re.search(r"<code>made-up-cause</code> <span", body), body


def test_ties_follow_the_catalog_and_a_student_counts_once():
    records = small_class()
    ranked = class_page.common_causes(records)
    assert ranked[0] == ("strlen-on-binary", ["alice", "bob"])  # alice names it twice, counted once
    records[1].causes = [{"id": "no-reap", "tests": [], "evidence": ""}]  # now no-reap has 3
    assert [cause for cause, _ in class_page.common_causes(records)][:2] == ["no-reap", "strlen-on-binary"]
    assert list(CAUSES).index("strlen-on-binary") < list(CAUSES).index("no-reap")  # the tie above went by it


def test_histogram_bars_count_students_per_tenth():
    records = small_class()
    counts = class_page.histogram(records)
    # alice 20% -> bin 2; carol 60% -> bin 6; bob full marks -> the last bin; dave, not graded, at 0.
    assert counts == [(0, 1), (0, 0), (1, 0), (0, 0), (0, 0), (0, 0), (1, 0), (0, 0), (0, 0), (1, 0)]
    page = class_page.render(records, GRADED)
    svg = re.search(r'<svg class="histogram".*?</svg>', page, re.DOTALL)
    assert svg, "no inline SVG histogram"
    bins = re.findall(r'<g class="bin" data-bin="(\d+)" data-count="(\d+)" data-ungraded="(\d+)">(.*?)</g>',
                      svg.group(0), re.DOTALL)  # fmt: skip
    assert [(int(c), int(u)) for _, c, u, _ in bins] == [(g + u, u) for g, u in counts]
    # the numbers are text: a bar's count above it, its range below
    nine = bins[9][3]
    assert re.search(r"<text[^>]*>1</text>", nine) and "90&ndash;100%" in nine
    assert len(re.findall(r'<rect class="bar"', svg.group(0))) == 3
    assert len(re.findall(r'<rect class="ungraded"', svg.group(0))) == 1


def test_families_failed_count_graded_students_only():
    records = small_class()
    assert class_page.families_failed(records) == {"send_recv": ["alice"], "close": ["alice", "carol"]}
    page = class_page.render(records, GRADED)
    rows = dict(re.findall(r'<tr class="family" data-family="([^"]+)" data-failed="(\d+)"', page))
    assert rows == {"send_recv": "1", "close": "2"}
    assert re.search(r'data-family="close".*?<td class="count">2 of 3</td>', page)  # dave is not among them


def test_overview_comes_before_the_table_and_the_page_stays_self_contained():
    page = class_page.render(small_class(), GRADED)
    assert page.index('<section class="overview"') < page.index('<table class="grades">')
    assert "<script" not in page and "http://" not in page and "https://" not in page and " src=" not in page


def test_passing_tests_collapse_to_one_line_per_family():
    page = class_page.render(small_class(), GRADED)
    bob = section_of(page, "bob")
    assert f'<div class="family all-passed" id="{bob}-send_recv">send_recv: all 3 passed (3 / 3)</div>' in page
    alice = section_of(page, "alice")
    block = re.search(rf'<div class="family" id="{alice}-send_recv">(.*?)</div>', page, re.DOTALL).group(1)
    assert block.count("<pre>") == 2 and "DETAILS of alice&#x27;s send_recv test_0" in block  # failures in full
    assert re.findall(r'<li class="passed">(.*?)</li>', block) == ["1 passed: test_2"]
    carol = section_of(page, "carol")
    block = re.search(rf'<div class="family" id="{carol}-close">(.*?)</div>', page, re.DOTALL).group(1)
    assert '<li class="not-run">1 not run: test_1</li>' in block and block.count("<pre>") == 1
    assert "carol showed no-reap" in page  # each student's causes, with their evidence, in their section


def test_every_cell_and_every_name_links_to_an_existing_anchor():
    page = class_page.render(small_class(), GRADED)
    links = re.findall(r'href="#([^"]+)"', page)
    assert links and set(links) <= ids_of(page)


# The terminal's progress, drawn on a fake terminal.


def screen(output: str) -> list[str]:
    """What a terminal shows after `output`: carriage return, newline, erase to end of line (ESC [ K)
    and cursor up (ESC [ A) are obeyed; every other character is printed."""
    rows, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[[KA]|.|\n", output, re.DOTALL):
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            rows += [""] * (row + 1 - len(rows))
        elif token == "\x1b[K":
            rows[row] = rows[row][:col]
        elif token == "\x1b[A":
            row = max(row - 1, 0)
        else:
            rows[row] = rows[row][:col].ljust(col) + token + rows[row][col + 1 :]
            col += 1
    while rows and not rows[-1]:
        rows.pop()
    return rows


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def finished_record(name: str) -> Record:
    return student(name, {"close": [PASSED]}, [], verdict="pass")


def test_progress_shows_what_runs_now_and_for_how_long():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(3, stream, interactive=True, now=clock, width=100)
    progress.starting("alice")
    clock.now += 35
    progress.starting("bob")
    clock.now += 7
    progress.tick()
    shown = screen(stream.getvalue())
    assert len(shown) == 2 and shown[0].startswith("[....") and "0/3 done" in shown[0]
    assert shown[1] == "running: alice 0:42, bob 0:07"
    progress.finished(finished_record("alice"))
    clock.now += 60
    progress.tick()
    shown = screen(stream.getvalue())
    assert len(shown) == 3 and shown[0].startswith("[1/3] alice") and "1/3 done" in shown[1]
    assert shown[2] == "running: bob 1:07"  # alice is done: no longer running
    progress.finished(finished_record("bob"))
    progress.close()
    shown = screen(stream.getvalue())
    assert [line[:11] for line in shown[:2]] == ["[1/3] alice", "[2/3] bob  "] and len(shown) == 3
    assert shown[2].startswith("[################........] 2/3 done")
    assert not any("running" in line for line in shown)


def test_progress_lines_fit_the_terminal():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(40, stream, interactive=True, now=clock, width=60)
    for i in range(12):
        progress.starting(f"student_{i:02d}")
    progress.tick()
    shown = screen(stream.getvalue())
    assert len(shown) == 2 and all(len(line) < 60 for line in shown), shown
    assert re.fullmatch(r"running: student_00 0:00, student_01 0:00, \+10 more", shown[1]), shown[1]


def test_progress_log_is_one_line_per_finished_submission():
    stream = io.StringIO()
    progress = Progress(2, stream, interactive=False)
    progress.starting("alice")
    progress.tick()
    assert stream.getvalue() == ""
    progress.finished(finished_record("alice"))
    progress.close()
    assert stream.getvalue().splitlines()[0].startswith("[1/2] alice") and len(stream.getvalue().splitlines()) == 2
    assert "\x1b" not in stream.getvalue() and "running" not in stream.getvalue()
