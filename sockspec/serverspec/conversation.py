"""A conversation: what each client sends and must get back, run over many connections at once.

One selector drives every connection of the conversation, so a client can
send a megabyte while its echo comes back (a client that sends everything
before reading would deadlock against any correct echo server once both
socket buffers fill), and hundreds of clients can talk at the same moment.
The bytes received are compared as they come, so the first wrong one ends
the conversation at once, and the failure says how the reply went wrong.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sockspec import evidence, tcp
from sockspec.failure import Hint, SpecFailure, byte_count, describe_difference, preview
from sockspec.i18n import N_, _, ngettext
from sockspec.timeouts import LOOK_INTERVAL, Deadline

if TYPE_CHECKING:
    from sockspec.serverspec.connection import Client

RECV_SIZE = 65536


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
                    _fail(ex, _("for {seconds:g} s").format(seconds=seconds))
                if ex.done():
                    selector.unregister(key.fileobj)
                else:
                    selector.modify(key.fileobj, _interest(ex), ex)
            pending = [ex for ex in pending if not ex.done()]
    waited = watch.describe() if stalled and watch else _("for {seconds:g} s").format(seconds=seconds)
    try:
        for ex in exchanges:
            _log(ex)
            if not ex.done() or bytes(ex.got) != ex.expected:
                _fail(ex, waited)
            if ex.expected:
                ex.client.on_answer()
                ex.client.answered += 1
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
        ex.end = error_name(error)
        return
    ex.sent += n
    ex.chunk_offset += n
    if not ex.client.first_sent:
        ex.client.first_sent = bytes(chunk[: evidence.REPEAT_MIN * 2])
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
        ex.end = error_name(error)
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


_ENDINGS = {"eof": N_("the server closed the connection"), "reset": N_("the connection was reset")}


def _ending(end: str) -> str:
    """How the connection ended, as a clause."""
    if end in _ENDINGS:
        return _(_ENDINGS[end])
    return _("the connection failed ({end})").format(end=end)


def _fail(ex: Exchange, waited: str) -> None:
    """Raise the SpecFailure that says how `ex` went wrong, with what its bytes show
    (sockspec.evidence); `waited` says how long nothing came."""
    try:
        _raise_failure(ex, waited)
    except SpecFailure as failure:
        due = ex.expected if ex.done_sending() else ex.expected[: max(ex.sent, len(ex.got))]
        failure.evidence = evidence.of_reply(due, bytes(ex.got), bool(ex.end), ex.client.first_sent)
        failure.evidence += _left_unread(ex)
        failure.received = bytes(ex.got)
        if not failure.likely_bug and evidence.nothing_for_a_nul(due, bytes(ex.got), bool(ex.end)):
            failure.likely_bug = NOTHING_FOR_A_NUL_HINT
        if not failure.likely_bug and not ex.got and ex.end == "eof" and ex.client.answered:
            failure.likely_bug = CLOSED_AFTER_A_REPLY_HINT
            if due.lower().startswith(COMMAND_WORDS):
                words = _("the connection closed on {data}").format(data=preview(due[:16]))
                failure.evidence.append(("closes-on-command", words))
        raise


SENDING = ("write", "writev", "sendto", "sendmsg")  # the calls of proc.SOCKET_WAITS that send


def _left_unread(ex: Exchange) -> list[evidence.Finding]:
    """The server sleeps while bytes the client sent wait unread in its end of the connection, and
    the client reads on, so nothing stops it from answering: what an event loop shows of a socket
    it is not told of again (edge-triggered, not read until EAGAIN), or of a blocking accept()."""
    sock = ex.client.sock
    end = tcp.server_end(sock) if sock is not None and not ex.end else None
    if end is None or not end.receive_queue or not ex.client.server_blocked():
        return []
    waits = ex.client.server_waits()
    if any(call.startswith("accept") for call in waits):
        words = _("the server sits in accept() while {count} bytes from {name} wait unread in its socket")
        return [("blocking-accept-in-loop", words.format(count=end.receive_queue, name=ex.client.name))]
    if any(call in SENDING for call in waits):
        words = _("the server sits in send() to another socket while {count} bytes from {name} wait unread in its own")
        return [("blocking-send-in-loop", words.format(count=end.receive_queue, name=ex.client.name))]
    if waits:
        return []  # it waits to read another socket: what for is the test's to say
    # It waits for whichever socket is ready, and is not told of this one.
    words = _("{count} bytes from {name} wait unread in the server's socket while every thread of the server sleeps")
    return [("edge-triggered-not-drained", words.format(count=end.receive_queue, name=ex.client.name))]


def _raise_failure(ex: Exchange, waited: str) -> None:
    got = bytes(ex.got)
    name = ex.client.name
    to_receive = _("{name} to receive {data}").format(name=name, data=preview(ex.expected))
    if ex.wrong_so_far() or len(got) > len(ex.expected):
        difference = describe_difference(ex.expected, got)
        if ex.done_sending():
            happened = _("{name} received {difference}").format(name=name, difference=difference)
        else:
            happened = _("{name} received {difference}, of the {sent} it had sent so far").format(
                name=name, difference=difference, sent=byte_count(ex.sent)
            )
        raise _changed(SpecFailure(to_receive, happened))
    if not ex.done_sending() and ex.wait_for_echo and len(got) < ex.sent:
        expected = _("the echo of the {sent} {name} sent so far, before it sends the next piece").format(
            sent=byte_count(ex.sent), name=name
        )
        echoed = describe_difference(ex.expected[: ex.sent], got)
        if ex.end and got:
            happened = _("{name} received {difference}; the connection ended ({end})")
        elif ex.end:
            happened = _("{name} received nothing; the connection ended ({end})")
        elif got:
            happened = _("{name} received {difference}, then nothing more {waited}")
        else:
            happened = _("{name} received nothing, then nothing more {waited}")
        happened = happened.format(name=name, difference=echoed, end=ex.end, waited=waited)
        raise SpecFailure(expected, happened, missed_deadline="" if ex.end else "reply")
    if not ex.done_sending():
        expected = ngettext("{name} to send {total} byte", "{name} to send {total} bytes", ex.total).format(
            name=name, total=ex.total
        )
        if ex.end:
            happened = _("{ended} after {name} had sent {sent}").format(
                ended=_ending(ex.end), name=name, sent=byte_count(ex.sent)
            )
            raise SpecFailure(expected, happened)
        happened = _("the server stopped reading after {sent}").format(sent=byte_count(ex.sent))
        raise SpecFailure(expected, happened, missed_deadline="reply")
    if ex.end and got:
        happened = _("{name} received {difference}, then {ending}")
    elif ex.end:
        happened = _("{name} received nothing, then {ending}")
    elif got:
        happened = _("{name} received {difference}, then nothing more {waited}")
    else:
        happened = _("{name} received nothing, then nothing more {waited}")
    happened = happened.format(
        name=name,
        difference=describe_difference(ex.expected, got) if got else "",
        ending=_ending(ex.end) if ex.end else "",
        waited=waited,
    )
    failure = SpecFailure(to_receive, happened, missed_deadline="" if ex.end else "reply")
    raise _changed(failure) if got else failure


CHANGED_REPLY_HINT = Hint(
    N_(
        "an ordinary exchange went wrong before what this test checks: the server sends back other or fewer "
        "bytes than it received (send() given the wrong length: strlen() stops at a NUL byte, sizeof(buf) "
        "sends the whole buffer, `n = recv(...) > 0` makes n 1); the send/recv tests show it first"
    ),
    causes=("strlen-on-binary", "sends-whole-buffer", "adds-bytes", "drops-bytes", "partial-send-ignored"),
    general=True,
)


NOTHING_FOR_A_NUL_HINT = Hint(
    N_(
        "nothing came back for data that starts with a NUL byte: the server treats the data as a C string "
        "(strlen() of it is 0, so nothing is sent, or `if (strlen(buf) == 0) continue;` skips it); send "
        "the count recv() returned"
    ),
    causes=("strlen-on-binary",),
    general=True,
)


COMMAND_WORDS = (b"quit", b"exit", b"bye", b"close")  # words a server may take for a command
CLOSED_AFTER_A_REPLY_HINT = Hint(
    N_(
        "the server closed the connection after answering, before this message was answered: it must keep "
        "its recv()/send() loop going until recv() returns 0"
    ),
    causes=("one-reply-per-connection", "exits-on-client-error"),
    general=True,
)


def _changed(failure: SpecFailure) -> SpecFailure:
    """`failure` of a reply that came back changed or cut short."""
    failure.exchange_hint = CHANGED_REPLY_HINT
    return failure


def error_name(error: OSError) -> str:
    if error.errno in (errno.ECONNRESET, errno.EPIPE):
        return "reset"
    return f"error {errno.errorcode.get(error.errno or 0, error.errno)}"
