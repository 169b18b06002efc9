"""What a wrong reply's bytes show about its cause.

A test's usual cause is a guess made before it ran; the bytes that came
back are evidence.  A reply that stops (or skips ahead) exactly where the
sent data had a NUL byte points at strlen() whatever the test was about;
one that has a NUL or a newline more than was sent points at an added
terminator; U+FFFD where bytes were sent points at decoding as text.
Each finding names a cause of `sockspec.causes` and says, in words, what
the bytes showed; the run's diagnosis weighs findings above the tests'
guesses.
"""

from __future__ import annotations

from collections.abc import Iterable

from sockspec.i18n import _, ngettext

Finding = tuple[str, str]  # (cause id, what the bytes showed)

# A reply that repeats the start of the stream after this many bytes repeats earlier messages.
REPEAT_MIN = 8
# Fewer bytes than this left out of a reply are bytes the server dropped, not a lost chunk of the stream.
LOST_CHUNK = 16


def of_reply(expected: bytes, got: bytes, ended: bool, first_sent: bytes = b"") -> list[Finding]:
    """Findings about `got`, a reply that is not `expected` (so far); `ended`: the connection ended
    (end of file, reset) after it, rather than going quiet; `first_sent`: the start of what the
    connection sent first, which a reply that starts over repeats."""
    if got == expected:
        return []
    at = _first_difference(expected, got)
    found = [
        finding
        for finding in (
            _cut_at_nul(expected, got, at, ended),
            _added(expected, got, at),
            _crlf(expected, got),
            _repeats_earlier(expected, got, at, first_sent),
            _last_byte_dropped(expected, got),
            _decoded(expected, got),
        )
        if finding
    ]
    return found + _skipped_ahead(expected, got, at)


# What a program's own output says when it died of treating bytes as text: Python's and Java's errors.
DECODE_ERRORS = ("UnicodeDecodeError", "MalformedInputException")


def of_output(lines: Iterable[str]) -> list[Finding]:
    """Findings in the last lines a program wrote: an error that says it decoded bytes as text."""
    for line in lines:
        for error in DECODE_ERRORS:
            if error in line:
                words = _("its output shows {error}: it decoded bytes that are not text").format(error=error)
                return [("decodes-text", words)]
    return []


def nothing_for_a_nul(expected: bytes, got: bytes, ended: bool) -> bool:
    """Nothing came back for data that starts with a NUL byte, on a connection still open: what a
    C string's strlen() makes of it, or a reply merely late; no evidence, but a guess worth making."""
    return not got and not ended and expected[:1] == b"\0"


def _skipped_ahead(expected: bytes, got: bytes, at: int) -> list[Finding]:
    """The reply goes on with data sent later: the bytes between were lost, thrown away by the server
    (a recv() to 'clear the socket') or never sent (the rest of a short send())."""
    resumed = got[at : at + 16]
    if at == 0 or at >= len(expected) or len(resumed) < 16 or expected[at] == 0:
        return []
    later = expected.find(resumed, at + 1)
    if later < 0:
        return []
    if later - at < LOST_CHUNK:
        lost = later - at
        words = ngettext(
            "{count} byte at byte {at} was left out of the reply",
            "{count} bytes at byte {at} were left out of the reply",
            lost,
        )
        return [("drops-bytes", words.format(count=lost, at=at))]
    words = _("the reply skips ahead at byte {at}: {count} bytes sent there never came back").format(
        at=at, count=later - at
    )
    return [("drains-socket", words), ("partial-send-ignored", words)]


def of_extra(extra: bytes) -> Finding:
    """Bytes that came after everything that was due: the rest of a buffer (mostly NUL bytes, as in a
    zeroed buffer sent whole), or something the server added."""
    if len(extra) > 1 and extra.count(0) * 2 >= len(extra):
        return (
            "sends-whole-buffer",
            _("{count} more bytes follow what was sent, mostly NUL bytes: the rest of a buffer").format(
                count=len(extra)
            ),
        )
    return "adds-bytes", _("bytes that were never sent follow the reply: {extra}").format(extra=repr(extra[:24]))


def _first_difference(expected: bytes, got: bytes) -> int:
    return next(
        (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), min(len(expected), len(got))
    )


