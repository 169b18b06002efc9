"""The conversation engine on its own, over a socketpair: every chunking, and every way a reply goes wrong.

As h11 tests its parsers: the same reply fed whole, byte by byte, in pieces
that cut across what was sent, and with bytes after it.  The far end is a
thread that echoes (or changes) what it reads, in the chunking of the test.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

import pytest

from sockspec.failure import SpecFailure, Transcript
from sockspec.serverspec.connection import Client
from sockspec.serverspec.conversation import CHANGED_REPLY_HINT, Exchange, converse
from sockspec.timeouts import Timeouts

WAIT = 2.0
Reply = Callable[[bytes], list[bytes]]  # what the far end sends back for what it read, piece by piece


def whole(data: bytes) -> list[bytes]:
    return [data]


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def in_threes(data: bytes) -> list[bytes]:
    return [data[i : i + 3] for i in range(0, len(data), 3)]


CHUNKINGS = [whole, byte_by_byte, in_threes]


class Far:
    """The far end of a socketpair: reads everything and answers with `reply` of it, piece by piece."""

    def __init__(self, sock: socket.socket, reply: Reply, then: str = "stay") -> None:
        self.sock = sock
        self.reply = reply
        self.then = then  # after the client's end of file: stay open, close, or reset
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError), self.sock:  # the test may close its end, and this one, first
            while data := self.sock.recv(65536):
                for piece in self.reply(data):
                    self.sock.sendall(piece)
            if self.then == "close":
                self.sock.shutdown(socket.SHUT_WR)
            while self.then == "stay" and self.sock.recv(1):
                pass


def connected(name: str = "client 1") -> tuple[Client, socket.socket]:
    """A client whose connection is one end of a socketpair, and the other end."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client = Client(("127.0.0.1", 0), Transcript(), name, Timeouts(reply=WAIT, stall=WAIT))
    client.sock = ours
    return client, theirs


@pytest.fixture
def pair():
    client, theirs = connected()
    yield client, theirs
    client.sock.close()
    theirs.close()


def talk(client: Client, chunks: list[bytes], expected: bytes, **options) -> None:
    converse([Exchange(client, chunks, expected, **options)], WAIT)


@pytest.mark.parametrize("back", CHUNKINGS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("out", CHUNKINGS, ids=lambda f: f.__name__)
def test_an_echo_in_any_chunking_is_whole(pair, out, back):
    client, theirs = pair
    Far(theirs, back)
    message = bytes(range(256)) * 3
    talk(client, out(message), message)
    talk(client, out(b"\x00\r\n"), b"\x00\r\n")


@pytest.mark.parametrize("back", CHUNKINGS, ids=lambda f: f.__name__)
def test_waiting_for_each_echo_sends_piece_after_piece(pair, back):
    client, theirs = pair
    Far(theirs, back)
    pieces = [b"one ", b"two ", b"three"]
    talk(client, pieces, b"".join(pieces), wait_for_echo=True)


def test_a_megabyte_both_ways_at_once(pair):
    """Sending everything before reading would deadlock once both buffers fill; the engine reads as it sends."""
    client, theirs = pair
    Far(theirs, whole)
    data = bytes(i % 251 for i in range(1 << 20))
    talk(client, [data], data)


@pytest.mark.parametrize("back", CHUNKINGS, ids=lambda f: f.__name__)
def test_bytes_after_the_reply_are_named(pair, back):
    client, theirs = pair
    Far(theirs, lambda data: back(data + b"\n"))
    with pytest.raises(SpecFailure) as failed:
        talk(client, [b"hello"], b"hello")
        talk(client, [b"next"], b"next")
    assert "wrong from byte" in failed.value.happened or "more:" in failed.value.happened
    assert failed.value.exchange_hint == CHANGED_REPLY_HINT


def test_a_changed_byte_is_found_where_it_is(pair):
    client, theirs = pair
    Far(theirs, lambda data: [data.replace(b"x", b"y")])
    with pytest.raises(SpecFailure) as failed:
        talk(client, [b"abcxdef"], b"abcxdef")
    assert "wrong from byte 3 on" in failed.value.happened, failed.value.happened


def test_a_reply_cut_at_a_nul_byte(pair):
    client, theirs = pair
    Far(theirs, lambda data: [data.split(b"\x00")[0]], then="close")
    with pytest.raises(SpecFailure) as failed:
        talk(client, [b"ab\x00cd"], b"ab\x00cd", half_close=True)
    assert failed.value.happened == (
        "client 1 received only the first 2 of 5 bytes, then the server closed the connection"
    ), failed.value.happened


def test_silence_ends_after_the_deadline_as_a_missed_reply(pair):
    client, theirs = pair
    Far(theirs, lambda data: [])
    with pytest.raises(SpecFailure) as failed:
        converse([Exchange(client, [b"hello?"], b"hello?")], 0.3)
    assert failed.value.happened == "client 1 received nothing, then nothing more for 0.3 s"
    assert failed.value.missed_deadline == "reply"


def test_half_close_after_the_last_byte(pair):
    client, theirs = pair
    Far(theirs, whole, then="close")
    talk(client, [b"last words"], b"last words", half_close=True)
    client.expect_eof(WAIT)


def test_many_clients_at_once_each_get_their_own():
    ends = [connected(f"client {i}") for i in range(20)]
    fars = [Far(theirs, in_threes) for _, theirs in ends]
    clients = [client for client, _ in ends]
    converse([Exchange(c, [b"hello from %d" % i], b"hello from %d" % i) for i, c in enumerate(clients)], WAIT)
    for client in clients:
        client.sock.close()
    for far in fars:
        far.thread.join(WAIT)
