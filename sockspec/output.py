"""Drain a server's stdout and stderr so it never blocks, and keep what it said last.

A server may print a prompt per message, a line per client, or megabytes of
debug output.  If nobody reads its pipes, the pipe fills and the server
freezes in write(), which would look like a bug in the server.  One thread
per pipe reads everything as it comes; only the tail is kept in memory, for
failure messages, and optionally a capped copy goes to a log file.  Each stream has its own share of
the log, so a flood of debug output on stdout cannot push out the one line on
stderr that says why the server died.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import BinaryIO

TAIL_BYTES = 16 * 1024


class OutputTail:
    """The last few KiB a process wrote, on all its streams, in arrival order."""

    def __init__(self, log_path: Path | None = None, log_cap: int = 1 << 20) -> None:
        self._tail = bytearray()
        self._lock = threading.Lock()
        self.total_bytes = 0
        self.last_written = time.monotonic()  # when the program last wrote anything (or started)
        # Kept open for the program's whole life and closed by finish().
        self._log: BinaryIO | None = open(log_path, "ab") if log_path else None  # noqa: SIM115
        self._log_share = log_cap // 2  # each stream's room in the log: stdout and stderr
        self._log_room: dict[int, int] = {}
        self._threads: list[threading.Thread] = []

    def drain(self, fd: int) -> None:
        """Read `fd` until end of file in a background thread; closes `fd` at the end."""
        self._log_room[fd] = self._log_share
        thread = threading.Thread(target=self._pump, args=(fd,), daemon=True, name=f"drain-{fd}")
        thread.start()
        self._threads.append(thread)

    def _pump(self, fd: int) -> None:
        try:
            while chunk := os.read(fd, 65536):
                self._feed(chunk, fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _feed(self, chunk: bytes, fd: int) -> None:
        with self._lock:
            self.total_bytes += len(chunk)
            self.last_written = time.monotonic()
            self._tail += chunk
            del self._tail[:-TAIL_BYTES]
            room = self._log_room[fd]
            if self._log is not None and room > 0:
                self._log.write(chunk[:room])
                self._log_room[fd] = room - len(chunk)
                if room <= len(chunk):
                    self._log.write(b"\n[sockspec: this stream's output truncated here]\n")
                self._log.flush()

    def finish(self, timeout: float) -> None:
        """Wait (bounded) for the pipes to reach end of file, then close the log."""
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None

    def last_lines(self, count: int = 12, width: int = 160) -> list[str]:
        with self._lock:
            text = bytes(self._tail).decode("utf-8", "replace")
        lines = [_shorten(line, width) for line in text.splitlines() if line.strip()]
        return lines[-count:]


def _shorten(line: str, width: int) -> str:
    """The line, or its start and end around an ellipsis if it is too long to show."""
    if len(line) <= width:
        return line
    half = (width - 5) // 2
    return f"{line[:half]} ... {line[-half:]}"