def _cut_at_nul(expected: bytes, got: bytes, at: int, ended: bool) -> Finding | None:
    """The reply stops, or skips ahead, exactly where the data holds a NUL byte."""
    if not got or at >= len(expected) or expected[at] != 0 or (at < len(got) and got[at] == 0):
        return None  # nothing at all came back: a NUL first is no evidence, the reply may just be late
    if at == len(got):
        words = _("the reply stops at byte {at}, exactly where the data holds a NUL byte")
    else:
        words = _("the reply skips ahead at byte {at}, exactly where the data holds a NUL byte")
    return "strlen-on-binary", words.format(at=at)


def _added(expected: bytes, got: bytes, at: int) -> Finding | None:
    """A NUL or a newline more than was sent, or a whole buffer's worth after the data."""
    if at >= len(got):
        return None
    if at == len(expected):
        return of_extra(got[at:])
    if at == 0 and len(got) > 1 and got.count(0) * 2 >= len(got) and expected.count(0) * 2 < len(expected):
        return of_extra(got)  # NUL bytes instead of the reply: what a buffer sent whole left over
    extra = got[at : at + 1]
    span = min(16, len(expected) - at, len(got) - at - 1)
    # The bytes after it are the ones due; or it is the last that came so far (a terminator of the
    # reply before, which the next reply would have followed).
    if span > 0:
        rest_follows = got[at + 1 : at + 1 + span] == expected[at : at + span]
    else:
        rest_follows = len(got) == at + 1 and extra not in expected[at : at + 2]
    if extra in (b"\0", b"\n") and rest_follows:
        if extra == b"\0":
            words = _("a NUL byte that was never sent comes back after byte {at}")
        else:
            words = _("a newline that was never sent comes back after byte {at}")
        return "adds-bytes", words.format(at=at)
    return None


def _crlf(expected: bytes, got: bytes) -> Finding | None:
    if b"\r\n" in expected and got and expected.replace(b"\r\n", b"\n").startswith(got) and got != expected[: len(got)]:
        return "drops-bytes", _("every \\r\\n that was sent comes back as \\n")
    return None


def _repeats_earlier(expected: bytes, got: bytes, at: int, first_sent: bytes) -> Finding | None:
    """From byte `at` on, the reply starts over with what the connection sent first."""
    start = first_sent or expected[: REPEAT_MIN * 2]
    if len(start) < REPEAT_MIN or at >= len(got) or expected[at:].startswith(start[:REPEAT_MIN]):
        return None
    if expected.find(got[at : at + LOST_CHUNK], at + 1) >= 0:
        return None  # the data goes on from later in the stream (periodic data looks like its start)
    if got[at:].startswith(start[: len(got) - at]) and len(got) - at >= REPEAT_MIN:
        return "buffer-never-cleared", _("at byte {at} the reply starts over with what was sent first").format(at=at)
    return None


def _last_byte_dropped(expected: bytes, got: bytes) -> Finding | None:
    if len(expected) > 1 and got == expected[:-1]:
        return "drops-bytes", _("everything but the last byte came back")
    return None


REPLACEMENT = "\ufffd".encode()  # what decoding with errors='replace' puts for bytes that are not UTF-8


def _decoded(expected: bytes, got: bytes) -> Finding | None:
    """The data was decoded as text: bytes that are not UTF-8 came back as U+FFFD."""
    if REPLACEMENT in got and REPLACEMENT not in expected:
        return "decodes-text", _("bytes that are not UTF-8 text came back as U+FFFD (\\xef\\xbf\\xbd): decoded as text")
    return None


def of_shown(reply: bytes, shown: int, printed: bytes) -> list[Finding]:
    """Findings about a client that showed only the first `shown` bytes of `reply` (in order) in
    what it `printed`."""
    if REPLACEMENT in printed and REPLACEMENT not in reply:
        return [("decodes-text", _("bytes that are not UTF-8 text were printed as U+FFFD: decoded as text"))]
    if 0 < shown < len(reply) and reply[shown] == 0:
        words = _("the output stops at byte {shown} of the reply, where it holds a NUL byte")
        return [("strlen-on-binary", words.format(shown=shown))]
    if shown == len(reply) - 1 and len(reply) > 1:
        return [("drops-bytes", _("all of the reply but its last byte is shown"))]
    after = reply[shown + 1 : shown + 9]
    if len(after) >= 4 and after in printed and reply[shown : shown + 9] not in printed:
        return [
            ("drops-bytes", _("byte {shown} of the reply is missing, and what follows it is shown").format(shown=shown))
        ]
    return []
