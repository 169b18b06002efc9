"""The spec's side of each connection: connect, send, receive, close, and say exactly what happened.

Every operation is bounded by a deadline and recorded in the test's
transcript.  Sockets are non-blocking; a conversation over one or many of
them at once is `conversation`'s job, so a test can keep hundreds of
connections busy at once, and can send a megabyte while reading its echo.
"""

from __future__ import annotations

import selectors
import socket
import struct
import time
from collections.abc import Callable

from sockspec import evidence
from sockspec.failure import Hint, SpecFailure, Transcript, preview
from sockspec.i18n import N_, _
from sockspec.serverspec.conversation import Exchange, converse, error_name
from sockspec.timeouts import LOOK_INTERVAL, Deadline, Timeouts

RECV_SIZE = 65536

RESET_HINT = Hint(
    N_(
        "the server resets the connection instead of closing it: it sets SO_LINGER to 0, or closes the "
        "socket while received data is still unread in it; either way the kernel drops whatever it had "
        "not yet sent"
    ),
    causes=("linger-reset", "drains-socket"),
)


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

    def __init__(self, blocked: Callable[[], bool], seconds: float, quiet: float) -> None:
        self.blocked = blocked
        self.seconds = seconds
        self.quiet = quiet  # how long nothing must move before the server's threads are looked at
        self._last_move = time.monotonic()
        self._blocked_since: float | None = None
        self._next_look = 0.0

    def moved(self) -> None:
        self._last_move = time.monotonic()
        self._blocked_since = None

    def stalled(self) -> bool:
        now = time.monotonic()
        if now - self._last_move < self.quiet or now < self._next_look:
            return False
        self._next_look = now + LOOK_INTERVAL
        if not self.blocked():
            self._blocked_since = None
            return False
        if self._blocked_since is None:
            self._blocked_since = now
        return now - self._blocked_since >= self.seconds

    def describe(self) -> str:
        return _("for {seconds:g} s, while every thread of the server sat blocked waiting for something else").format(
            seconds=self.seconds
        )


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
        server_waits: Callable[[], list[str]] = list,
    ) -> None:
        self.address = address
        self.on_answer = on_answer  # called whenever an expected reply arrived in full
        self.server_blocked = server_blocked  # every thread of the server asleep (see StallWatch)
        self.server_waits = server_waits  # the calls its threads sit in, each on one socket (accept, recv...)
        self.transcript = transcript
        self.name = name
        self.connect_seconds = timeouts.connect
        self.reply_seconds = timeouts.reply
        self.stall_seconds = timeouts.stall
        self.quiet_seconds = timeouts.quiet
        self.sock: socket.socket | None = None
        self.closed_by_us = False
        self.answered = 0  # replies that arrived in full on this connection
        self.first_sent = b""  # the start of what this connection sent first (sockspec.evidence)

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
                    _("to connect to {host}:{port}").format(host=host, port=port),
                    _(
                        "the connection was refused: nothing listens on that port any more (the server exited "
                        "or closed its listening socket: see its state and output below)"
                    ),
                ) from None
            raise SpecFailure(
                _("to connect to {host}:{port} within {seconds:g} s").format(
                    host=host, port=port, seconds=self.connect_seconds
                ),
                _("connect() failed: {reason}").format(reason=error.strerror or _("timed out")),
                N_("the server's queue of completed connections is full: it stopped calling accept()"),
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
        return StallWatch(self.server_blocked, self.stall_seconds, self.quiet_seconds)

    def expect_eof(self, seconds: float | None = None, what: str = "") -> None:
        """The server closes its end: we read end of file, and nothing before it."""
        seconds = seconds or self.reply_seconds
        watch = self.stall_watch()
        got, end = self.receive_until_end(Deadline(seconds), watch)
        expected = what or _("the server to close its end of the connection (end of file)")
        if got:
            failure = SpecFailure(
                expected, _("{name} received {data} it did not ask for").format(name=self.name, data=preview(got))
            )
            failure.evidence.append(evidence.of_extra(got))
            raise failure
        if end in ("timeout", "stalled"):
            waited = watch.describe() if end == "stalled" else _("for {seconds:g} s").format(seconds=seconds)
            raise SpecFailure(
                expected,
                _("{name} saw neither data nor end of file {waited}: the connection stays open").format(
                    name=self.name, waited=waited
                ),
                missed_deadline="reply",
            )
        if end != "eof":
            if end == "reset":
                happened = _("the connection was reset instead of closed")
            else:
                happened = _("the connection was broken ({end}) instead of closed").format(end=end)
            raise SpecFailure(expected, happened, RESET_HINT)

    def expect_silence(self, seconds: float) -> None:
        """Nothing arrives for `seconds` (and the connection stays open)."""
        got, end = self.receive_until_end(Deadline(seconds))
        if got or end != "timeout":
            if got:
                happened = _("received {data}").format(data=preview(got))
            else:
                happened = _("the connection ended ({end})").format(end=end)
            raise SpecFailure(_("{name} to get no reply yet").format(name=self.name), happened)

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
                    end = error_name(error)
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
