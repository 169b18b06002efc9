"""The harness as the notes' server: it listens, accepts the client under test, and scripts every byte.

A test decides what the server does and when: read the typed line, answer
with any reply, in one send() or in pieces, late, or not at all, close the
connection or reset it.  Every wait is bounded by a named deadline and
every step is recorded in the test's transcript, like `sockspec.serverspec.connection`
does for the server half.

Framing: the notes' client sends a typed line without its newline; others
send it with "\\n" (or "\\r\\n").  The server accepts either, line by line:
after a line it takes the newline that follows it, whenever that arrives.
"""

from __future__ import annotations

import errno
import selectors
import socket
import struct
import time
from collections.abc import Callable

from sockspec.failure import SpecFailure, Transcript, describe_difference, preview
from sockspec.i18n import N_, _, ngettext
from sockspec.timeouts import Deadline

RECV_SIZE = 65536
NEWLINES = (b"\r\n", b"\n")
# How the client's side of the connection ended (`ServerEnd.end`), in words; an error is its strerror.
ENDS = {"eof": N_("end of file"), "reset": N_("reset")}


class ListenError(Exception):
    """The harness cannot listen where it was asked to; the message is one line."""


def listen(host: str, port: int, accept: bool = True) -> socket.socket:
    """A socket bound to host:port (0: any free port); listening unless `accept` is False.

    A socket that is bound but not listening keeps the port ours while every
    connection to it is refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRNOTAVAIL:
            raise ListenError(
                _(
                    "{host} is not an address of this machine, so the harness cannot listen there: run in a "
                    "network namespace where it is, e.g. unshare -n sh -c 'ip link set lo up && "
                    "ip addr add {host} dev lo && pytest ...'"
                ).format(host=host)
            ) from None
        raise ListenError(
            _("cannot listen on {host}:{port}: {error}").format(host=host, port=port, error=error.strerror)
        ) from None
    if accept:
        sock.listen(1)
    return sock


class ServerEnd:
    """The server's end of the client's connection."""

    name = "server"

    def __init__(self, sock: socket.socket, transcript: Transcript, reply_deadline: Callable[[], float]) -> None:
        """`reply_deadline()` is the reply deadline now (it shortens once the client has missed one)."""
        sock.setblocking(False)
        # Each send() its own segment, so pieces the spec sends apart arrive apart.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.transcript = transcript
        self.reply_deadline = reply_deadline
        self.pending = bytearray()  # received and not yet expected by the test
        self.end = ""  # '', 'eof', 'reset' or an error, once the client's side ended
        self.newline_owed = False  # a line was taken without its newline; it may still come
        self.closed = False

    def _receive(self, deadline: Deadline, enough) -> None:
        """Read until `enough()` holds, the client's side ends, or the deadline passes."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while not enough() and not self.end:
                if not selector.select(deadline.remaining()):
                    return
                try:
                    chunk = self.sock.recv(RECV_SIZE)
                except BlockingIOError:
                    continue
                except OSError as error:
                    self.end = "reset" if error.errno in (errno.ECONNRESET, errno.EPIPE) else error.strerror or "error"
                    self.transcript.add(self.name, f"the connection failed: {self.end}")
                    return
                if not chunk:
                    self.end = "eof"
                    self.transcript.add(self.name, "read end of file: the client closed its end")
                    return
                self.transcript.add(self.name, f"received {preview(chunk)}")
                self.pending += chunk
                self._take_owed_newline()

    def _take_owed_newline(self) -> None:
        if self.newline_owed and self.pending:
            for newline in NEWLINES:
                if self.pending.startswith(newline):
                    del self.pending[: len(newline)]
                    self.newline_owed = False
                    return
            if self.pending != b"\r":
                self.newline_owed = False

    def expect_line(self, line: bytes, seconds: float | None = None) -> None:
        """The client sends `line`, with or without a newline after it."""
        seconds = seconds or self.reply_deadline()
        expected = _("the server to receive the typed line {data} (with or without its newline)").format(
            data=preview(line)
        )

        def enough() -> bool:
            return len(self.pending) >= len(line) or not line.startswith(bytes(self.pending))

        self._receive(Deadline(seconds), enough)
        got = bytes(self.pending[: len(line)])
        if got == line:
            del self.pending[: len(line)]
            self.newline_owed = True
            self._take_owed_newline()
            return
        if not line.startswith(got):
            difference = describe_difference(line, bytes(self.pending))
            raise SpecFailure(expected, _("it received {difference}").format(difference=difference))
        difference = describe_difference(line, got) if got else ""
        if self.end:
            end = _(ENDS[self.end]) if self.end in ENDS else self.end
            if got:
                happened = _("it received {difference}, then the connection ended ({end})")
            else:
                happened = _("it received nothing, then the connection ended ({end})")
            raise SpecFailure(expected, happened.format(difference=difference, end=end))
        happened = _("it received {difference} in {seconds:g} s") if got else _("it received nothing in {seconds:g} s")
        raise SpecFailure(expected, happened.format(difference=difference, seconds=seconds), missed_deadline="reply")

    def send(self, data: bytes) -> None:
        """Send all of `data` (one send() for anything a socket buffer holds)."""
        view = memoryview(data)
        seconds = self.reply_deadline()
        deadline = Deadline(seconds)
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_WRITE)
            while view:
                if not selector.select(deadline.remaining()):
                    raise SpecFailure(
                        _("the client to read the server's {size}-byte reply").format(size=len(data)),
                        ngettext(
                            "it read only {count} byte in {seconds:g} s",
                            "it read only {count} bytes in {seconds:g} s",
                            len(data) - len(view),
                        ).format(count=len(data) - len(view), seconds=seconds),
                        missed_deadline="reply",
                    )
                try:
                    view = view[self.sock.send(view) :]
                except BlockingIOError:
                    continue
                except OSError as error:
                    raise SpecFailure(
                        _("the client to keep its connection open and read the server's {size}-byte reply").format(
                            size=len(data)
                        ),
                        _("sending failed: {error}").format(error=error.strerror),
                    ) from None
        self.transcript.add(self.name, f"sent {preview(data)}")

    def stay_silent(self, seconds: float) -> None:
        """Send nothing for `seconds`: a window, not a deadline."""
        self.transcript.add(self.name, f"stays silent for {seconds:g} s")
        time.sleep(seconds)

    def expect_eof(self, seconds: float | None = None, after: str = "") -> None:
        """The client closes (or half-closes) its end: the server reads end of file, and nothing else."""
        seconds = seconds or self.reply_deadline()
        self._receive(Deadline(seconds), lambda: False)
        if after:
            expected = _("the server to read end of file on the connection {after}").format(after=after)
        else:
            expected = _("the server to read end of file on the connection")
        extra = bytes(self.pending)
        if extra:
            raise SpecFailure(expected, _("it received {data} the user never typed").format(data=preview(extra)))
        if not self.end:
            raise SpecFailure(
                expected,
                _("the connection stayed open for {seconds:g} s: the client never closed it").format(seconds=seconds),
                missed_deadline="reply",
            )

    def close(self) -> None:
        """close(): the client's recv() returns 0."""
        if not self.closed:
            self.closed = True
            self.sock.close()
            self.transcript.add(self.name, "closed the connection")

    def reset(self) -> None:
        """Close with SO_LINGER 0, so the client gets an RST instead of a FIN."""
        if not self.closed:
            self.closed = True
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
            self.transcript.add(self.name, "reset the connection (SO_LINGER 0, close)")
