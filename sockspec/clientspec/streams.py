"""What the client under test prints: its stdout and stderr, kept whole and searchable as they grow.

The server half only needs the tail of a server's output, for a failure
message (`sockspec.output.OutputTail`).  The client half asserts on the
output itself: "the reply appears on stdout" is an event the harness waits
for.  So each stream is read by a thread into a buffer that a test can
search from a mark, and wait on, with a deadline.

What "the reply appears" means (docs/client-spec.md, "Reading stdout"):
the reply's bytes appear in order in what the client wrote after the mark,
the moment the line was typed.  The client may print anything around and
between them (a prompt, a "server say:" label before each piece it
received, a newline); it may not drop, change or reorder a byte.  Matching
is greedy and incremental, so waiting for a 64 KiB reply costs one pass.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

# A client that prints in a loop must not exhaust our memory; no test needs this much.
CAP = 8 * 1024 * 1024


def common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix of `a` and `b` (by halving, each step one memcmp)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


class Stream:
    """Everything a process writes to one of its descriptors, read by a background thread."""

    def __init__(self, fd: int, name: str) -> None:
        self.name = name
        self._fd = fd
        self._data = bytearray()
        self._dropped = 0  # bytes trimmed from the front, so offsets stay absolute
        self.ended = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True, name=f"client-{name}")
        self._thread.start()

    def _pump(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except OSError:
                    break  # a terminal's master reads EIO once every writer has closed it
                if not chunk:
                    break
                with self._changed:
                    self._data += chunk
                    excess = len(self._data) - CAP
                    if excess > 0:
                        del self._data[:excess]
                        self._dropped += excess
                    self._changed.notify_all()
        finally:
            os.close(self._fd)
            with self._changed:
                self.ended = True
                self._changed.notify_all()

    def mark(self) -> int:
        """The offset of the next byte the process writes."""
        with self._changed:
            return self._dropped + len(self._data)

    def since(self, mark: int) -> bytes:
        with self._changed:
            return bytes(self._data[max(0, mark - self._dropped) :])

    def wait(self, condition: Callable[[], bool], seconds: float) -> bool:
        """Wait until `condition()` holds (checked on every write), the stream ends, or `seconds` pass."""
        with self._changed:
            return self._changed.wait_for(lambda: condition() or self.ended, seconds) and condition()

    def wait_shown(self, expected: bytes, mark: int, seconds: float) -> int:
        """Wait until `expected` appears in order after `mark`; return how many of its bytes did."""
        match = Subsequence(expected, mark)
        with self._changed:
            self._changed.wait_for(lambda: match.feed(self._data, self._dropped) or self.ended, seconds)
            match.feed(self._data, self._dropped)
        return match.matched

    def finish(self, timeout: float) -> None:
        """Wait (bounded) until the stream has been read to its end."""
        self._thread.join(timeout)

    def last_lines(self, count: int = 10, width: int = 160) -> list[str]:
        with self._changed:
            text = bytes(self._data[-16384:]).decode("utf-8", "replace")
        lines = [_printable(line)[:width] for line in text.splitlines() if line.strip()]
        return lines[-count:]


class Subsequence:
    """Greedy, incremental search for `expected` as a subsequence of a growing buffer."""

    def __init__(self, expected: bytes, start: int) -> None:
        self.expected = expected
        self.matched = 0
        self.position = start  # absolute offset of the next byte to look at

    def feed(self, data: bytearray, dropped: int) -> bool:
        """Look at what was written since the last call; True once all of `expected` was seen."""
        end = dropped + len(data)
        self.position = max(self.position, dropped)
        while self.matched < len(self.expected) and self.position < end:
            wanted = self.expected[self.matched : self.matched + 1]
            found = data.find(wanted, self.position - dropped)
            if found < 0:
                self.position = end
                break
            rest = self.expected[self.matched :]
            run = common_prefix(bytes(data[found : found + len(rest)]), rest)
            self.matched += run
            self.position = dropped + found + run
        return self.matched == len(self.expected)


def _printable(line: str) -> str:
    return "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" for c in line)
