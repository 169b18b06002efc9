"""`sockspec grade --role client` on a sample class of clients: every verdict, every report.

The class holds the seed's client exactly as written (it connects to
192.168.153.128:19999, hard-coded), the reference client, a correct C
client and buggy ones of the client corpus, and the faults a class of
clients brings: one that does not compile, one that never connects, an
empty folder.  See conftest.CLIENT_SAMPLE.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from sockspec.grade.scoring import DEFAULT_WEIGHTS
from tests.grade.conftest import (
    CLIENT_FAST,
    CLIENTS,
    Graded,
    grader_leftovers,
    run_grader,
)

pytestmark = pytest.mark.slow

FAMILIES = ["chat", "connect", "end_of_input", "idle_cpu", "reply_sizes", "reset", "server_close", "stream"]
TESTS = 26  # the client spec without its two binary-safe tests (no --client-binary)
MAX_SCORE = 17.0  # the client weights: 3 + 3 + 2 * 5 + 1

# name in the summary -> (verdict, text its one-line reason must contain)
EXPECTED = {
    "seed_iterative": ("fail", f"of {TESTS} tests failed"),
    "reference_client": ("pass", f"all {TESTS} tests passed"),
    "forking": ("pass", f"all {TESTS} tests passed"),
    "sigpipe_after_reset": ("fail", f"of {TESTS} tests failed"),
    "exit_status_on_close": ("fail", f"of {TESTS} tests failed"),
    "connect_error_on_stdout": ("fail", f"of {TESTS} tests failed"),
    "client_does_not_compile": (
        "error",
        "does not compile: client_does_not_compile.cpp:17:17: error: ‘sockdf’ was not declared",
    ),
    "asks_for_the_server": ("error", "never connects: still running after 5 s without connecting anywhere"),
    "empty": ("error", "the folder is empty"),
}

# The seed's client fails these on every run (tests/corpus/clients/README.md lists why).
SEED_ALWAYS_FAILS = {
    "test_server_closes_while_client_waits_for_input",
    "test_reply_then_close",
    "test_end_of_input_closes_the_connection",
    "test_end_of_input_before_any_line",
    "test_reset_instead_of_reply",
    "test_reset_while_client_waits_for_input",
}


@pytest.fixture
def graded(graded_clients: Graded) -> Graded:
    if not graded_clients.namespaced:
        pytest.skip("network namespaces are not available here: hard-coded addresses cannot be graded as written")
    return graded_clients


def caught_by(path) -> set[str]:
    """The tests a corpus client's header says must fail."""
    return set(re.search(r"caught-by=(\S+)", path.read_text()).group(1).split(","))


def outcomes(record: dict) -> dict[str, str]:
    """Test function name (parameters dropped) -> outcome; a parametrized test fails if any case does."""
    found: dict[str, str] = {}
    for test in record["tests"]:
        name = test["nodeid"].split("::")[-1].split("[")[0]
        if found.get(name, "passed") == "passed":
            found[name] = test["outcome"]
    return found


def test_every_client_gets_its_verdict_and_reason(graded: Graded):
    assert graded.returncode == 0, graded.stderr
    rows = {row["name"]: row for row in graded.summary["submissions"]}
    assert set(rows) == set(EXPECTED)
    for name, (verdict, reason) in EXPECTED.items():
        assert (rows[name]["verdict"], name) == (verdict, name), rows[name]["reason"]
        assert reason in rows[name]["reason"], f"{name}: {rows[name]['reason']}"
        assert "\n" not in rows[name]["reason"]


def test_summary_says_clients(graded: Graded):
    summary = graded.summary
    assert (summary["role"], summary["model"], summary["reply"]) == ("client", None, None)
    for row in summary["submissions"]:
        assert set(row) == {"name", "verdict", "score", "max_score", "failed", "causes", "reason"}
        assert row["max_score"] == MAX_SCORE
        assert (row["verdict"] == "pass") == (row["score"] == row["max_score"])
    with open(graded.out / "summary.csv", newline="") as f:
        assert [r["name"] for r in csv.DictReader(f)] == [r["name"] for r in summary["submissions"]]


def test_seed_client_is_graded_unmodified_at_its_hard_coded_address(graded: Graded):
    """The seed's client connects to 192.168.153.128:19999: the probe finds it there, the harness
    listens there inside its namespace, and the client talks to it as written."""
    record = graded.record("seed_iterative")
    assert record["kind"] == "c++" and record["role"] == "client"  # client.cpp, not server.cpp, was chosen
    assert record["note"] == "connects to 192.168.153.128:19999, hard-coded in its source"
    found = outcomes(record)
    # It really reached the harness: its line arrived, and a refused connection there was reported.
    assert found["test_typed_line_reaches_server"] == "passed"
    assert found["test_connection_refused"] == "passed"
    assert all(found[test] == "failed" for test in SEED_ALWAYS_FAILS), found
    assert 0 < graded.row("seed_iterative")["score"] < MAX_SCORE


def test_correct_clients_connect_where_they_are_told(graded: Graded):
    for name in ("reference_client", "forking"):
        assert graded.record(name)["note"] == "connects where it is told"
    assert graded.record("reference_client")["kind"] == "run"


