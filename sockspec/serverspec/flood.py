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
from sockspec.failure import Transcript
from sockspec.serverspec.connection import Client
from sockspec.timeouts import POLL_INTERVAL, Deadline

LIMIT = 64 * 1024 * 1024  # a server that reads without echoing must not keep a flood going forever


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
