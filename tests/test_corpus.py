"""Meta-tests: the spec catches every buggy program of the corpus and passes every correct one.

* each buggy program fails each spec test its header names in caught-by
  (only those tests are run, so a broken server costs seconds, not minutes);
* each correct program passes the whole spec;
* every spec test function is named in some buggy program's caught-by, so
  no spec test is unproven; and every header parses.

A program whose header says expect=gap (a bug no spec test catches) or
expect=false-alarm (a correct program the spec fails) is a recorded finding:
its test is a strict xfail, so it turns red the day the spec changes.

`python -m tests.corpus.table` runs the whole spec on every program instead,
and prints which tests failed where.
"""

from __future__ import annotations

import pytest

from tests.corpus import entries
from tests.corpus.entries import Entry

ENTRIES = entries.discover()[0]  # a program whose header does not parse fails test_header_parses
BUGGY = [e for e in ENTRIES if e.kind == "buggy"]
CORRECT = [e for e in ENTRIES if e.kind == "correct"]


def marked(entry: Entry, finding: str) -> pytest.param:
    """A test parameter for `entry`: a strict xfail if its header records `finding`."""
    marks = []
    if entry.expect == finding:
        marks.append(pytest.mark.xfail(strict=True, reason=f"{finding} recorded in the header: {entry.description}"))
    return pytest.param(entry, id=entry.id, marks=marks)


def skip_without_interpreter(entry: Entry) -> None:
    """A script whose interpreter this machine lacks (node) is not run, and says so."""
    if missing := entries.missing_interpreter(entry):
        pytest.skip(f"{entry.name} needs {missing}, which is not installed")


# -- static ------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "role", "kind"), entries.corpus_files(), ids=lambda v: getattr(v, "name", v))
def test_header_parses(path, role, kind):
    """Every corpus program has a header that follows tests/corpus/README.md."""
    entry = entries.load(path, role, kind)
    assert entry.description


def test_seed_headers_parse():
    assert len(entries.seed_entries()) == len(entries.SEED_HEADERS)


@pytest.mark.parametrize("role", sorted(entries.ROLES))
def test_every_spec_test_is_caught_by_some_buggy_program(role):
    """No spec test is unproven: each one is named in some buggy program's caught-by."""
    catalog = entries.spec_catalog(role)
    if catalog is None:
        pytest.skip(f"there is no spec/{role} yet")
    proven = {test for e in BUGGY if e.role == role for test in e.caught_by}
    unproven = sorted(set(catalog) - proven)
    assert not unproven, f"spec/{role} tests no buggy program claims to fail: {', '.join(unproven)}"


def test_caught_by_selects_exactly_its_tests():
    """-k 'test_a or test_b' matches by substring: no spec test's name may contain another's."""
    for role in entries.ROLES:
        names = sorted(entries.spec_catalog(role) or {})
        clashes = [(a, b) for a in names for b in names if a != b and a in b]
        assert not clashes, f"-k would select more than asked: {clashes}"


# Issue 15 asks for 95%; with six misses of 102 (three of them programs whose behaviour varies from
# run to run) the project is at 94%: this is the floor it keeps while it gets there.
DIAGNOSED_AT_LEAST = 0.95


def test_the_diagnosis_names_the_bug_of_nearly_every_buggy_program():
    """`diagnosed=no` records a program whose run's diagnosis misses its declared causes (each such
    header is checked by test_buggy_program_is_caught), `diagnosed=varies` one whose diagnosis changes
    from run to run: together at most 5% of the buggy programs (DIAGNOSED_AT_LEAST)."""
    proved = [e for e in BUGGY if e.expect != "gap"]
    right = [e for e in proved if e.diagnosed == "yes"]
    print(f"diagnosed {len(right)}/{len(proved)}")
    assert len(right) >= DIAGNOSED_AT_LEAST * len(proved), [e.name for e in proved if e.diagnosed != "yes"]


SERVERS = [e for e in ENTRIES if e.role == "server"]
# --model auto must tell a model for nearly every server: its declared one, or the real one of a
# server declared wrong on purpose.  It may refuse only servers that cannot be watched (they answer
# no client, or exit after their first), fit no model, or vary with address randomization: today
# 15 of 118.  Its rate over the corpus is reported, not only asserted.
AUTO_TELLS_A_MODEL_AT_LEAST = 0.85


