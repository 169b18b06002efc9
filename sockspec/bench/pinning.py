"""Put the load client and the servers on different CPUs, when there are two to spare.

On a 2-core machine an unpinned client and server keep migrating and
preempting each other, and figures swing with the scheduler's mood.  Pinned,
each round trip crosses from one CPU to the other the same way every time,
as in the figures the benchmark was specified against.  Affinity is
inherited: threads and children a server creates later stay on its CPU, and
so does the C load client we start.  Other programs on the machine are not
pinned and still compete: hence ratios measured in the same run.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Cpus:
    client: int
    server: int


def choose(enabled: bool) -> Cpus | None:
    """Two CPUs this process may run on, one for the client and one for the servers, or None."""
    if not enabled or not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    return Cpus(client=allowed[0], server=allowed[1]) if len(allowed) >= 2 else None


def pin_client(cpus: Cpus | None) -> None:
    """Pin the calling thread (the load client, and the C client it starts) to the client CPU."""
    if cpus is not None:
        os.sched_setaffinity(0, {cpus.client})


def pin_server(cpus: Cpus | None, pids: set[int]) -> None:
    """Pin every thread of the processes `pids` (a server's tree) to the server CPU."""
    if cpus is None:
        return
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # exited meanwhile
        for tid in tids:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(tid), {cpus.server})