@pytest.mark.parametrize("name", ["sigpipe_after_reset", "exit_status_on_close", "connect_error_on_stdout"])
def test_buggy_clients_fail_their_tests(graded: Graded, name: str):
    """Each buggy client of the corpus fails the tests its header names, and only loses their points."""
    found = outcomes(graded.record(name))
    expected = caught_by(CLIENTS / "buggy" / f"{name}.c")
    assert {test for test in expected if found[test] == "failed"} == expected
    assert 0 < graded.row(name)["score"] < MAX_SCORE


def test_reports_hold_the_client_families(graded: Graded):
    record = graded.record("seed_iterative")
    assert sorted({t["family"] for t in record["tests"]}) == FAMILIES == sorted(DEFAULT_WEIGHTS["client"])
    page = (graded.out / "report.html").read_text()
    header = re.search(r"<thead>(.*?)</thead>", page, re.DOTALL).group(1)
    assert sorted(re.findall(r"<th>(\w+)</th>", header)) == sorted([*FAMILIES, "student", "verdict", "score", "reason"])
    assert "<b>clients</b>" in page
    for name in EXPECTED:
        results = json.loads((graded.out / name / "results.json").read_text())
        ran = graded.row(name)["verdict"] != "error"  # else one failed test holds the reason (Gradescope)
        assert results["score"] == graded.row(name)["score"] and len(results["tests"]) == (TESTS if ran else 1)
        suite = ET.parse(graded.out / name / "junit.xml").getroot()
        assert int(suite.get("tests")) == TESTS
        assert {case.get("classname") for case in suite.iter("testcase")} == {f"spec.client.{f}" for f in FAMILIES}
    build = (graded.out / "client_does_not_compile" / "build.txt").read_text()
    assert "client_does_not_compile.cpp:17:17" in build and str(graded.class_dir) not in build
    assert "spec/client/test_reset.py" in (graded.out / "sigpipe_after_reset" / "spec-output.txt").read_text()


def test_nothing_is_left_behind(graded: Graded):
    assert grader_leftovers(graded.pid, graded.out.parent) == []


def test_shards_of_clients_merge_into_the_whole(graded: Graded, tmp_path):
    """Two shards of the class, merged, give the same summary; a shard of servers is refused beside them."""
    from sockspec.grade.discover import discover, shard
    from sockspec.grade.merge import main as merge_main

    subs = discover(graded.class_dir, "client")
    whole = graded.summary
    folders = []
    for k in (1, 2):
        names = {s.name for s in shard(subs, k, 2)}
        folder = tmp_path / f"shard{k}"
        folder.mkdir()
        rows = [r for r in whole["submissions"] if r["name"] in names]
        for row in rows:
            shutil.copytree(graded.out / row["name"], folder / row["name"])
        (folder / "summary.json").write_text(json.dumps(dict(whole, submissions=rows, shard=f"{k}/2")))
        folders.append(str(folder))
    assert merge_main([*folders, "--out", str(tmp_path / "merged")]) == 0
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    assert merged["submissions"] == whole["submissions"] and merged["role"] == "client"
    servers = tmp_path / "servers"
    servers.mkdir()
    (servers / "summary.json").write_text(json.dumps({"model": "threaded", "reply": "echo", "submissions": []}))
    assert merge_main([*folders, str(servers), "--out", str(tmp_path / "mixed")]) == 2


def test_rerun_of_clients_skips_unchanged_and_follows_new_weights(graded: Graded, tmp_path):
    """Grading the class again (a copy) runs nothing again, but points follow a new weights file; a
    changed client is graded again, and the same folder graded as servers is another grading."""
    class_dir, out = tmp_path / "class", tmp_path / "grades"
    shutil.copytree(graded.class_dir, class_dir, symlinks=True)
    shutil.copytree(graded.out, out)
    weights = tmp_path / "weights.toml"
    weights.write_text("[weights]\nchat = 5\nconnect = 0\n")
    again = run_grader(class_dir, out, "--role", "client", "--weights", str(weights), "--jobs", "2",
                       "--timeout", "90", *CLIENT_FAST)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("unchanged, not run again") == len(EXPECTED)
    rows = {r["name"]: r for r in json.loads((out / "summary.json").read_text())["submissions"]}
    assert rows["empty"]["max_score"] == MAX_SCORE + 2 - 1
    assert rows["forking"]["score"] == MAX_SCORE + 2 - 1 and rows["forking"]["verdict"] == "pass"
    (class_dir / "empty" / "client.py").write_text("print('hello, world')\n")
    third = run_grader(class_dir, out, "--role", "client", "--jobs", "2", "--timeout", "90", *CLIENT_FAST)
    assert third.stderr.count("unchanged, not run again") == len(EXPECTED) - 1
    rows = {r["name"]: r for r in json.loads((out / "summary.json").read_text())["submissions"]}
    assert rows["empty"]["reason"] == (
        "never connects: the client exited with status 0 before connecting (it printed: hello, world)"
    )
    # Two of its entries graded as servers into the same reports: nothing of the clients' is reused.
    as_servers = tmp_path / "as-servers"
    as_servers.mkdir()
    shutil.copytree(class_dir / "empty", as_servers / "empty")
    shutil.copy(class_dir / "client_does_not_compile.cpp", as_servers)
    servers = run_grader(as_servers, out, "--model", "threaded")
    assert servers.returncode == 0 and "not run again" not in servers.stderr
    assert json.loads((out / "summary.json").read_text())["role"] == "server"