def test_model_auto_tells_the_model_of_nearly_every_server():
    """`auto=none` and `auto=varies` headers are the exceptions: at most 15% of the servers (and
    never a correct one, whose declared model auto must find)."""
    told = [e for e in SERVERS if e.auto not in ("none", "varies")]
    print(f"--model auto: tells the model of {len(told)}/{len(SERVERS)} servers")
    assert all(e.auto == e.model for e in SERVERS if e.kind == "correct")
    assert len(told) >= AUTO_TELLS_A_MODEL_AT_LEAST * len(SERVERS), [e.name for e in SERVERS if e not in told]


@pytest.mark.slow
@pytest.mark.parametrize("entry", SERVERS, ids=lambda e: e.id)
def test_model_auto_finds_the_model(entry: Entry):
    """`--model auto` watches the server's first clients and finds the model its header says
    (`auto=`, or its model), or refuses it with a usage error where it says none."""
    skip_without_interpreter(entry)
    result = entries.run(entry, model="auto")
    if entry.auto == "varies":
        # One behaviour on some starts, another on others (address randomization): either its model
        # or a refusal, never a third.
        assert result.found_model in (entry.model, "none"), f"{entry.name}: --model auto found {result.found_model}"
        print(f"{entry.name}: what --model auto finds varies from run to run; this run: {result.found_model}")
        return
    assert result.found_model == entry.auto, (
        f"{entry.name}: --model auto found {result.found_model}, not {entry.auto}"
        + (f" ({result.startup_error})" if result.startup_error else "")
    )
    if entry.auto == "none":
        assert result.returncode == pytest.ExitCode.USAGE_ERROR and "--model auto" in result.startup_error


# -- running the spec ----------------------------------------------------------------
# Correct programs first: each runs the whole spec, the longest runs here, so under
# pytest -n they start early instead of ending the run alone.


@pytest.mark.slow
@pytest.mark.parametrize("entry", [marked(e, "false-alarm") for e in CORRECT])
def test_correct_program_passes(entry: Entry):
    """Run the whole spec: the program must pass every test that applies to it."""
    skip_without_interpreter(entry)
    result = entries.run(entry)
    print(f"{entry.describe()}: {len(result.tests)} spec tests in {result.seconds:.0f} s")
    assert result.passed, f"{entry.name} ({entry.description}) fails the spec:\n{result.failure_summaries()}"


@pytest.mark.slow
@pytest.mark.parametrize("entry", [marked(e, "gap") for e in BUGGY])
def test_buggy_program_is_caught(entry: Entry):
    """Run the program's caught-by tests (the whole spec for a recorded gap): each must fail."""
    skip_without_interpreter(entry)
    if entry.expect == "gap":
        result = entries.run(entry)
        print(f"{entry.describe()}: failing spec tests: {result.compact_failures() or 'none'}")
        assert result.caught, f"no spec test catches {entry.name}: {entry.description}"
        return
    result, missing = entries.prove_caught(entry)
    print(f"{entry.describe()} ({result.seconds:.0f} s): failing spec tests: {result.compact_failures() or 'none'}")
    assert not result.startup_error, f"{entry.name} does not start: {result.startup_error}"
    assert not result.timed_out, f"the spec run against {entry.name} did not finish"
    ran = {t.function for t in result.tests}
    assert not missing, (
        f"{entry.name} ({entry.description})\n"
        f"these caught-by tests did not fail: {', '.join(missing)}"
        + (f"\nnot run at all: {', '.join(t for t in missing if t not in ran)}" if set(missing) - ran else "")
        + f"\nfailed: {result.compact_failures() or 'nothing'}\n{result.output[-2000:] if not result.tests else ''}"
    )
    misses = result.diagnosis_misses()
    if entry.diagnosed == "varies":
        print(f"{entry.name}: its diagnosis varies from run to run; this run's: {result.causes}")
        return
    assert (entry.diagnosed == "yes") == (not misses), (
        f"{entry.name}: declared causes {', '.join(entry.causes)}; the run's diagnosis: {result.causes}"
        + (f" ({'; '.join(misses)})" if misses else " (right: drop diagnosed=no from its header)")
    )
