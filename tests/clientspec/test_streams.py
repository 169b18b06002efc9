"""The stdout matcher: a reply is shown when its bytes appear in order, whatever the client prints around them."""

from __future__ import annotations

import os

import pytest

from sockspec.clientspec.streams import CAP, Stream, Subsequence, common_prefix


def seen(expected: bytes, *writes: bytes, start: int = 0) -> int:
    """How many bytes of `expected` a growing buffer shows after `writes`, fed one at a time."""
    match = Subsequence(expected, start)
    buffer = bytearray()
    for write in writes:
        buffer += write
        match.feed(buffer, 0)
    return match.matched


class TestSubsequence:
    def test_contiguous_reply(self):
        assert seen(b"HELLO", b"You want to say:HELLO\n") == 5

    def test_label_before_every_piece(self):
        assert seen(b"HELLO", b"server say:HEL\n", b"server say:LO\n") == 5

    def test_missing_byte_stops_the_match(self):
        assert seen(b"HELLO", b"server say:HELO\n") == 3

    def test_reordered_bytes_do_not_match(self):
        assert seen(b"AB", b"BA") == 1

    def test_only_after_the_mark(self):
        assert seen(b"HELLO", b"HELLO before the line was typed; HEL", start=5) == 3

    def test_binary_bytes(self):
        reply = bytes(range(256)) * 4
        assert seen(reply, b"\x00label", reply[:500], b"\r\n", reply[500:]) == len(reply)

    def test_trimmed_front_is_skipped(self):
        match = Subsequence(b"XY", 0)
        assert not match.feed(bytearray(b"tail X"), dropped=100)
        assert match.feed(bytearray(b"tail XY"), dropped=100)

    @pytest.mark.parametrize(("a", "b", "length"), [(b"", b"x", 0), (b"abc", b"abd", 2), (b"abc", b"abc", 3)])
    def test_common_prefix(self, a, b, length):
        assert common_prefix(a, b) == length


class TestStream:
    def test_wait_shown_sees_later_writes_and_the_end(self):
        read_end, write_end = os.pipe()
        stream = Stream(read_end, "test")
        os.write(write_end, b"prompt> ")
        assert stream.wait(lambda: stream.mark() == 8, 5.0)
        mark = stream.mark()
        os.write(write_end, b"REP")
        os.write(write_end, b"label LY")
        assert stream.wait_shown(b"REPLY", mark, 5.0) == 5
        os.close(write_end)
        assert stream.wait(lambda: False, 5.0) is False and stream.ended
        assert stream.since(mark) == b"REPlabel LY"
        assert stream.last_lines() == ["prompt> REPlabel LY"]

    def test_output_beyond_the_cap_keeps_offsets(self):
        read_end, write_end = os.pipe()
        stream = Stream(read_end, "test")
        block = b"x" * 65536
        for _ in range(CAP // len(block) + 2):
            os.write(write_end, block)
        os.write(write_end, b"END")
        os.close(write_end)
        stream.finish(10.0)
        assert stream.mark() == CAP + 2 * len(block) + 3
        assert stream.since(stream.mark() - 3) == b"END"

    def test_control_bytes_are_escaped_in_last_lines(self):
        read_end, write_end = os.pipe()
        stream = Stream(read_end, "test")
        os.write(write_end, b"a\x00b\x1b[31m\n")
        os.close(write_end)
        stream.finish(5.0)
        assert stream.last_lines() == ["a\\x00b\\x1b[31m"]
