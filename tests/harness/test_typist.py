"""The operator types reply lines one at a time and can take back a line nobody read."""

from __future__ import annotations

import os

from sockspec.typist import Typist


def test_a_typed_line_is_pending_until_read_and_can_be_taken_back():
    operator = Typist()
    try:
        line = operator.next_line()
        assert operator.next_line() != line
        operator.type_line(line)
        assert operator.pending_bytes() == len(line) + 1
        assert not operator.wait_taken(0.05)
        assert operator.take_back() == line + b"\n"
        assert operator.pending_bytes() == 0 and operator.take_back() == b""
    finally:
        operator.close()


def test_the_servers_end_stays_blocking():
    operator = Typist()
    try:
        # Our own read end is non-blocking; the server's must not be, or its reads fail with EAGAIN.
        assert os.get_blocking(operator.server_end)
        operator.type_line(b"hello")
        assert os.read(operator.server_end, 100) == b"hello\n"
        assert operator.wait_taken(1)
    finally:
        operator.close()
