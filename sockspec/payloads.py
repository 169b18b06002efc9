"""The bytes the spec sends: made here once, so every test of both halves uses the same makers.

A lost, repeated or moved piece must show in a transcript, so payloads never
repeat a period that a buffer size could hide (1024, 4096...), and they are
the same on every run (a grade must not change between runs): each comes
from a generator seeded by its size or by a seed of the test's.
"""

from __future__ import annotations

import random

MIB = 1024 * 1024

FLOOD_PERIOD = MIB + 7  # the flood repeats after this many bytes: any drop or repeat shows
_FLOOD = random.Random(FLOOD_PERIOD).randbytes(FLOOD_PERIOD) * 2


def pattern(size: int, seed: int = 0) -> bytes:
    """`size` bytes of binary data: every byte value, NUL first, then bytes that never repeat a
    period (pseudo-random, the same for the same `seed`), so a lost, repeated or moved piece shows."""
    every_value = bytes((value + seed) % 256 for value in range(256))
    return (every_value + random.Random(seed).randbytes(max(0, size - 256)))[:size]


def text(size: int) -> bytes:
    """`size` printable ASCII bytes (no space, no newline), never periodic at 1024."""
    if size == 1:
        return b"}"
    return bytes(0x21 + (i * 7 + i // 89) % 94 for i in range(size))


def flood(offset: int) -> memoryview:
    """The flood stream from `offset` on, at least one period of it: what a client that never reads sends."""
    start = offset % FLOOD_PERIOD
    return memoryview(_FLOOD)[start : start + FLOOD_PERIOD]


def flood_bytes(count: int) -> bytes:
    """The first `count` bytes of the flood stream."""
    whole, rest = divmod(count, FLOOD_PERIOD)
    return _FLOOD[:FLOOD_PERIOD] * whole + _FLOOD[:rest]
