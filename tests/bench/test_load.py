"""The load client on its own: it counts what the server echoed, and never waits longer than IO_TIMEOUT."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from sockspec.bench import load, report, stdlib_echo
from sockspec.bench.load import Load, LoadError
from sockspec.bench.measure import MIB

LOADS = [Load("roundtrip", 1), Load("roundtrip", 3), Load("connect"), Load("bulk", 1, MIB)]


@pytest.fixture
def echo_server():
    """socketserver's threaded echo server of `sockspec bench --compare`, in a thread of this process."""
    server = stdlib_echo.CLASSES["threaded"](("127.0.0.1", 0), stdlib_echo.EchoHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.parametrize("work", LOADS, ids=lambda w: f"{w.kind}-{w.clients}")
def test_it_counts_what_the_server_echoed(echo_server, work):
    count = load.run(work, echo_server, warmup=0.02, seconds=0.1)
    assert count.operations > 0 and 0.05 < count.seconds < 1.0
    assert count.rate == count.operations / count.seconds
    assert count.served == work.clients


@pytest.mark.parametrize("work", LOADS, ids=lambda w: f"{w.kind}-{w.clients}")
def test_a_silent_server_fails_the_figure_after_io_timeout(monkeypatch, work):
    monkeypatch.setattr(load, "IO_TIMEOUT", 0.2)
    # It listens, so connect() completes in the kernel, but it never accepts nor answers.
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        started = time.monotonic()
        with pytest.raises(LoadError, match=r"no answer within 0\.2 s"):
            load.run(work, listener.getsockname(), warmup=0.01, seconds=0.05)
        assert time.monotonic() - started < 3


def test_a_server_that_closes_at_once_fails_the_figure():
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def close_every_connection() -> None:
            for _ in range(2):
                conn, _ = listener.accept()
                conn.close()

        closer = threading.Thread(target=close_every_connection, daemon=True)
        closer.start()
        with pytest.raises(LoadError):
            load.run(Load("roundtrip", 1), listener.getsockname(), warmup=0.01, seconds=0.05)
        closer.join(0.1)


@pytest.mark.parametrize(
    "value, unit, shown",
    [
        (16543.2, "round trips/s", "16.5k"),
        (126789, "round trips/s", "127k"),
        (758.4, "connections/s", "758"),
        (2512.7, "MiB/s", "2513"),
        (None, "MiB/s", "failed"),
    ],
)
def test_numbers_are_short(value, unit, shown):
    assert report.number(value, unit) == shown


def test_connecting_many_clients_to_a_slow_server_is_bounded_too(monkeypatch):
    monkeypatch.setattr(load, "SETUP_TIMEOUT", 0.3)
    with socket.create_server(("127.0.0.1", 0), backlog=32) as listener:

        def answer_slowly() -> None:
            conns = []
            with contextlib.suppress(OSError):  # the listener is shut down under accept() at the end
                for _ in range(20):
                    conn, _ = listener.accept()
                    conns.append(conn)
                    time.sleep(0.1)  # each client's first reply comes 0.1 s late
                    conn.sendall(conn.recv(64))
            for conn in conns:
                conn.close()

        server = threading.Thread(target=answer_slowly, daemon=True)
        server.start()
        started = time.monotonic()
        with pytest.raises(LoadError, match=r"only [2-5] of 20 clients were connected and answered within 0\.3 s"):
            load.run(Load("roundtrip", 20), listener.getsockname(), warmup=0.01, seconds=0.05)
        assert time.monotonic() - started < 1.5
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the server thread
        server.join(2)
