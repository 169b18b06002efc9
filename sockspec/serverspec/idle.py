"""What a server does while nothing happens: the CPU it uses and how often its threads wake up.

A server blocked in accept() or recv() uses no CPU and is not switched in
until something arrives.  A spinning loop uses a whole core; a loop that
polls (a non-blocking try, then a short sleep) wakes up hundreds of times a
second for little CPU.  Both are measured over a window, on the server and
everything below it, from /proc.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sockspec import proc

# An idle server blocked in accept() or recv() uses no CPU at all; a spinning one uses a whole
# core (or its fair share of a loaded machine, still far above this).
CPU_LIMIT = 0.10
# Nor does it wake up: a thread blocked in accept() or recv() is not switched in until something
# arrives.  A loop that polls (usleep(1000) between non-blocking tries) wakes up about a thousand
# times a second for little CPU; a runtime's own threads (a JVM's) wake a few dozen times a
# second, and so does a reaper that polls waitpid() every 50 ms.
WAKEUPS_PER_SECOND_LIMIT = 250


@dataclass(frozen=True)
class IdleUse:
    """What a server did over a window in which nothing happened."""

    cpu_seconds: float
    wakeups: int  # times its threads were switched in: none for a thread blocked in accept() or recv()


def measure(state: Callable[[], proc.TreeState], window: float) -> IdleUse:
    """What the server (whose state `state` reads) and its descendants did over the next `window` seconds."""
    before = state()
    switches = proc.context_switches([before.pid, *before.descendants])
    time.sleep(window)  # a measurement window: the spec asserts nothing happens in it
    after = state()
    switched = proc.context_switches([after.pid, *after.descendants])
    # A thread that ended in the window is not counted; one started in it counts from 0.
    wakeups = sum(max(count - switches.get(tid, 0), 0) for tid, count in switched.items())
    return IdleUse((after.cpu_ticks - before.cpu_ticks) / proc.CLOCK_TICKS, wakeups)
