"""Choose a port a server under test can bind, without racing our own clients.

A server is told its port, so the harness must pick one before the server
binds it.  Ports are drawn from below the kernel's ephemeral range, which no
outgoing connect() ever uses, and each pytest-xdist worker draws from its own
slice, so two workers never pick the same one.  A port is only offered if a
plain bind() (no SO_REUSEADDR) succeeds, so a server that does not set
SO_REUSEADDR is not failed because of a TIME_WAIT left by an earlier test.
Another program may still take the port in between; `server.start` detects
that (the listener is not ours) and asks for another port.
"""

from __future__ import annotations

import errno
import os
import random
import socket

LOWEST = 10000
# Our own generator: hypothesis seeds the global one the same way in every run, and two runs on one
# machine would then try the same ports in the same order.
_shuffler = random.Random()


def ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (what outgoing connect() calls use)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _worker_slice(low: int, high: int) -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    size = (high - low) // max(count, 1)
    return range(low + index * size, low + (index + 1) * size)


def is_free(port: int) -> bool:
    """True if a socket without SO_REUSEADDR could bind `port` on every address, v4 and v6."""
    for family, wildcard in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.bind((wildcard, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            # Any other error means this family is not available here, so
            # no server can hold the port on it either.
    return True


def pick_port(avoid: set[int] | None = None) -> int:
    """A port nobody on this machine is bound to, from this worker's slice."""
    candidates = list(_worker_slice(LOWEST, ephemeral_start()))
    _shuffler.shuffle(candidates)
    for port in candidates:
        if (avoid is None or port not in avoid) and is_free(port):
            return port
    raise RuntimeError("no free port below the ephemeral range")
