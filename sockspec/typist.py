"""The harness as the notes' operator: it types the server's replies on its stdin.

In the notes' chat, the server answers each message with a line read from its
terminal.  The harness plays that person.  It writes exactly one line per
message it expects answered, and never a second line before the first was
taken: then a server in any model (a child process per client, a thread per
client, all sharing one stdin) reads each line exactly once, however its
standard library buffers input.

The harness keeps a copy of the pipe's read end.  With it, it can tell how
many bytes are still waiting in the pipe (so "the line was taken" is an
event, not a guess), and it can take back a line that no server thread ever
read, so a test that failed does not leave a stale line for the next one.
"""

from __future__ import annotations

import os

from sockspec import proc
from sockspec.timeouts import wait_for


class Typist:
    """Writes reply lines into a server's stdin, one at a time."""

    def __init__(self) -> None:
        self.server_end, self._write_end = os.pipe()
        # A second open file description of the same pipe, not a dup(): a dup
        # would share O_NONBLOCK with the server's stdin.
        self._our_read_end = os.open(f"/proc/self/fd/{self.server_end}", os.O_RDONLY | os.O_NONBLOCK)
        self._counter = 0

    def next_line(self, tag: str = "") -> bytes:
        """A reply line no other exchange in this run uses, so a mix-up shows.

        It reads like a line a person types (words, spaces, punctuation), so a
        server that reads one word (`cin >> s`, `scanf("%s")`) shows it.
        """
        self._counter += 1
        return f"Hi! I'm the server, reply {tag}{self._counter:05d}.".encode()

    def type_line(self, line: bytes) -> None:
        """Type `line` and press Enter."""
        assert b"\n" not in line
        os.write(self._write_end, line + b"\n")

    def pending_bytes(self) -> int:
        return proc.unread_bytes(self._our_read_end)

    def wait_taken(self, seconds: float) -> bool:
        """Wait until the server has read everything typed so far."""
        return bool(wait_for(lambda: self.pending_bytes() == 0, seconds))

    def take_back(self) -> bytes:
        """Remove and return what nobody read, so it cannot reach a later exchange."""
        try:
            return os.read(self._our_read_end, 1 << 16)
        except BlockingIOError:
            return b""

    def release_server_end(self) -> None:
        """Close our copy of the server's end once the server has its own."""
        if self.server_end >= 0:
            os.close(self.server_end)
            self.server_end = -1

    def close(self) -> None:
        self.release_server_end()
        for fd in (self._write_end, self._our_read_end):
            os.close(fd)
        self._write_end = self._our_read_end = -1
