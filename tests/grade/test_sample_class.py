"""`sockspec grade` on a sample class: every verdict, every report, nothing left running.

The class mixes the seed's servers exactly as written (hard-coded
192.168.153.128:19999), correct and buggy servers in C and Python, and
every fault the grader must survive.  See conftest.SAMPLE.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sockspec.causes import CAUSES
from tests.grade.conftest import SAMPLE, Graded, grader_leftovers, make_class, run_grader

pytestmark = pytest.mark.slow

# name in the summary -> (verdict, text its one-line reason must contain); {n} is the number of
# spec tests for a threaded server in the stdin mode, taken from the reports (the spec grows).
EXPECTED = {
    "seed_iterative": ("fail", "tests failed"),
    "seed_forking": ("fail", "tests failed"),
    "seed_threaded": ("fail", "tests failed"),
    "correct_hardcoded": ("pass", "all {n} tests passed"),
    "correct_threaded": ("pass", "all {n} tests passed"),
    "run_script": ("pass", "all {n} tests passed"),
    "one_at_a_time": ("fail", "tests failed"),
    "crashes": ("fail", "tests failed"),
    "forkbomb": ("error", "never listens"),
    "never_listens": ("error", "never listens: the server exited with status 1 before listening"),
    "wrong_port": ("error", "listens on port 8014, but its source says port 19999 (htons() missing?)"),
    "does_not_compile": ("error", "does not compile: does_not_compile.c:6:"),
    "sleeps_forever": ("error", "never listens: still running after 10 s"),
    "not_a_server": ("error", "the server exited with status 0 before listening (it printed: hello, world)"),
    "notes.txt": ("error", "not a C, C++ or Python source: notes.txt"),
    "empty": ("error", "the folder is empty"),
}


@pytest.fixture
def graded(graded_class: Graded) -> Graded:
    if not graded_class.namespaced:
        pytest.skip("network namespaces are not available here: hard-coded addresses cannot be graded as written")
    return graded_class


def spec_tests(graded: Graded) -> int:
    """How many spec tests apply to every submission of the class (a record lists each)."""
    return len(graded.record("empty")["tests"])


def test_every_submission_gets_its_verdict_and_reason(graded: Graded):
    assert graded.returncode == 0, graded.stderr
    rows = {row["name"]: row for row in graded.summary["submissions"]}
    assert set(rows) == set(EXPECTED) | {"prints_gigabytes"}
    for name, (verdict, reason) in EXPECTED.items():
        assert (rows[name]["verdict"], name) == (verdict, name), rows[name]["reason"]
        reason = reason.format(n=spec_tests(graded))
        assert reason in rows[name]["reason"], f"{name}: {rows[name]['reason']}"
        assert "\n" not in rows[name]["reason"]


def test_summary_has_the_documented_shape(graded: Graded):
    summary = graded.summary
    assert (summary["model"], summary["reply"]) == ("threaded", "stdin")
    for row in summary["submissions"]:
        assert set(row) == {"name", "verdict", "score", "max_score", "failed", "causes", "reason"}
        assert all(cause in CAUSES for cause in row["causes"]) and bool(row["causes"]) <= (row["verdict"] == "fail")
        assert row["max_score"] == 14.0  # threaded: every family but queues and zombies
        assert 0 <= row["score"] <= row["max_score"]
        assert (row["verdict"] == "pass") == (row["score"] == row["max_score"])
    with open(graded.out / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["name"] for r in table] == [r["name"] for r in summary["submissions"]]
    assert table[0].keys() == {"name", "verdict", "score", "max_score", "failed", "causes", "reason"}
    seed = next(row for row in summary["submissions"] if row["name"] == "seed_threaded")
    assert seed["causes"][:1] == ["no-reuseaddr"], seed  # the seed's threaded server: no SO_REUSEADDR


def test_hard_coded_address_is_graded_unmodified(graded: Graded):
    """The seed binds 192.168.153.128:19999: inside its namespace it is found there and served."""
    record = graded.record("seed_threaded")
    assert record["note"] == "listens on 192.168.153.128:19999, hard-coded in its source"
    families = {t["family"] for t in record["tests"] if t["outcome"] == "passed"}
    assert {"close", "concurrency"} <= families  # it really talked to the seed's server
    assert graded.row("correct_hardcoded")["score"] == 14.0


def test_partial_credit_per_family(graded: Graded):
    record = graded.record("one_at_a_time")
    concurrency = [t for t in record["tests"] if t["family"] == "concurrency"]
    assert all(t["max_points"] == pytest.approx(3.0 / len(concurrency)) for t in concurrency)  # weight 3
    assert any(t["outcome"] != "passed" for t in concurrency)
    assert 0 < graded.row("one_at_a_time")["score"] < 14


def test_fork_bomb_is_capped_and_named(graded: Graded):
    reason = graded.row("forkbomb")["reason"]
    if "cgroup" in json.dumps(graded.summary["sandbox"]["process_cap"]):
        assert "hit the cap of 512 processes: a fork bomb?" in reason


def test_build_failure_keeps_the_compiler_messages(graded: Graded):
    build = (graded.out / "does_not_compile" / "build.txt").read_text()
    assert "does_not_compile.c:6:" in build and "error" in build
    assert str(graded.class_dir) not in build  # paths as the student knows them


def test_output_flood_is_capped(graded: Graded):
    row = graded.row("prints_gigabytes")
    assert row["verdict"] in ("pass", "fail") and row["reason"]
    log = graded.out / "prints_gigabytes" / "server.txt"
    assert 0 < log.stat().st_size <= (1 << 20) + 100


def test_per_submission_reports(graded: Graded):
    jsonschema = pytest.importorskip("jsonschema", reason="results.json is checked against Gradescope's format")
    schema = json.loads((Path(__file__).parent / "schemas" / "gradescope-results.schema.json").read_text())
    for name in EXPECTED:
        folder = graded.out / name
        results = json.loads((folder / "results.json").read_text())
        jsonschema.validate(results, schema)
        assert {"score", "tests", "output", "visibility"} <= set(results)
        assert results["score"] == graded.row(name)["score"]
        for test in results["tests"]:
            assert {"name", "score", "max_score", "output", "visibility"} <= set(test)
        suite = ET.parse(folder / "junit.xml").getroot()
        assert suite.tag == "testsuite" and int(suite.get("tests")) == spec_tests(graded) > 0
    failing = ET.parse(graded.out / "crashes" / "junit.xml").getroot()
    assert failing.findall("testcase/failure"), "a failed test carries a <failure> with the details"
    assert (graded.out / "crashes" / "server.txt").exists() and (graded.out / "crashes" / "build.txt").exists()


def test_nothing_is_left_behind(graded: Graded):
    assert grader_leftovers(graded.pid, graded.out.parent) == []


def test_rerun_skips_unchanged_and_follows_new_weights(tmp_path):
    """A re-run grades nothing again, but points follow a new weights file; a changed one is graded."""
    out = tmp_path / "grades"
    class_dir = make_class(tmp_path / "class", ["does_not_compile.c", "notes.txt", "empty"])
    first = run_grader(class_dir, out, "--model", "threaded", "--reply", "stdin")
    assert first.returncode == 0, first.stderr
    weights = tmp_path / "weights.toml"
    weights.write_text("[weights]\nsend_recv = 6\nresources = 0\n")
    again = run_grader(class_dir, out, "--model", "threaded", "--reply", "stdin", "--weights", str(weights))
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("unchanged, not run again") == 3
    rows = {r["name"]: r for r in json.loads((out / "summary.json").read_text())["submissions"]}
    assert rows["empty"]["max_score"] == 15.0  # 14 + (6 - 3) - 2
    (class_dir / "empty" / "server.py").write_text("print('hello, world')\n")
    third = run_grader(class_dir, out, "--model", "threaded", "--reply", "stdin")
    assert third.stderr.count("unchanged, not run again") == 2  # the changed one is graded again
    rows = {r["name"]: r for r in json.loads((out / "summary.json").read_text())["submissions"]}
    assert "hello, world" in rows["empty"]["reason"]
    forced = run_grader(class_dir, out, "--model", "threaded", "--reply", "stdin", "--force")
    assert "not run again" not in forced.stderr


def test_shards_merge_into_the_whole(graded: Graded, tmp_path):
    """Three shards of the sample class, merged, give the same summary as grading it whole."""
    from sockspec.grade.discover import discover, shard

    subs = discover(graded.class_dir)
    slices = [{s.name for s in shard(subs, k, 3)} for k in (1, 2, 3)]
    assert set().union(*slices) == {s.name for s in subs} and sum(map(len, slices)) == len(subs)
    # Shard folders are made from the whole run's per-submission reports (grading again would
    # take minutes); what is tested is the slicing above and the merge below.
    import shutil

    from sockspec.grade.merge import main as merge_main

    shard_dirs = []
    whole = graded.summary
    for k, names in enumerate(slices, 1):
        folder = tmp_path / f"shard{k}"
        folder.mkdir()
        rows = [r for r in whole["submissions"] if r["name"] in names]
        for row in rows:
            shutil.copytree(graded.out / row["name"], folder / row["name"])
        summary = dict(whole, submissions=rows, shard=f"{k}/3")
        (folder / "summary.json").write_text(json.dumps(summary))
        shard_dirs.append(str(folder))
    assert merge_main([*shard_dirs, "--out", str(tmp_path / "merged")]) == 0
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    assert merged["submissions"] == whole["submissions"]
    assert merged["shards"] == ["1/3", "2/3", "3/3"]
    assert (tmp_path / "merged" / "report.html").read_text().count('<section class="student"') == len(subs)


@pytest.mark.parametrize("entry", sorted(SAMPLE))
def test_sample_entries_exist(entry):
    """Every fixture the sample class names is checked in."""
    source = SAMPLE[entry]
    assert not hasattr(source, "exists") or source.exists()
