"""The load client of `sockspec bench`: drive an echo server as hard as one CPU allows.

A benchmark measures the slower of client and server, so the client must do
as little per round trip as the kernel lets it:

* one connection: blocking send() and recv_into() a buffer allocated once:
  two system calls per round trip, no selector, no allocation, no thread;
* several connections: one thread and one level-triggered epoll loop over
  all of them (threads would add a GIL hand-off per reply; processes would
  compete with the server for the same two CPUs);
* 1 MiB messages: a sender thread and a receiver, so the echo flows both
  ways at once, and both block in the kernel with the GIL released.

`sockspec bench --check-client` compares this client with the C one in
c/load_client.c, which does the same with the same system calls.  Every wait
is bounded: a server silent for IO_TIMEOUT seconds fails the figure.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

IO_TIMEOUT = 5.0  # seconds without an answer after which a server is not answering
SETUP_TIMEOUT = 30.0  # seconds to connect all the clients of a figure, each answered once


class LoadError(Exception):
    """The server did not take the load; the message says how, in one line."""


@dataclass(frozen=True)
class Load:
    """What a figure asks of the server."""

    kind: str  # "roundtrip", "connect" or "bulk"
    clients: int = 1
    size: int = 64  # bytes per message


@dataclass(frozen=True)
class Count:
    """What a load client counted while it measured."""

    operations: int
    seconds: float
    served: int  # connections that completed at least one operation while measured
    cpu: float = 0.0  # CPU seconds the client itself used while it measured

    @property
    def rate(self) -> float:
        return self.operations / self.seconds if self.seconds > 0 else 0.0


class _Clock:
    """Warm-up, then measure: counts operations that end after the warm-up, until time is up.

    The warm-up starts with `start()`, once every connection a figure keeps
    open is made: connecting is not part of a round-trip figure.  The first
    counted operation only starts the clock, so the count and the time span
    the same operations.  The client's own CPU time is read only when the
    clock starts and stops: reading it is a system call.
    """

    def __init__(self, warmup: float, seconds: float) -> None:
        self.warmup, self.seconds = warmup, seconds
        self.counted = 0
        self.started = self.ended = 0.0
        self.cpu_started = self.cpu_ended = 0.0
        self.start()

    def start(self) -> None:
        self.warm_end = time.perf_counter() + self.warmup
        self.end = self.warm_end + self.seconds

    def tick(self) -> bool:
        """One operation done; True when the time is up."""
        now = time.perf_counter()
        if now < self.warm_end:
            return False
        if self.counted == 0:
            self.started = now
            self.cpu_started = time.process_time()
        self.counted += 1
        self.ended = now
        if now < self.end:
            return False
        self.cpu_ended = time.process_time()
        return True

    @property
    def measuring(self) -> bool:
        return self.counted > 0

    def result(self, served: int) -> Count:
        cpu = max(0.0, self.cpu_ended - self.cpu_started)
        return Count(max(0, self.counted - 1), self.ended - self.started, served, cpu)


def run(load: Load, address: tuple[str, int], warmup: float, seconds: float) -> Count:
    """Put `load` on the server at `address`; raise LoadError if it does not keep up."""
    clock = _Clock(warmup, seconds)
    try:
        if load.kind == "connect":
            _connects(address, load.size, clock)
            return clock.result(served=1)
        if load.kind == "bulk":
            _bulk(address, load.size, clock)
            return clock.result(served=1)
        if load.clients == 1:
            _one_client(address, load.size, clock)
            return clock.result(served=1)
        return clock.result(_many_clients(address, load, clock))
    except LoadError:
        raise
    except OSError as error:
        raise LoadError(_describe(error)) from None


def _describe(error: OSError) -> str:
    if error.errno in (errno.EAGAIN, errno.EINPROGRESS, errno.ETIMEDOUT):
        return f"no answer within {IO_TIMEOUT:g} s"
    if error.errno == errno.EADDRNOTAVAIL:
        return "out of local ports (TIME_WAIT): is net.ipv4.tcp_tw_reuse 0 on this machine?"
    return error.strerror or str(error)


def _connected(address: tuple[str, int]) -> socket.socket:
    """A blocking socket whose calls give up after IO_TIMEOUT (SO_RCVTIMEO/SO_SNDTIMEO).

    Not settimeout(): that makes Python poll() before every call, doubling
    the system calls of a round trip.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    seconds, micro = divmod(round(IO_TIMEOUT * 1_000_000), 1_000_000)
    timeout = struct.pack("ll", seconds, micro)  # struct timeval
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _receive(sock: socket.socket, view: memoryview) -> None:
    """Read exactly len(view) bytes from `sock` into `view`, a buffer reused for every reply."""
    size = len(view)
    got = sock.recv_into(view)
    while got < size:
        if got == 0 or (more := sock.recv_into(view[got:])) == 0:
            raise LoadError("the server closed the connection")
        got += more


