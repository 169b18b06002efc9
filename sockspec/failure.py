"""A spec failure, and the transcript of bytes that led to it.

A student reading a failure needs five things: what the test did, what it
expected, what happened instead, the likely bug in words they know, and the
bytes that crossed the wire.  `SpecFailure` carries the middle three; the
test's docstring says what it did; the plugin adds the server's state, its
last output and a command that reproduces the test.
"""

from __future__ import annotations

import threading
import time


class SpecFailure(AssertionError):
    """The server did not behave as the spec says."""

    def __init__(self, expected: str, happened: str, likely_bug: str = "", missed_deadline: str = "") -> None:
        self.expected = expected
        self.happened = happened
        self.likely_bug = likely_bug
        self.missed_deadline = missed_deadline  # the kind of deadline that expired, if that is what failed
        super().__init__(f"expected {expected}; {happened}")


def check(condition: object, expected: str, happened: str, likely_bug: str = "") -> None:
    """Raise SpecFailure unless `condition` holds."""
    if not condition:
        raise SpecFailure(expected, happened, likely_bug)


def preview(data: bytes, limit: int = 24) -> str:
    """A short, printable picture of some bytes, with their count."""
    shown = repr(bytes(data[:limit]))
    count = f"{len(data)} byte" + ("" if len(data) == 1 else "s")
    return shown + (f"... ({count})" if len(data) > limit else f" ({count})")


def describe_difference(expected: bytes, got: bytes) -> str:
    """Where `got` stops matching `expected`, in words."""
    if got == expected:
        return "the same bytes"
    if expected.startswith(got):
        return f"only the first {len(got)} of {len(expected)} bytes"
    offset = next(
        (i for i, (a, b) in enumerate(zip(expected, got)) if a != b),
        min(len(expected), len(got)),
    )
    if offset == len(expected):
        return f"all {len(expected)} bytes, then {len(got) - offset} more: {preview(got[offset:])}"
    return f"{preview(got)}, wrong from byte {offset} on, where {preview(expected[offset:])} was due"


class Transcript:
    """What crossed the wire in one test, on every connection, in order."""

    MAX_ENTRIES = 400

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._entries: list[str] = []
        self._dropped = 0
        self._lock = threading.Lock()

    def add(self, who: str, what: str) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.pop(0)
                self._dropped += 1
            self._entries.append(f"{time.monotonic() - self._start:7.3f}s {who}: {what}")

    def lines(self, limit: int = 16) -> list[str]:
        with self._lock:
            skipped = self._dropped + max(0, len(self._entries) - limit)
            shown = self._entries[-limit:]
        return ([f"... {skipped} earlier events"] if skipped else []) + shown
