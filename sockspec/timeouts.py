"""Every wait in sockspec, named, documented and configurable in one place.

Two kinds of waits exist.  *Deadlines* bound a wait for an event (the server
listens, a reply arrives, a child is reaped): a correct server ends the wait
at once, so a generous deadline costs it nothing.  *Windows* are the few waits
that must run their full length because the spec asserts that nothing happens
during them (a queued client gets no reply, an idle server burns no CPU).

Override any of them with `--sockspec-timeout NAME=SECONDS` (repeatable) or
the ini option `sockspec_timeouts = NAME=SECONDS ...`; `--sockspec-time-scale
FACTOR` multiplies them all, for slow or heavily loaded machines.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    """Seconds for each named wait; see `DOCS` for what each one bounds."""

    start: float = 20.0
    reply: float = 10.0
    settle: float = 10.0
    stop: float = 3.0
    build: float = 120.0
    silence: float = 1.0
    cpu_window: float = 1.5

    def scaled(self, factor: float) -> Timeouts:
        return Timeouts(**{k: v * factor for k, v in dataclasses.asdict(self).items()})

    def with_overrides(self, overrides: dict[str, float]) -> Timeouts:
        return dataclasses.replace(self, **overrides)

    def describe(self) -> str:
        return " ".join(f"{k}={v:g}s" for k, v in dataclasses.asdict(self).items())


DOCS = {
    "start": "deadline for the server to listen on its port after it is started",
    "reply": "deadline for an expected reply, end of file or connection",
    "settle": "deadline for children to be reaped, threads to end and fds to close after clients leave",
    "stop": "deadline for the server to exit after SIGTERM before it gets SIGKILL",
    "build": "deadline for compiling a C or C++ server",
    "silence": "window during which a queued client must get no reply (iterative model)",
    "cpu_window": "window over which an idle server's CPU use is measured",
}
assert set(DOCS) == {f.name for f in dataclasses.fields(Timeouts)}


def parse_overrides(items: list[str]) -> dict[str, float]:
    """Parse `NAME=SECONDS` items; raise ValueError with a one-line reason."""
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in DOCS:
            raise ValueError(
                f"bad timeout {item!r}: expected NAME=SECONDS with NAME one of {', '.join(DOCS)}"
            )
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"bad timeout {item!r}: {value!r} is not a number of seconds") from None
        if seconds <= 0:
            raise ValueError(f"bad timeout {item!r}: must be positive")
        overrides[name] = seconds
    return overrides


class Deadline:
    """A point in time a wait must not pass; `remaining()` never goes negative."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self._end


POLL_INTERVAL = 0.02  # how often a condition on /proc is re-read while waiting for it


def wait_for(condition, seconds: float):
    """Poll `condition()` until it returns a truthy value or `seconds` pass.

    Returns the last value of `condition()`: truthy if it held in time.
    """
    deadline = Deadline(seconds)
    while True:
        value = condition()
        if value or deadline.expired():
            return value
        time.sleep(min(POLL_INTERVAL, deadline.remaining()))
