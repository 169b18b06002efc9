"""Named waits: parsing overrides, scaling, and shortening after a missed deadline."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from sockspec import timeouts
from sockspec.timeouts import Patience, Timeouts, parse_overrides, wait_for


def test_every_wait_is_documented():
    assert set(timeouts.DOCS) == {f.name for f in dataclasses.fields(Timeouts)}


def test_overrides_parse_and_apply():
    overrides = parse_overrides(["reply=2.5", "start=30"])
    assert overrides == {"reply": 2.5, "start": 30.0}
    waits = Timeouts().with_overrides(overrides).scaled(2)
    assert waits.reply == 5.0 and waits.start == 60.0 and waits.silence == Timeouts().silence * 2


@pytest.mark.parametrize(
    "item, words",
    [("reply", "NAME=SECONDS"), ("nosuch=1", "NAME=SECONDS"), ("reply=soon", "not a number"), ("reply=0", "positive")],
)
def test_bad_overrides_say_why(item, words):
    with pytest.raises(ValueError, match=words):
        parse_overrides([item])


def test_wait_for_returns_as_soon_as_the_condition_holds():
    start = time.monotonic()
    calls = iter([0, 0, "done"])
    assert wait_for(lambda: next(calls), 5) == "done"
    assert time.monotonic() - start < 1


def test_wait_for_gives_up_at_the_deadline():
    start = time.monotonic()
    assert wait_for(lambda: False, 0.2) is False
    assert 0.2 <= time.monotonic() - start < 1


def test_one_missed_deadline_shortens_every_later_wait():
    patience = Patience(Timeouts())
    patience.note_answered()
    assert patience.current() == Timeouts() and patience.note() == ""
    patience.note_missed({"", "connect"}, "test_a")  # not a deadline that shortens
    assert patience.current() == Timeouts()
    patience.note_missed({"settle"}, "test_a")
    patience.note_missed({"reply"}, "test_b")
    shorter = patience.current()
    assert (shorter.reply, shorter.settle, shorter.exit) == tuple(
        timeouts.SHORTENED[k] for k in ("reply", "settle", "exit")
    )
    assert shorter.start == Timeouts().start and shorter.silence == Timeouts().silence  # windows stay whole
    assert patience.note(test="test_a") == ""  # the test that missed it waited the full deadline
    assert "5 s settle deadline in test_a" in patience.note(test="test_b")


def test_a_mute_server_gets_the_shortest_reply_deadline():
    patience = Patience(Timeouts())
    patience.note_missed({"reply"}, "test_a")
    assert patience.current().reply == timeouts.MUTE_REPLY
    assert "has not answered anything yet" in patience.note()
    patience.note_answered()
    assert patience.current().reply == timeouts.SHORTENED["reply"]


def test_a_program_that_keeps_missing_replies_is_treated_as_mute():
    patience = Patience(Timeouts())
    patience.note_answered()
    for test in ("test_a", "test_b"):
        patience.note_missed({"reply"}, test)
        assert patience.current().reply == timeouts.SHORTENED["reply"]
    patience.note_missed({"reply"}, "test_b")  # the same test again: still two tests
    assert patience.current().reply == timeouts.SHORTENED["reply"]
    patience.note_missed({"reply"}, "test_c")
    assert patience.current().reply == timeouts.MUTE_REPLY
    assert "missed reply deadlines in 3 tests" in patience.note(test="test_d")


def test_the_readme_lists_every_wait():
    """The README's table of options names every wait one can change."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [name for name in timeouts.DOCS if f"`{name}`" not in readme]
    assert not missing, f"README.md does not list the waits {missing}"
