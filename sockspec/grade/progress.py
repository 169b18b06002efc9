"""Show a grading run as it goes: a bar on a terminal, one line per submission in a log.

On a terminal, one line is redrawn in place: submissions done, how many
passed, failed and could not be graded, time elapsed and an estimate of
the time left.  Anywhere else (CI logs, `| tee`), each finished submission
prints one line, so a log reads well afterwards.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from sockspec.grade.record import Record

BAR_WIDTH = 24


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    def __init__(self, total: int, stream: TextIO, interactive: bool | None = None) -> None:
        self.total = total
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.counts = {"pass": 0, "fail": 0, "error": 0}
        self.done = 0
        self.skipped = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._drawn = False

    def note(self, line: str) -> None:
        """A line that is not progress (a fallback notice), printed above the bar."""
        with self._lock:
            self._clear()
            self.stream.write(line + "\n")
            self._draw()

    def finished(self, record: Record, reused: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.counts[record.verdict] += 1
            if reused:
                self.skipped += 1
            self._clear()
            how = "unchanged, not run again" if reused else f"{record.seconds:.1f} s"
            self.stream.write(
                f"[{self.done:>{len(str(self.total))}}/{self.total}] {record.name:<24} {record.verdict:<5} "
                f"{record.score:>6.4g}/{record.max_score:<6.4g} ({how})  {record.reason[:90]}\n"
            )
            self._draw()

    def tick(self) -> None:
        with self._lock:
            self._draw()

    def estimate(self) -> float | None:
        """Seconds left: the pace so far (wall clock per graded submission) times what remains."""
        graded = self.done - self.skipped
        if graded <= 0:
            return None
        return (time.monotonic() - self.started) / graded * (self.total - self.done)

    def line(self) -> str:
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        left = self.estimate()
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total} done, "
            f"{self.counts['pass']} passed, {self.counts['fail']} failed, {self.counts['error']} errors, "
            f"{clock(time.monotonic() - self.started)} elapsed"
            + (f", ~{clock(left)} left" if left is not None and self.done < self.total else "")
        )

    def _clear(self) -> None:
        if self.interactive and self._drawn:
            self.stream.write("\r\033[K")
            self._drawn = False

    def _draw(self) -> None:
        if self.interactive:
            self.stream.write("\r\033[K" + self.line())
            self._drawn = True
        self.stream.flush()

    def close(self) -> None:
        with self._lock:
            self._clear()
            self.stream.write(self.line() + "\n")
            self.stream.flush()
