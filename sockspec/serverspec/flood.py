"""A client that sends and never reads, until the server is stuck sending to it.

An echo server answers every byte, so a client that never reads fills the
server's send buffer, then its own receive buffer, then the server's
receive buffer: the server then waits in send(), and stops reading this
connection.  Tests use that moment: another client must still be served, a
reset must not kill the server, the echo must still come back whole once
the client reads.  When is the server stuck?  The kernel says: bytes wait
unread in the server's end, and nothing moves.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable

from sockspec import payloads, proc, tcp
from sockspec.failure import SpecFailure, Transcript, preview
from sockspec.i18n import _
from sockspec.serverspec.connection import Client
from sockspec.serverspec.conversation import error_name
from sockspec.timeouts import POLL_INTERVAL, Deadline

LIMIT = 64 * 1024 * 1024  # a server that reads without echoing must not keep a flood going forever
SLOW_READ_AT_MOST = 3  # a slow reader's pace reads everything in at most this many times its window
TAKE_STEP = 64 * 1024  # what a slow reader reads at a time (at most a flood period, as payloads.flood() gives)


def until_blocked(
    client: Client, transcript: Transcript, tree_quiet: Callable[[], bool], still: float, seconds: float,
    for_good: bool = False,
) -> tuple[int, bool]:  # fmt: skip
    """Send on `client`'s connection without ever reading, until the server is stuck sending to it:
    (the bytes sent, `payloads.flood_bytes(sent)`; whether it got stuck before `seconds` ran out or a
    flood of LIMIT bytes was all sent).

    The server is stuck once it has unread bytes from this client while all
    its threads are blocked (`tree_quiet`), or while the kernel has taken
    nothing for `still` seconds (every buffer on the way is full; a server
    whose other threads spin is never all blocked).

    `for_good`: only `still` counts, not a quiet tree.  A server blocked in
    send() is woken again, now and then, while the kernel compacts the
    buffers of a connection nobody reads; a test that needs it never to send
    to this client again waits for that to end.
    """
    sock = client.sock
    assert sock is not None
    sent = 0
    last_taken = time.monotonic()
    last_quiet: list[tuple[int, int] | None] = [None]  # (unread by it, unread by us) at the last quiet look

    def stuck() -> bool:
        end = tcp.server_end(sock)
        queue = end.receive_queue if end else 0
        if not queue:
            return False
        if time.monotonic() - last_taken >= still:
            return True
        if for_good:
            return False
        # A server blocked in send() may be woken again while the kernel still grows the buffers: it
        # waits for good once it is quiet at two looks in a row with not a byte moved in between,
        # neither read by it nor sent to us.
        seen = last_quiet[0]
        last_quiet[0] = (queue, proc.unread_bytes(sock.fileno())) if tree_quiet() else None
        return seen is not None and seen == last_quiet[0]

    deadline = Deadline(seconds)  # filling the buffers takes time even when all is well
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_WRITE)
        while sent < LIMIT and not deadline.expired():
            if selector.select(POLL_INTERVAL):
                try:
                    sent += sock.send(payloads.flood(sent))
                    last_taken = time.monotonic()
                    continue
                except BlockingIOError:
                    pass
            if stuck():
                transcript.add(client.name, f"sent {sent} bytes without reading any")
                transcript.add("server", f"stopped reading from {client.name}: it waits to send to it")
                return sent, True
    transcript.add(client.name, f"sent {sent} bytes without reading any; the server still reads")
    return sent, sent >= LIMIT


def read_until_all_taken(
    client: Client, transcript: Transcript, tree_quiet: Callable[[], bool], still: float, sent: int, seconds: float
) -> int:
    """After a flood of `sent` bytes and a half-close, read the echo only as far as the server needs
    to take every byte and the end of file (nothing of ours unsent or unacknowledged, nothing unread
    in its end); returns the bytes read, each checked against the flood.

    Each round reads as many bytes as the server has still to take, then waits for the bytes to
    stop moving (as `until_blocked` does) before it looks again: reading more than that would let
    the server move what it holds of the echo into the kernel's buffers.
    """
    sock = client.sock
    assert sock is not None
    deadline = Deadline(seconds)

    def to_take() -> int:
        end = tcp.server_end(sock)
        return proc.unsent_bytes(sock.fileno()) + (end.receive_queue if end else 0)

    def queues() -> tuple[int, ...]:
        end = tcp.server_end(sock)
        ours = (proc.unread_bytes(sock.fileno()), proc.unsent_bytes(sock.fileno()))
        return (*ours, end.receive_queue, end.send_queue) if end else ours

    def wait_still() -> None:
        seen, since = queues(), time.monotonic()
        while not deadline.expired():
            time.sleep(POLL_INTERVAL)
            now = queues()
            if now != seen:
                seen, since = now, time.monotonic()
            elif tree_quiet() or time.monotonic() - since >= still:
                return

    read = 0
    while (wanted := to_take()) and read < sent and not deadline.expired():
        read = _read_flood(client, sent, read, min(read + wanted, sent), deadline)
        wait_still()
    transcript.add(client.name, f"read {read} bytes, until the server had taken all it sent and its end of file")
    return read


def read_slowly(client: Client, transcript: Transcript, sent: int, read: int, seconds: float) -> None:
    """Read the rest of the echo of a flood of `sent` bytes (`read` of them already read) slowly, a
    step at a time, at the pace that takes `seconds` to read what now waits in the kernel's buffers
    (unread in our end, unsent in the server's); what the server holds itself comes at the same pace,
    up to SLOW_READ_AT_MOST times `seconds` in all.
    Every byte must come, however long it takes (the reply deadline starts again at each step)."""
    sock = client.sock
    assert sock is not None
    end = tcp.server_end(sock)
    in_kernel = proc.unread_bytes(sock.fileno()) + (end.send_queue if end else 0)
    pause = seconds / max(1, in_kernel // TAKE_STEP, (sent - read) // TAKE_STEP // SLOW_READ_AT_MOST)
    transcript.add(client.name, f"reads the {sent - read} bytes left slowly, {TAKE_STEP} bytes every {pause:.3f} s")
    while read < sent:
        time.sleep(pause)  # the client is slow on purpose: a pace, not a wait for an event
        read = _read_flood(client, sent, read, min(read + TAKE_STEP, sent), Deadline(client.reply_seconds))


def _read_flood(client: Client, sent: int, read: int, goal: int, deadline: Deadline) -> int:
    """Read the flood's echo from byte `read` up to `goal`, or until `deadline`; returns where it got.
    Bytes that differ from the flood, or an end of the connection before `sent`, fail the test."""
    sock = client.sock
    assert sock is not None
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        while read < goal and not deadline.expired():
            if not selector.select(min(POLL_INTERVAL, deadline.remaining())):
                continue
            try:
                chunk = sock.recv(min(goal - read, TAKE_STEP))
            except BlockingIOError:
                continue
            except OSError as error:
                chunk, end = b"", error_name(error)
            else:
                end = "eof"
            if chunk == payloads.flood(read)[: len(chunk)] and chunk:
                read += len(chunk)
                continue
            expected = _("{name} to receive the echo of all {sent} bytes it sent").format(name=client.name, sent=sent)
            if chunk:
                happened = _("after {read} bytes it received {data}, not the bytes it had sent").format(
                    read=read, data=preview(chunk)
                )
            elif end == "eof":
                happened = _("after {read} bytes it received end of file: {lost} bytes never came back").format(
                    read=read, lost=sent - read
                )
            else:
                happened = _(
                    "after {read} bytes the connection was broken ({end}): {lost} bytes never came back"
                ).format(read=read, end=end, lost=sent - read)
            then = preview(chunk) if chunk else end
            client.transcript.add(client.name, f"received {read} bytes of the echo, then {then}")
            raise SpecFailure(expected, happened)
    return read
