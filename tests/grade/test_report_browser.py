"""report.html as a person sees it: opened in a real headless Chromium (Debian's `chromium`).

The page is rendered to a screenshot, and the screenshot's pixels are
counted: the colour-coded cells must be there in each colour the sample
class calls for, and the overview's histogram above them.  Opening the
page at a cell's link must bring that student's family into view, outlined
(the `:target` style).  The DOM Chromium built must hold every row and
resolve every link.  At a 1280 px window nothing may be wider than the
window, even with a byte string of thousands of characters in a reason, a
name and a failure message: the page is read on laptops, and a horizontal
scroll bar hides the reasons; in every language it speaks (`--lang`).

Without Chromium the tests skip, unless SOCKSPEC_REQUIRE_BROWSER=1 (CI sets
it), when they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import zlib
from collections import Counter
from html import unescape as html_unescape
from pathlib import Path

import pytest

from sockspec import i18n
from sockspec.grade import class_page
from sockspec.grade.record import Record
from tests.grade.conftest import Graded

pytestmark = pytest.mark.slow

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome-headless-shell")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1",
]  # fmt: skip
COLOURS = {  # the cell classes of report_html.CSS
    "full": (0xB9, 0xE8, 0xB9),
    "partial": (0xFF, 0xE0, 0x8A),
    "none": (0xF4, 0xA3, 0xA3),
    "error": (0xD5, 0xD5, 0xD5),
}
HISTOGRAM_BAR = (0x3B, 0x7D, 0xDD)  # svg.histogram rect.bar of class_page.CSS


@pytest.fixture(scope="module")
def browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        message = f"no headless browser ({', '.join(BROWSERS)}): apt-get install chromium"
        if os.environ.get("SOCKSPEC_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SOCKSPEC_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    return found


def run_browser(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [browser, *FLAGS, f"--user-data-dir={profile}", *args]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        stdin=subprocess.DEVNULL,
    ) as chrome:  # fmt: skip
        try:
            out, err = chrome.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(chrome.pid, signal.SIGKILL)  # the renderer and zygote too
            raise
    return subprocess.CompletedProcess(command, chrome.returncode, out, err)


def screenshot(browser: str, tmp_path: Path, url: str, size: str = "1400,1000") -> list[list[tuple[int, int, int]]]:
    png = tmp_path / f"shot-{len(list(tmp_path.glob('shot-*')))}.png"
    done = run_browser(browser, tmp_path, f"--window-size={size}", f"--screenshot={png}", url)
    assert png.exists(), done.stderr[-2000:]
    return decode_png(png.read_bytes())


def decode_png(data: bytes) -> list[list[tuple[int, int, int]]]:
    """Rows of RGB pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks += body
        position += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(chunks)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append([tuple(line[i : i + 3]) for i in range(0, stride, channels)])
        previous = line
    return rows


@pytest.fixture(scope="module")
def page(graded_class: Graded) -> Path:
    if not graded_class.namespaced:
        pytest.skip("the sample class needs network namespaces")
    return graded_class.out / "report.html"


def test_cells_are_colour_coded(browser, page, tmp_path):
    """The table shows green, amber, red and grey cells: every kind of result the class has."""
    pixels = Counter(p for row in screenshot(browser, tmp_path, page.as_uri()) for p in row)
    for name, colour in COLOURS.items():
        assert pixels[colour] > 2000, f"no {name} cells visible ({pixels[colour]} pixels of {colour})"


# Test-only: appended to a copy of the page, it writes what the browser did with the link into
# the DOM (the report itself has no script).
PROBE = """<script>addEventListener("load", () => setTimeout(() => {
  const t = document.querySelector(":target"), box = t ? t.getBoundingClientRect() : null;
  document.body.dataset.probe = JSON.stringify({target: t ? t.id : null, top: box && box.top,
    height: innerHeight, outline: t ? getComputedStyle(t).outlineStyle : null});
}, 300))</script>"""


def probed(
    browser: str, tmp_path: Path, html: str, probe: str, width: int = 1400, fragment: str = ""
) -> tuple[dict, str]:
    """What `probe` (a script writing JSON into body's data-probe) saw in a copy of the page `html`, and
    the DOM Chromium built: the report itself has no script, so the copy gets one."""
    copy = tmp_path / f"probe-{len(list(tmp_path.glob('probe-*')))}.html"
    copy.write_text(html.replace("</body>", probe + "</body>"))
    dom = run_browser(
        browser, tmp_path, f"--window-size={width},1000", "--virtual-time-budget=3000", "--dump-dom",
        copy.as_uri() + fragment,
    ).stdout  # fmt: skip
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, f"the probe wrote nothing: {dom[-2000:]}"
    return json.loads(html_unescape(found.group(1))), dom


