"""Reply sizes: replies of any size are shown whole, from 1 byte to 64 KiB.

Seed section 5.1: the client calls recv(sockfd, buf, strlen(buf) - 1, 0) on
a zeroed 1024-byte buffer.  strlen() of it is 0, so the length is huge: a
reply longer than 1024 bytes overflows the buffer, and one recv() shows at
most what had arrived.  A client must recv() into its buffer's real size,
in a loop, and print exactly the bytes it received.
"""

from __future__ import annotations

import pytest

from sockspec.payloads import pattern, text

pytestmark = pytest.mark.behaviour("reply sizes: every reply is shown whole", notes="§5.1 recv(strlen(buf) - 1)")

KIB = 1024


@pytest.mark.parametrize("size", [1, 1023, KIB, KIB + 1, 4 * KIB, 64 * KIB], ids=lambda n: f"{n}B")
@pytest.mark.likely_bug(
    "a fixed-size buffer: the client shows at most one buffer (the notes' is 1024 bytes) or one recv() per "
    "line, or overflows it (recv()'s length must be the buffer's real size); call recv() again whenever "
    "the socket is readable and print every byte",
    causes=("waits-in-input", "recv-is-not-a-message", "recv-length-overflow", "drops-bytes"),
)
def test_text_reply(client, size):
    """Type a line; the server answers with one reply of this many bytes of printable text (no newline),
    in one send(): all of it must appear on stdout."""
    server = client.connect()
    client.chat(server, b"a reply of %d bytes, please" % size, text(size))


@pytest.mark.binary_safe
@pytest.mark.parametrize("size", [256, 64 * KIB], ids=lambda n: f"{n}B")
@pytest.mark.likely_bug(
    'the client treats the reply as a C string or as text: printf("%s"), cout << buf and strlen() stop '
    "at the first NUL byte, and decoding to text changes bytes; write() exactly the bytes received",
    causes=("strlen-on-binary", "decodes-text"),
)
def test_binary_reply(client, size):
    """(Binary-safe clients only.)  Type a line; the server answers with binary data of this size: every
    byte value, NUL included, none of it valid UTF-8 text. Every byte must appear on stdout, unchanged."""
    server = client.connect()
    client.chat(server, b"binary, please", b"\x00" + pattern(size - 2, seed=128) + b"\x00")
