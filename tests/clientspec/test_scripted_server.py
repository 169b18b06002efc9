"""The harness as the server: line framing, end of file, and what it says when the client sends something else."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from sockspec.clientspec.scripted_server import ListenError, ServerEnd, listen
from sockspec.failure import SpecFailure, Transcript


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, ServerEnd]]:
    """(the client's socket, the harness's ServerEnd) over loopback."""
    listener = listen("127.0.0.1", 0)
    client = socket.create_connection(listener.getsockname())
    conn, _ = listener.accept()
    listener.close()
    peer = ServerEnd(conn, Transcript(), lambda: 2.0)
    try:
        yield client, peer
    finally:
        client.close()
        peer.close()


class TestFraming:
    @pytest.mark.parametrize("sent", [b"one" + b"two", b"one\ntwo\n", b"one\r\ntwo\r\n"], ids=["none", "LF", "CRLF"])
    def test_either_framing(self, pair, sent):
        client, peer = pair
        client.sendall(sent)
        peer.expect_line(b"one")
        peer.expect_line(b"two")
        client.shutdown(socket.SHUT_WR)
        peer.expect_eof()

    def test_newline_arriving_with_the_next_line(self, pair):
        client, peer = pair
        client.sendall(b"one")
        peer.expect_line(b"one")
        client.sendall(b"\ntwo")
        peer.expect_line(b"two")

    def test_extra_bytes_are_reported(self, pair):
        client, peer = pair
        client.sendall(b"one\x00two")
        peer.expect_line(b"one")
        with pytest.raises(SpecFailure, match=r"received b'\\x00two'"):
            peer.expect_line(b"two")

    def test_a_word_instead_of_the_line(self, pair):
        client, peer = pair
        client.sendall(b"hello,")
        with pytest.raises(SpecFailure, match=r"only the first 6 of 13 bytes") as failure:
            peer.expect_line(b"hello, server", seconds=0.2)
        assert failure.value.missed_deadline == "reply"

    def test_stray_bytes_before_end_of_file(self, pair):
        client, peer = pair
        client.sendall(b"\x00")
        client.shutdown(socket.SHUT_WR)
        with pytest.raises(SpecFailure, match=r"received b'\\x00'"):
            peer.expect_eof()

    def test_connection_left_open(self, pair):
        _, peer = pair
        with pytest.raises(SpecFailure, match="stayed open") as failure:
            peer.expect_eof(seconds=0.2)
        assert failure.value.missed_deadline == "reply"


def test_reset_reaches_the_client_as_an_error(pair):
    client, peer = pair
    peer.reset()
    with pytest.raises(ConnectionResetError):
        client.recv(1)


def test_refusing_socket_holds_the_port():
    holder = listen("127.0.0.1", 0, accept=False)
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(holder.getsockname(), timeout=2)
    finally:
        holder.close()


def test_address_not_on_this_machine_says_how_to_get_it():
    with pytest.raises(ListenError, match="network namespace"):
        listen("198.51.100.77", 19999)
