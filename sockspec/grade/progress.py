"""Show a grading run as it goes: a bar on a terminal, one line per submission in a log.

On a terminal, the bar is redrawn in place: submissions done, how many
passed, failed and could not be graded, time elapsed and an estimate of
the time left; under it, the submissions being graded now and for how
long, so a submission that hangs is seen while it hangs, not after its
timeout.  Both lines are cut to the terminal's width: a line that wrapped
could not be redrawn in place.  Anywhere else (CI logs, `| tee`), each
finished submission prints one line, and nothing else, so a log reads well
afterwards.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import TextIO

from sockspec.grade.record import Record, verdict_text
from sockspec.i18n import _
from sockspec.report import pad
from sockspec.report import width as width_of

BAR_WIDTH = 24


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def cut(text: str, columns: int) -> str:
    """`text` cut to at most `columns` columns of a terminal (a Chinese character takes two)."""
    while width_of(text) > columns:
        text = text[:-1]
    return text


def terminal_width(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to (it may have been resized since the last line)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return shutil.get_terminal_size().columns


class Progress:
    def __init__(
        self,
        total: int,
        stream: TextIO,
        interactive: bool | None = None,
        now: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ) -> None:
        """`now` and `width` (the terminal's, by default asked at every redraw) are for tests."""
        self.total = total
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.counts = {"pass": 0, "fail": 0, "error": 0}
        self.done = 0
        self.skipped = 0
        self.now = now
        self.width = width
        self.started = now()
        self.running: dict[str, float] = {}  # name -> when its grading started, in the order they started
        self._lock = threading.Lock()
        self._drawn = 0  # lines of the bar on the terminal now

    def note(self, line: str) -> None:
        """A line that is not progress (a fallback notice), printed above the bar."""
        with self._lock:
            self._clear()
            self.stream.write(line + "\n")
            self._draw()

    def starting(self, name: str) -> None:
        """Submission `name` is being graded from now on, until `finished` (shown on a terminal only)."""
        with self._lock:
            self.running[name] = self.now()
            self._draw()

    def finished(self, record: Record, reused: bool = False) -> None:
        with self._lock:
            self.running.pop(record.name, None)
            self.done += 1
            self.counts[record.verdict] += 1
            if reused:
                self.skipped += 1
            self._clear()
            how = _("unchanged, not run again") if reused else _("{seconds:.1f} s").format(seconds=record.seconds)
            self.stream.write(
                f"[{self.done:>{len(str(self.total))}}/{self.total}] {record.name:<24} "
                f"{pad(verdict_text(record.verdict), 6)}"
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
        return (self.now() - self.started) / graded * (self.total - self.done)

    def line(self) -> str:
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        left = self.estimate()
        text = _("{done}/{total} done, {passed} passed, {failed} failed, {errors} errors, {elapsed} elapsed").format(
            done=self.done,
            total=self.total,
            passed=self.counts["pass"],
            failed=self.counts["fail"],
            errors=self.counts["error"],
            elapsed=clock(self.now() - self.started),
        )
        if left is not None and self.done < self.total:
            text = _("{progress}, ~{left} left").format(progress=text, left=clock(left))
        return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {text}"

    def running_line(self, width: int) -> str:
        """'running: alice 0:42, bob 0:07', longest running first, in at most `width` characters: the
        names that do not fit are counted ('+3 more'), never cut in the middle."""
        if not self.running:
            return ""
        now = self.now()
        items = [f"{name} {clock(now - since)}" for name, since in self.running.items()]
        shown = ""
        for count in range(len(items), 0, -1):
            names = ", ".join(items[:count])
            if count < len(items):
                names = _("{names}, +{count} more").format(names=names, count=len(items) - count)
            shown = _("running: {names}").format(names=names)
            if width_of(shown) <= width:
                return shown
        return cut(shown, width)

    def _clear(self) -> None:
        if self.interactive and self._drawn:
            self.stream.write("\r\033[K" + "\033[A\r\033[K" * (self._drawn - 1))
            self._drawn = 0

    def _draw(self) -> None:
        if self.interactive:
            self._clear()
            # One column spare: a line that fills the last column leaves some terminals on the next line.
            width = max((self.width or terminal_width(self.stream)) - 1, 20)
            lines = [cut(self.line(), width), self.running_line(width)]
            lines = [line for line in lines if line]
            self.stream.write("\n".join(lines))
            self._drawn = len(lines)
        self.stream.flush()

    def close(self) -> None:
        with self._lock:
            self._clear()
            self.stream.write(self.line() + "\n")
            self.stream.flush()
