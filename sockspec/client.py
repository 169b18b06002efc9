"""The spec's side of each connection: send, receive, and say exactly what happened.

Every operation is bounded by a deadline and recorded in the test's
transcript.  Sockets are non-blocking and driven by one selector, so a test
can keep hundreds of connections busy at once, and can send a megabyte while
reading its echo (a client that sends everything before reading would
deadlock against any correct echo server once both socket buffers fill).
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sockspec.failure import SpecFailure, Transcript, describe_difference, preview
from sockspec.timeouts import Deadline, Timeouts

RECV_SIZE = 65536

RESET_HINT = (
    "the server resets the connection instead of closing it: it sets SO_LINGER to 0, or closes the "
    "socket while received data is still unread in it; either way the kernel drops whatever it had "
    "not yet sent"
)


# A wait looks at the server's threads only once nothing has moved for this long: a correct
# server answers long before, so it is never looked at.
QUIET_BEFORE_LOOKING = 0.2
LOOK_INTERVAL = 0.05


class StallWatch:
    """Tells a server that will not answer from one that is slow to.

    A reply is due, and nothing has moved on the connection.  If every thread
    of the server is blocked (asleep in the kernel, none runnable) all through
    `seconds`, the server is waiting for something other than the data it
    already has: a newline, more bytes, a lock, its stdin.  Nothing in the
    test will wake it, so waiting out the whole reply deadline only makes a
    broken server's run slow.  A slow server (a loaded machine, a busy
    thread) has a runnable thread, and gets the whole deadline.
    """

    def __init__(self, blocked: Callable[[], bool], seconds: float) -> None:
        self.blocked = blocked
        self.seconds = seconds
        self._last_move = time.monotonic()
        self._blocked_since: float | None = None
        self._next_look = 0.0

    def moved(self) -> None:
        self._last_move = time.monotonic()
        self._blocked_since = None

    def stalled(self) -> bool:
        now = time.monotonic()
        if now - self._last_move < QUIET_BEFORE_LOOKING or now < self._next_look:
            return False
        self._next_look = now + LOOK_INTERVAL
        if not self.blocked():
            self._blocked_since = None
            return False
        if self._blocked_since is None:
            self._blocked_since = now
        return now - self._blocked_since >= self.seconds

    def describe(self) -> str:
        return f"for {self.seconds:g} s, while every thread of the server sat blocked waiting for something else"


class Client:
    """One TCP connection to the server under test."""

    def __init__(
        self,
        address: tuple[str, int],
        transcript: Transcript,
        name: str,
        timeouts: Timeouts,
        on_answer: Callable[[], None] = lambda: None,
        server_blocked: Callable[[], bool] = lambda: False,
    ) -> None:
        self.address = address
        self.on_answer = on_answer  # called whenever an expected reply arrived in full
        self.server_blocked = server_blocked  # every thread of the server asleep (see StallWatch)
        self.transcript = transcript
        self.name = name
        self.connect_seconds = timeouts.connect
        self.reply_seconds = timeouts.reply
        self.stall_seconds = timeouts.stall
        self.sock: socket.socket | None = None
        self.closed_by_us = False

    # -- connection ---------------------------------------------------------

    def connect(self) -> Client:
        family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.connect_seconds)
        try:
            sock.connect(self.address)
        except OSError as error:
            sock.close()
            self.transcript.add(self.name, f"connect failed: {error.strerror or error}")
            host, port = self.address
            if isinstance(error, ConnectionRefusedError):
                # What happened, not why: the test's usual cause says why a server ends or stops listening.
                raise SpecFailure(
                    f"to connect to {host}:{port}",
                    "the connection was refused: nothing listens on that port any more (the server exited "
                    "or closed its listening socket: see its state and output below)",
                ) from None
            raise SpecFailure(
                f"to connect to {host}:{port} within {self.connect_seconds:g} s",
                f"connect() failed: {error.strerror or 'timed out'}",
                "the server's queue of completed connections is full: it stopped calling accept()",
            ) from None
        sock.setblocking(False)
        self.sock = sock
        self.transcript.add(self.name, f"connected from port {sock.getsockname()[1]}")
        return self

    def __enter__(self) -> Client:
        return self if self.sock is not None else self.connect()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.sock is not None and not self.closed_by_us:
            self.sock.close()
            self.closed_by_us = True
            self.transcript.add(self.name, "closed the connection")

    def shutdown_write(self) -> None:
        """Half-close: the server's recv() returns 0, but we can still read its reply."""
        self._sock().shutdown(socket.SHUT_WR)
        self.transcript.add(self.name, "shutdown(SHUT_WR): no more data from this client")

    def reset(self) -> None:
        """Close with SO_LINGER 0, so the server gets an RST instead of a FIN."""
        sock = self._sock()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        self.closed_by_us = True
        self.transcript.add(self.name, "reset the connection (SO_LINGER 0, close)")

    def _sock(self) -> socket.socket:
        assert self.sock is not None, "connect() first"
        return self.sock

    # -- data ---------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Send all of `data` without reading anything back (only for small messages)."""
        converse([Exchange(self, [data], b"")], self.reply_seconds)

    def expect(self, expected: bytes, seconds: float | None = None) -> None:
        """Receive exactly `expected`, within the reply deadline."""
        converse([Exchange(self, [], expected)], seconds or self.reply_seconds)

    def echo(
        self, data: bytes, chunks: list[bytes] | None = None, wait_for_echo: bool = False, half_close: bool = False
    ) -> None:
        """Send `data` (optionally in `chunks`) and expect the same bytes back; with `half_close`,
        shutdown(SHUT_WR) as soon as the last byte is sent, while the echo is still coming."""
        converse([Exchange(self, chunks or [data], data, wait_for_echo, half_close=half_close)], self.reply_seconds)

    def stall_watch(self) -> StallWatch:
        return StallWatch(self.server_blocked, self.stall_seconds)

    def expect_eof(self, seconds: float | None = None, what: str = "") -> None:
        """The server closes its end: we read end of file, and nothing before it."""
        seconds = seconds or self.reply_seconds
        watch = self.stall_watch()
        got, end = self.receive_until_end(Deadline(seconds), watch)
        expected = what or "the server to close its end of the connection (end of file)"
        if got:
            raise SpecFailure(expected, f"{self.name} received {preview(got)} it did not ask for")
        if end in ("timeout", "stalled"):
            waited = watch.describe() if end == "stalled" else f"for {seconds:g} s"
            raise SpecFailure(
                expected,
                f"{self.name} saw neither data nor end of file {waited}: the connection stays open",
                missed_deadline="reply",
            )
        if end != "eof":
            raise SpecFailure(
                expected,
                f"the connection was {'reset' if end == 'reset' else f'broken ({end})'} instead of closed",
                RESET_HINT,
            )

    def expect_silence(self, seconds: float) -> None:
        """Nothing arrives for `seconds` (and the connection stays open)."""
        got, end = self.receive_until_end(Deadline(seconds))
        if got or end != "timeout":
            happened = f"received {preview(got)}" if got else f"the connection ended ({end})"
            raise SpecFailure(f"{self.name} to get no reply yet", happened)

    def receive_until_end(self, deadline: Deadline, watch: StallWatch | None = None) -> tuple[bytes, str]:
        """Everything that arrives until EOF, reset, the deadline or (with `watch`) a stalled server:
        (bytes, 'eof'|'reset'|'timeout'|'stalled'|'error ...')."""
        sock = self._sock()
        got = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            while True:
                if not selector.select(min(deadline.remaining(), LOOK_INTERVAL if watch else deadline.remaining())):
                    if deadline.expired():
                        end = "timeout"
                        break
                    if watch and watch.stalled():
                        end = "stalled"
                        break
                    continue
                try:
                    chunk = sock.recv(RECV_SIZE)
                except BlockingIOError:
                    continue
                except OSError as error:
                    end = _error_name(error)
                    break
                if not chunk:
                    end = "eof"
                    break
                got += chunk
                if watch:
                    watch.moved()
        if got:
            self.transcript.add(self.name, f"received {preview(got)}")
        self.transcript.add(self.name, _END_WORDS.get(end, end))
        return bytes(got), end

    def unread(self, limit: int = 64) -> bytes:
        """Bytes that arrived and that nobody read yet (left in the socket)."""
        if self.sock is None or self.closed_by_us:
            return b""
        try:
            return self.sock.recv(limit, socket.MSG_PEEK)
        except OSError:
            return b""

    def is_open_to_server(self, seconds: float = 0.0) -> bool:
        """True if the server has neither closed nor reset this connection (reads nothing)."""
        sock = self._sock()
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            if not selector.select(seconds):
                return True
        try:
            return bool(sock.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            return True
        except OSError:
            return False


_END_WORDS = {"eof": "end of file", "timeout": "nothing more", "stalled": "nothing more"}


def _error_name(error: OSError) -> str:
    if error.errno in (errno.ECONNRESET, errno.EPIPE):
        return "reset"
    return f"error {errno.errorcode.get(error.errno or 0, error.errno)}"


@dataclass
class Exchange:
    """What one client sends and what it must get back, in one conversation."""

    client: Client
    chunks: list[bytes]
    expected: bytes
    # Send each chunk only after the echo of everything before it has come back,
    # so the server certainly receives the chunks in separate recv() calls.
    wait_for_echo: bool = False
    half_close: bool = False  # shutdown(SHUT_WR) once everything is sent
    got: bytearray = field(default_factory=bytearray)
    checked: int = 0  # how many of `got` wrong_so_far() has compared already
    sent: int = 0
    chunk_index: int = 0
    chunk_offset: int = 0
    end: str = ""  # '', 'eof', 'reset', or an error

    @property
    def total(self) -> int:
        return sum(map(len, self.chunks))

    def done_sending(self) -> bool:
        return self.chunk_index >= len(self.chunks)

    def may_send(self) -> bool:
        if self.done_sending() or self.end:
            return False
        return not (self.wait_for_echo and self.chunk_offset == 0 and len(self.got) < self.sent)

    def done(self) -> bool:
        """Nothing more can happen: all sent and all expected received, or the connection ended."""
        return bool(self.end) or (self.done_sending() and len(self.got) >= len(self.expected))

    def wrong_so_far(self) -> bool:
        """Do the bytes received so far differ from the start of what is expected?  Only the bytes
        new since the last look are compared, so a megabyte costs a megabyte, not its square."""
        received = len(self.got)
        if self.expected[self.checked : received] != self.got[self.checked : received]:
            return True
        self.checked = received
        return False


# A large reply may take longer than `seconds` in all, as long as bytes keep coming; this many
# times `seconds` bounds even a server that trickles.
PROGRESS_ROUNDS = 10


def converse(exchanges: list[Exchange], seconds: float) -> None:
    """Run all exchanges at once; raise SpecFailure for the first that goes wrong.

    `seconds` bounds each wait for progress: the conversation fails when no
    byte has moved for that long (or after PROGRESS_ROUNDS times as long in all).
    """
    overall = Deadline(seconds * PROGRESS_ROUNDS)
    quiet = Deadline(seconds)
    watch = exchanges[0].client.stall_watch() if exchanges else None
    stalled = False
    with selectors.DefaultSelector() as selector:
        for ex in exchanges:
            selector.register(ex.client._sock(), _interest(ex), ex)
        pending = [ex for ex in exchanges if not ex.done()]
        while pending and not quiet.expired() and not overall.expired():
            ready = selector.select(min(quiet.remaining(), overall.remaining(), LOOK_INTERVAL))
            if not ready and watch and watch.stalled():
                stalled = True
                break
            for key, events in ready:
                ex: Exchange = key.data
                moved = ex.sent + len(ex.got)
                if events & selectors.EVENT_WRITE and ex.may_send():
                    _send_some(ex)
                if events & selectors.EVENT_READ and not ex.end:
                    _receive_some(ex)
                if ex.sent + len(ex.got) != moved:
                    quiet = Deadline(seconds)
                    if watch:
                        watch.moved()
                if ex.wrong_so_far():
                    _take_what_already_arrived(ex)
                    _log(ex)
                    _fail(ex, f"for {seconds:g} s")
                if ex.done():
                    selector.unregister(key.fileobj)
                else:
                    selector.modify(key.fileobj, _interest(ex), ex)
            pending = [ex for ex in pending if not ex.done()]
    waited = watch.describe() if stalled and watch else f"for {seconds:g} s"
    try:
        for ex in exchanges:
            _log(ex)
            if not ex.done() or bytes(ex.got) != ex.expected:
                _fail(ex, waited)
            if ex.expected:
                ex.client.on_answer()
    except SpecFailure as failure:
        if pending:  # the wait ran out on some exchange, whichever one the failure is about
            failure.missed_deadline = failure.missed_deadline or "reply"
        raise


def _interest(ex: Exchange) -> int:
    events = selectors.EVENT_READ
    if ex.may_send():
        events |= selectors.EVENT_WRITE
    return events


def _send_some(ex: Exchange) -> None:
    chunk = ex.chunks[ex.chunk_index]
    try:
        n = ex.client._sock().send(memoryview(chunk)[ex.chunk_offset :])
    except BlockingIOError:
        return
    except OSError as error:
        ex.end = _error_name(error)
        return
    ex.sent += n
    ex.chunk_offset += n
    if ex.chunk_offset == len(chunk):
        ex.client.transcript.add(ex.client.name, f"sent {preview(chunk)}")
        ex.chunk_index += 1
        ex.chunk_offset = 0
        if ex.half_close and ex.done_sending():
            ex.client.shutdown_write()


def _receive_some(ex: Exchange) -> None:
    wanted = len(ex.expected) - len(ex.got)
    if wanted <= 0:
        return  # leave anything extra in the socket: the next read will show it
    try:
        chunk = ex.client._sock().recv(min(RECV_SIZE, wanted))
    except BlockingIOError:
        return
    except OSError as error:
        ex.end = _error_name(error)
        return
    if not chunk:
        ex.end = "eof"
    ex.got += chunk


def _take_what_already_arrived(ex: Exchange, limit: int = 64) -> None:
    """Read (without waiting) what is already there, so a failure shows more than one wrong byte."""
    with contextlib.suppress(OSError):
        ex.got += ex.client._sock().recv(limit)


def _log(ex: Exchange) -> None:
    if ex.got:
        ex.client.transcript.add(ex.client.name, f"received {preview(bytes(ex.got))}")
    if ex.end:
        ex.client.transcript.add(ex.client.name, {"eof": "end of file"}.get(ex.end, ex.end))


_ENDINGS = {"eof": "the server closed the connection", "reset": "the connection was reset"}


def _bytes(count: int) -> str:
    return f"{count} byte" + ("" if count == 1 else "s")


def _fail(ex: Exchange, waited: str) -> None:
    """Raise the SpecFailure that says how `ex` went wrong; `waited` says how long nothing came."""
    got = bytes(ex.got)
    name = ex.client.name
    if ex.wrong_so_far() or len(got) > len(ex.expected):
        so_far = f", of the {_bytes(ex.sent)} it had sent so far" if not ex.done_sending() else ""
        raise _changed(
            SpecFailure(
                f"{name} to receive {preview(ex.expected)}",
                f"{name} received {describe_difference(ex.expected, got)}{so_far}",
            )
        )
    if not ex.done_sending() and ex.wait_for_echo and len(got) < ex.sent:
        echoed = describe_difference(ex.expected[: ex.sent], got) if got else "nothing"
        expected = f"the echo of the {_bytes(ex.sent)} {name} sent so far, before it sends the next piece"
        ending = f"; the connection ended ({ex.end})" if ex.end else f", then nothing more {waited}"
        raise SpecFailure(expected, f"{name} received {echoed}{ending}", missed_deadline="" if ex.end else "reply")
    if not ex.done_sending():
        expected = f"{name} to send {ex.total} bytes"
        if ex.end:
            ended = _ENDINGS.get(ex.end, f"the connection failed ({ex.end})")
            raise SpecFailure(expected, f"{ended} after {name} had sent {_bytes(ex.sent)}")
        raise SpecFailure(expected, f"the server stopped reading after {_bytes(ex.sent)}", missed_deadline="reply")
    received = f"received {describe_difference(ex.expected, got)}" if got else "received nothing"
    if ex.end:
        ending = "then " + _ENDINGS.get(ex.end, f"the connection failed ({ex.end})")
    else:
        ending = f"then nothing more {waited}"
    failure = SpecFailure(
        f"{name} to receive {preview(ex.expected)}",
        f"{name} {received}, {ending}",
        missed_deadline="" if ex.end else "reply",
    )
    raise _changed(failure) if got else failure


CHANGED_REPLY_HINT = (
    "an ordinary exchange went wrong before what this test checks: the server sends back other or fewer "
    "bytes than it received (send() given the wrong length: strlen() stops at a NUL byte, sizeof(buf) "
    "sends the whole buffer, `n = recv(...) > 0` makes n 1); the send/recv tests show it first"
)


def _changed(failure: SpecFailure) -> SpecFailure:
    """`failure` of a reply that came back changed or cut short."""
    failure.exchange_hint = CHANGED_REPLY_HINT
    return failure
