"""A spec failure, and the transcript of bytes that led to it.

A student reading a failure needs five things: what the test did, what it
expected, what happened instead, the likely bug in words they know, and the
bytes that crossed the wire.  `SpecFailure` carries the middle three; the
test's docstring says what it did; the plugin adds the server's state, its
last output and a command that reproduces the test.
"""

from __future__ import annotations

import re
import threading
import time

from sockspec.i18n import _, ngettext


class Hint(str):
    """A likely bug in words, with the ids of the causes it names (sockspec.causes), most likely
    first: a plain string everywhere text goes, and data where the diagnosis reads it.  A `general`
    hint is one the harness attaches whatever the test (a server that spins, one that stops
    answering while others are connected): the test's own causes rank before its causes."""

    causes: tuple[str, ...]
    general: bool

    def __new__(cls, text: str, causes: tuple[str, ...] = (), general: bool = False) -> Hint:
        hint = super().__new__(cls, text)
        hint.causes = tuple(causes)
        hint.general = general
        return hint


class SpecFailure(AssertionError):
    """The server did not behave as the spec says."""

    def __init__(self, expected: str, happened: str, likely_bug: str = "", missed_deadline: str = "") -> None:
        self.expected = expected
        self.happened = happened
        self.likely_bug = likely_bug
        self.missed_deadline = missed_deadline  # the kind of deadline that expired, if that is what failed
        # Set when a reply came back changed or cut short: the likely bug then, in a test that is
        # about something else (closing, reaping) and whose usual cause would mislead.
        self.exchange_hint = ""
        # What the bytes themselves showed (sockspec.evidence): (cause id, words), strongest first.
        self.evidence: list[tuple[str, str]] = []
        self.received = b""  # the reply that came instead, where one was expected
        super().__init__(_("expected {expected}; {happened}").format(expected=expected, happened=happened))


def check(condition: object, expected: str, happened: str, likely_bug: str = "") -> None:
    """Raise SpecFailure unless `condition` holds."""
    if not condition:
        raise SpecFailure(expected, happened, likely_bug)


def preview(data: bytes, limit: int = 24) -> str:
    """A short, printable picture of some bytes, with their count."""
    shown = repr(bytes(data[:limit]))
    count = byte_count(len(data))
    return shown + (f"... ({count})" if len(data) > limit else f" ({count})")


def byte_count(count: int) -> str:
    """'1 byte', '5 bytes', in words."""
    return ngettext("{count} byte", "{count} bytes", count).format(count=count)


def describe_difference(expected: bytes, got: bytes) -> str:
    """Where `got` stops matching `expected`, in words."""
    if got == expected:
        return _("the same bytes")
    if expected.startswith(got):
        return ngettext(
            "only the first {got} of {total} byte", "only the first {got} of {total} bytes", len(expected)
        ).format(got=len(got), total=len(expected))
    offset = next(
        (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
        min(len(expected), len(got)),
    )
    if offset == len(expected):
        return ngettext(
            "all {total} byte, then {more} more: {extra}", "all {total} bytes, then {more} more: {extra}", len(expected)
        ).format(total=len(expected), more=len(got) - offset, extra=preview(got[offset:]))
    return _("{got}, wrong from byte {offset} on, where {due} was due").format(
        got=preview(got), offset=offset, due=preview(expected[offset:])
    )


class Transcript:
    """What crossed the wire in one test, on every connection, in order."""

    MAX_ENTRIES = 400

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._entries: list[tuple[float, str, str]] = []
        self._dropped = 0
        self._lock = threading.Lock()

    def add(self, who: str, what: str) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.pop(0)
                self._dropped += 1
            self._entries.append((time.monotonic() - self._start, who, what))

    def lines(self, limit: int = 16) -> list[str]:
        """The last events, with runs of many clients doing the same thing told once."""
        with self._lock:
            entries = list(self._entries)
            dropped = self._dropped
        events = _merge_runs(entries)
        skipped = dropped + sum(count for *_rest, count in events[:-limit]) if len(events) > limit else dropped
        shown = [f"{at:7.3f}s {who}: {what}" for at, who, what, _count in events[-limit:]]
        earlier = ngettext("... {count} earlier event", "... {count} earlier events", skipped)
        return ([earlier.format(count=skipped)] if skipped else []) + shown


def _merge_runs(entries: list[tuple[float, str, str]]) -> list[tuple[float, str, str, int]]:
    """Merge consecutive events of consecutive clients that differ only in the client's number.

    "client 3: closed", ..., "client 30: closed" becomes "clients 3-30: closed", and
    "client 16: sent b'hi 16'" ... becomes "clients 16-30: sent b'hi N'".
    """
    merged: list[tuple[float, str, str, int]] = []
    first = last = -1
    for at, who, what in entries:
        prefix, _space, number = who.rpartition(" ")
        general = re.sub(rf"\b{number}\b", "N", what, count=1) if number.isdigit() else what
        if merged and number.isdigit() and int(number) == last + 1:
            m_at, m_who, m_what, m_count = merged[-1]
            m_general = m_what if m_count > 1 else re.sub(rf"\b{last}\b", "N", m_what, count=1)
            if m_who.rpartition(" ")[0].removesuffix("s") == prefix and m_general == general:
                last += 1
                merged[-1] = (m_at, f"{prefix}s {first}-{last}", general, m_count + 1)
                continue
        merged.append((at, who, what, 1))
        first = last = int(number) if number.isdigit() else -1
    return merged