def test_a_cell_link_shows_its_failure_details(browser, page, tmp_path):
    """Following the seed_threaded / lifecycle cell scrolls its outlined failure details into view."""
    html = page.read_text()
    row = re.search(r'<tr id="row-[^"]*seed_threaded">.*?</tr>', html, re.DOTALL)
    assert row, "no row for seed_threaded"
    anchor = re.search(r'href="#([^"]*-lifecycle)"', row.group(0))
    assert anchor, "the lifecycle cell has no link"
    seen, dom = probed(browser, tmp_path, html, PROBE, fragment=f"#{anchor.group(1)}")
    assert seen["target"] == anchor.group(1)
    assert -2 < seen["top"] < seen["height"] / 2, f"the details are not in view, at the top: {seen}"
    assert seen["outline"] == "solid"
    target = re.search(rf'<div class="family" id="{re.escape(anchor.group(1))}">(.*?)</div>', dom, re.DOTALL)
    assert target and "test_restart_on_same_port" in target.group(1) and "<pre>" in target.group(1)
    assert "SO_REUSEADDR" in target.group(1)  # the spec's own failure message, escaped and shown


def test_dom_has_every_student_and_every_link_resolves(browser, page, tmp_path, graded_class):
    dom = run_browser(browser, tmp_path, "--dump-dom", page.as_uri()).stdout
    ids = set(re.findall(r'\bid="([^"]+)"', dom))
    links = re.findall(r'href="#([^"]+)"', dom)
    assert links and all(link in ids for link in links)
    for row in graded_class.summary["submissions"]:
        assert f">{row['name']}</a></td>" in dom
    assert "<script" not in dom and "http://" not in dom and "https://" not in dom  # self-contained


# Test-only, like PROBE: how wide the page is against the window, the elements reaching past it, and
# where the overview and the table are.
WIDTHS = """<script>addEventListener("load", () => setTimeout(() => {
  const right = e => Math.round(e.getBoundingClientRect().right);
  const past = [...document.body.querySelectorAll("*")].filter(e => right(e) > innerWidth + 1)
    .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.getAttribute("class")} ${right(e)}`);
  const overview = document.querySelector("section.overview").getBoundingClientRect();
  document.body.dataset.probe = JSON.stringify({scroll: document.documentElement.scrollWidth, window: innerWidth,
    past, overview: overview.bottom, table: document.querySelector("table.grades").getBoundingClientRect().top});
}, 300))</script>"""

BYTES = repr(bytes(b for b in range(256) if b != 0x20) * 8)  # b'\\x00\\x01...': 8 KiB of text, not one space


def in_language(language: str, records: list[Record], graded_class: Graded) -> str:
    """The page of `records` as `sockspec grade --lang language` writes it."""
    summary = graded_class.summary
    i18n.use(language)
    try:
        return class_page.render(records, {k: summary[k] for k in ("role", "model", "reply")})
    finally:
        i18n.use("en")


def class_records(graded_class: Graded) -> list[Record]:
    return [Record.from_json(graded_class.record(row["name"])) for row in graded_class.summary["submissions"]]


def with_a_binary_student(graded_class: Graded, language: str = "en") -> str:
    """The sample class's page, plus a student whose name, reason, failure messages and cause's evidence
    are one unbroken byte string each, and causes for a few students so the list of bugs is full."""
    records = class_records(graded_class)
    failing = next(r for r in records if r.verdict == "fail")
    binary = Record.from_json(failing.to_json())
    binary.name = "binary_" + "x" * 300
    binary.reason = f"1 of 26 tests failed; first: send_recv: expected {BYTES}"
    for test in binary.tests:
        if test.outcome != "passed":
            test.details = f"EXPECTED   {BYTES}\nHAPPENED   {BYTES[::-1]}"
            test.summary = f"expected {BYTES}"
    binary.causes = [{"id": "strlen-on-binary", "tests": [], "evidence": f"the reply stopped at {BYTES}"}]
    for record in records:
        if record.verdict == "fail":
            record.causes = [{"id": "strlen-on-binary", "tests": [], "evidence": "stops at the NUL"},
                             {"id": "no-reap", "tests": [], "evidence": "three zombies"}]  # fmt: skip
    return in_language(language, [*records, binary], graded_class)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_nothing_is_wider_than_a_1280_px_window(browser, page, tmp_path, graded_class, language):
    """Long reasons, names and messages wrap, in the page as graded and with an 8 KiB byte string in
    every place a student's text goes, in English and in Chinese."""
    assert language in i18n.languages(), "no compiled catalog: run python -m tests.i18n.catalog"
    graded = page.read_text() if language == "en" else in_language(language, class_records(graded_class), graded_class)
    binary = with_a_binary_student(graded_class, language)
    for html in (graded, binary):
        assert f'<html lang="{language.replace("_", "-")}">' in html
        seen, _dom = probed(browser, tmp_path, html, WIDTHS, width=1280)
        assert seen["window"] == 1280
        assert seen["scroll"] <= seen["window"] and not seen["past"], f"wider than the window: {seen}"
    assert BYTES[:200] in html_unescape(binary)  # shown, not cut away
    if language == "zh_CN":
        assert "全班最常见的错误" in binary and "The class" not in binary  # the page's own words are Chinese


def test_the_overview_comes_first_with_its_histogram(browser, page, tmp_path):
    """The class at a glance is above the table, and its bars are drawn in the first screen."""
    seen, _ = probed(browser, tmp_path, page.read_text(), WIDTHS, width=1280)
    assert seen["overview"] <= seen["table"], seen
    first_screen = screenshot(browser, tmp_path, page.as_uri(), size="1280,800")
    bars = sum(p == HISTOGRAM_BAR for row in first_screen for p in row)
    assert bars > 500, f"no histogram bars in the first screen ({bars} pixels of {HISTOGRAM_BAR})"