def _one_client(address: tuple[str, int], size: int, clock: _Clock) -> None:
    message = b"x" * size
    view = memoryview(bytearray(size))
    with _connected(address) as sock:
        clock.start()
        while True:
            sock.sendall(message)
            _receive(sock, view)
            if clock.tick():
                return


def _connects(address: tuple[str, int], size: int, clock: _Clock) -> None:
    message = b"x" * size
    view = memoryview(bytearray(size))
    while True:
        with _connected(address) as sock:
            sock.sendall(message)
            _receive(sock, view)
        if clock.tick():
            return


def _bulk(address: tuple[str, int], size: int, clock: _Clock) -> None:
    """Messages of `size` bytes, one at a time; the sender runs beside the receiver."""
    message = b"x" * size
    may_send = threading.Semaphore(0)
    finished = False

    def sender() -> None:
        while True:
            may_send.acquire()
            if finished:
                return
            try:
                sock.sendall(message)
            except OSError:
                return  # the receiver sees the same broken connection and says so

    with _connected(address) as sock:
        clock.start()
        thread = threading.Thread(target=sender, name="sockspec-bench-sender", daemon=True)
        thread.start()
        view = memoryview(bytearray(size))
        try:
            while True:
                may_send.release()
                _receive(sock, view)
                if clock.tick():
                    return
        finally:
            finished = True
            may_send.release()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a sender still blocked in sendall()
            thread.join(IO_TIMEOUT)


def _connect_all(address: tuple[str, int], clients: int, message: bytes, socks: list[socket.socket]) -> None:
    """Connect `clients` clients into `socks`, one at a time, each echoed once before the next connects.

    The server's queue of completed connections then never holds more than
    one, so a small listen() backlog drops no SYN (each drop costs a 1 s
    retry).  All of it within SETUP_TIMEOUT, however slowly the server answers.
    """
    view = memoryview(bytearray(len(message)))
    deadline = time.monotonic() + SETUP_TIMEOUT
    for i in range(clients):
        if time.monotonic() > deadline:
            raise LoadError(f"only {i} of {clients} clients were connected and answered within {SETUP_TIMEOUT:g} s")
        try:
            socks.append(_connected(address))
            socks[-1].sendall(message)
            _receive(socks[-1], view)
        except (OSError, LoadError) as error:
            reason = _describe(error) if isinstance(error, OSError) else str(error)
            raise LoadError(f"client {i + 1} of {clients} was not served: {reason}") from None


def _many_clients(address: tuple[str, int], load: Load, clock: _Clock) -> int:
    """`load.clients` connections, one message each in flight, in one epoll loop; returns how many were served."""
    size, clients = load.size, load.clients
    message = b"x" * size
    buffer = bytearray(size)
    socks: list[socket.socket] = []
    poller = select.epoll()
    try:
        _connect_all(address, clients, message, socks)
        index = {sock.fileno(): i for i, sock in enumerate(socks)}
        received = [0] * clients
        done = [0] * clients
        done_before: list[int] = []
        recv_into = [sock.recv_into for sock in socks]
        send = [sock.sendall for sock in socks]
        clock.start()
        for sock in socks:
            poller.register(sock.fileno(), select.EPOLLIN)
            sock.sendall(message)
        # When time is up, no new messages go out, but the replies still on
        # their way are read (for IO_TIMEOUT at most) before closing: closing a
        # socket with unread data resets the connection, and the server would
        # see an error.
        in_flight, served, drain_end = clients, 0, 0.0
        while in_flight:
            wait = IO_TIMEOUT if not drain_end else drain_end - time.monotonic()
            if wait <= 0:
                break
            events = poller.poll(wait, clients)
            if not events:
                if drain_end:
                    break
                raise LoadError(f"no answer within {IO_TIMEOUT:g} s on any of {clients} connections")
            for fd, _ in events:
                i = index[fd]
                got = recv_into[i](buffer)
                if got == 0:
                    raise LoadError("the server closed a connection")
                got += received[i]
                if got < size:
                    received[i] = got
                    continue
                received[i] = 0
                done[i] += 1
                if drain_end:
                    in_flight -= 1
                elif clock.tick():
                    in_flight -= 1
                    drain_end = time.monotonic() + IO_TIMEOUT
                    served = sum(after > before for after, before in zip(done, done_before or done, strict=True))
                else:
                    send[i](message)
                    if not done_before and clock.measuring:
                        done_before = list(done)
        return served
    finally:
        poller.close()
        for sock in socks:
            sock.close()
