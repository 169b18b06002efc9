"""The causes catalog, what a reply's bytes show (evidence), and the run's diagnosis over all failed tests."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockspec import causes, diagnosis, evidence
from sockspec.diagnosis import FailedTest
from tests.harness.conftest import run_pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = bytes(range(1, 40)) + b"\0" + bytes(range(41, 90))  # one NUL, at byte 39


def test_docs_causes_md_is_generated_from_the_catalog():
    assert (ROOT / "docs" / "causes.md").read_text() == causes.markdown(), (
        "run: python -m sockspec.causes > docs/causes.md"
    )


def test_every_cause_a_spec_test_names_is_in_the_catalog_and_every_cause_is_named_somewhere():
    """A marker's `causes=`, or a hint's, naming an id the catalog lacks would be dropped silently."""
    named = set()
    for path in [*(ROOT / "spec").rglob("test_*.py"), *(ROOT / "sockspec").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "causes" and isinstance(node.value, ast.Tuple):
                named |= {ast.literal_eval(element) for element in node.value.elts}
    assert named - set(causes.CAUSES) == set()
    by_evidence = {  # what the harness and the tests append to SpecFailure.evidence
        node.value
        for path in [*(ROOT / "sockspec").rglob("*.py"), *(ROOT / "spec").rglob("*.py")]
        if path.name != "causes.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in causes.CAUSES
    }
    assert set(causes.CAUSES) - named - by_evidence == set(), "a cause no test, hint or evidence can name"


@pytest.mark.parametrize(
    "got, ended, cause",
    [
        (DATA[:39], False, "strlen-on-binary"),  # stops right before the NUL
        (DATA[:39] + DATA[40:], False, "strlen-on-binary"),  # the NUL and nothing else missing
        (DATA + b"\0", False, "adds-bytes"),  # a terminator more
        (DATA[:10] + b"\n" + DATA[10:], False, "adds-bytes"),  # a newline put in
        (DATA[:10] + b"\n", False, "adds-bytes"),  # a newline, the last byte come so far
        (b"\n", False, "adds-bytes"),  # the newline after the reply before, on its own
        (DATA + bytes(1024 - len(DATA)), False, "sends-whole-buffer"),  # the whole buffer
        (DATA[:-1], False, "drops-bytes"),  # the last byte gone
        (DATA[:20] + DATA[:20], False, "buffer-never-cleared"),  # starts over
    ],
    ids=[
        "cut-at-nul",
        "nul-skipped",
        "nul-added",
        "newline-added",
        "newline-last",
        "newline-alone",
        "whole-buffer",
        "last-byte",
        "starts-over",
    ],  # fmt: skip
)
def test_what_a_reply_shows(got, ended, cause):
    assert cause in [found for found, _ in evidence.of_reply(DATA, got, ended)]


def test_a_decoding_error_in_the_output_names_decoding():
    traceback = ["Traceback (most recent call last):", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff"]
    assert [cause for cause, _ in evidence.of_output(traceback)] == ["decodes-text"]
    assert evidence.of_output(["listening on 127.0.0.1:5000", "client say: hello"]) == []


def test_crlf_turned_into_lf():
    sent = b"line one\r\nline two\r\n"
    assert evidence.of_reply(sent, b"line one\nline two\n", False)[0][0] == "drops-bytes"


@pytest.mark.parametrize(
    "got, ended",
    [(DATA, False), (DATA[:20], False), (b"", True), (DATA[:5] + b"X" + DATA[6:], False)],
    ids=["right", "cut-short", "nothing-then-end", "one-byte-changed"],
)
def test_a_reply_that_shows_nothing_names_nothing(got, ended):
    """The right reply, one merely cut short away from any NUL, nothing at all before the connection
    ended (a handler that died, whatever killed it), one byte changed: no evidence of a cause."""
    assert evidence.of_reply(DATA, got, ended) == []


def test_evidence_outweighs_the_tests_usual_guesses():
    """The issue's server: its only bug is strlen(); nine size tests guess a fixed buffer first, but
    their bytes stop at NUL bytes."""
    sizes = [
        FailedTest(f"test_message_sizes[{n}]", ["strlen-on-binary", "recv-length-overflow"], {"strlen-on-binary": "x"})
        for n in range(9)
    ]
    sizes[0] = FailedTest("test_message_sizes[0]", ["recv-length-overflow", "recv-is-not-a-message"])  # no evidence
    shared = FailedTest("test_distinct_payloads", ["strlen-on-binary", "shared-buffer"], {"strlen-on-binary": "x"})
    found = diagnosis.rank([*sizes, shared])
    assert [c["id"] for c in found] == ["strlen-on-binary", "recv-length-overflow"]
    assert found[0]["evidence"] == "x" and len(found[0]["tests"]) == 9  # the 8 sizes with evidence, and shared


def test_two_bugs_are_both_named_and_one_bug_once():
    failed = [
        FailedTest("test_child_exits", ["child-falls-into-accept", "no-reap"]),
        FailedTest("test_no_cpu_after", ["spin-on-eof", "child-falls-into-accept", "busy-poll"]),
        FailedTest("test_restart", ["no-reuseaddr"]),
    ]
    assert [c["id"] for c in diagnosis.rank(failed)] == ["child-falls-into-accept", "no-reuseaddr"]
    assert diagnosis.rank([]) == []


def test_candidates_keep_order_drop_repeats_and_unknown_ids():
    found = diagnosis.candidates([("adds-bytes", "a NUL")], ("no-such-cause", "adds-bytes"), ("drops-bytes",))
    assert found == ["adds-bytes", "drops-bytes"]


def test_a_run_prints_its_diagnosis_and_writes_it_to_the_results_file(tmp_path):
    """The whole path, against a server that sends back each recv()'s bytes up to the first NUL, on
    a test about closing (whose own guess is about closing): its bytes stop at a NUL, so the
    DIAGNOSIS section and the results file's diagnosis line name strlen."""
    server = tmp_path / "strlen_server.py"
    server.write_text(
        "import socket, sys\n"
        "s = socket.create_server(('127.0.0.1', int(sys.argv[-1])), reuse_port=False)\n"
        "while True:\n"
        "    c, _ = s.accept()\n"
        "    while data := c.recv(65536):\n"
        "        c.sendall(data.split(b'\\0')[0])\n"
        "    c.close()\n"
    )
    results = tmp_path / "results.jsonl"
    done = run_pytest(
        "--impl", str(server), "--model", "iterative", "--sockspec-results", str(results),
        "spec/server/test_close.py", "-k", "half_close_right_after_a_large_message",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DIAGNOSIS: the likely bug" in done.stdout and "1. strlen-on-binary:" in done.stdout, done.stdout
    assert "exactly where the data holds a NUL byte" in done.stdout
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    (found,) = [line for line in lines if line["kind"] == "diagnosis"]
    assert found["causes"][0]["id"] == "strlen-on-binary"
    test = next(line for line in lines if line["kind"] == "test" and line["outcome"] == "failed")
    assert test["causes"][0] == "strlen-on-binary" and "strlen-on-binary" in test["evidence"]
    assert lines[-1]["kind"] == "end"


@given(st.binary(max_size=300), st.binary(max_size=300), st.booleans(), st.binary(max_size=20), st.integers(0, 400))
@settings(max_examples=500, deadline=None)
def test_evidence_never_fails_whatever_the_bytes(expected, got, ended, first_sent, shown):
    """It runs inside a failing test's report: an exception there would hide the failure itself."""
    for cause, words in [
        *evidence.of_reply(expected, got, ended, first_sent),
        *evidence.of_shown(expected, shown, got),
    ]:
        assert cause in causes.CAUSES and words
    if got:
        assert evidence.of_extra(got)[0] in causes.CAUSES


def test_a_finding_that_fits_two_causes_alike_is_ordered_by_the_tests_own_guesses():
    skipped = [("drains-socket", "skips ahead"), ("partial-send-ignored", "skips ahead")]
    assert diagnosis.candidates(skipped, ("partial-send-ignored",))[:2] == ["partial-send-ignored", "drains-socket"]
    assert diagnosis.candidates(skipped, ("drains-socket",))[:2] == ["drains-socket", "partial-send-ignored"]
    strong = [("strlen-on-binary", "cut at a NUL"), *skipped]
    assert diagnosis.candidates(strong, ("partial-send-ignored",))[0] == "strlen-on-binary"
