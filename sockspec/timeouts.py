"""Every wait in sockspec, named, documented and configurable in one place.

Three kinds of waits exist.  *Deadlines* bound a wait for an event (the
server listens, a reply arrives, a child is reaped): a correct server ends
the wait at once, so a generous deadline costs it nothing.  *Windows* are the
few waits that must run their full length because the spec asserts that
nothing happens during them (a queued client gets no reply, an idle server
burns no CPU).  *Stillness* is how long nothing must happen before the
harness concludes something (the kernel takes no more of a flood, a server
stopped writing its log, a state holds still): a correct server is not
slowed by it, and a loaded machine needs it longer, so it scales too.
How often a condition is looked at (`POLL_INTERVAL`, `LOOK_INTERVAL`) is no
wait, and does not scale.

Override any of them with `--sockspec-timeout NAME=SECONDS` (repeatable) or
the ini option `sockspec_timeouts = NAME=SECONDS ...`; `--sockspec-time-scale
FACTOR` multiplies them all, for slow or heavily loaded machines.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sockspec.i18n import N_, _, ngettext

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """Seconds for each named wait; see `DOCS` for what each one bounds."""

    start: float = 20.0
    connect: float = 5.0
    reply: float = 5.0
    stall: float = 1.0
    crowd: float = 10.0
    settle: float = 5.0
    exit: float = 5.0
    stop: float = 2.0
    build: float = 120.0
    silence: float = 1.0
    cpu_window: float = 0.5
    idle: float = 3.0
    quiet: float = 0.2
    flood_still: float = 0.5
    output_still: float = 0.3
    steady: float = 0.3
    listen_settle: float = 1.0
    elsewhere: float = 3.0
    sweep: float = 5.0

    def scaled(self, factor: float) -> Timeouts:
        return Timeouts(**{k: v * factor for k, v in dataclasses.asdict(self).items()})

    def with_overrides(self, overrides: dict[str, float]) -> Timeouts:
        return dataclasses.replace(self, **overrides)

    def describe(self) -> str:
        return " ".join(f"{k}={v:g}s" for k, v in dataclasses.asdict(self).items())


DOCS = {
    "start": "deadline for the server to listen on its port after it is started",
    "connect": "deadline for connect() and for the server to accept() a connection it should accept at once",
    "reply": "deadline for an expected reply or end of file (a long reply may take longer while bytes keep coming)",
    "stall": "a reply that is due ends sooner when every thread of the server sits blocked this long, nothing moving",
    "crowd": "deadline for many clients (50, 200) to connect one after another, each served once",
    "settle": "deadline for children to be reaped, threads to end and fds to close after clients leave",
    "exit": "deadline for a client program to exit by itself once its session is over",
    "stop": "deadline for a program under test to exit after SIGTERM before it gets SIGKILL",
    "build": "deadline for compiling a C or C++ server",
    "silence": "window during which a queued client must get no reply (iterative model)",
    "cpu_window": "window over which an idle server's CPU use is measured",
    "idle": (
        "window during which a connected client stays silent (sends nothing, or reads nothing after its "
        "half-close): the server must neither spin nor drop it"
    ),
    "quiet": "a due reply whose connection has not moved for this long has the server's threads looked at (stall)",
    "flood_still": "a client that never reads counts the server stuck once the kernel takes nothing for this long",
    "output_still": "a server that has printed nothing for this long is no longer busy writing its output",
    "steady": "a server state unchanged this long is settled, whatever a first client left behind",
    "listen_settle": "once our port listens, the server's tree gets this long to go quiet before its holder is taken",
    "elsewhere": "a server that listens only on ports it was not given is told so after this long",
    "sweep": "deadline for killing and reaping what escaped the trees of programs already stopped",
}
assert set(DOCS) == {f.name for f in dataclasses.fields(Timeouts)}


def parse_overrides(items: list[str]) -> dict[str, float]:
    """Parse `NAME=SECONDS` items; raise ValueError with a one-line reason."""
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in DOCS:
            raise ValueError(f"bad timeout {item!r}: expected NAME=SECONDS with NAME one of {', '.join(DOCS)}")
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


POLL_INTERVAL = 0.02  # longest pause between two looks at a condition on /proc
LOOK_INTERVAL = 0.05  # between two looks at a stalled server's threads, or a selector's wake-ups meanwhile
TABLE_INTERVAL = 0.25  # between two reads of the whole socket table (it may be huge) for a server listening elsewhere


def wait_for(condition: Callable[[], T], seconds: float) -> T:
    """Poll `condition()` until it returns a truthy value or `seconds` pass.

    Returns the last value of `condition()`: truthy if it held in time.  The
    first looks come quickly (most conditions hold at once for a correct
    server), then every POLL_INTERVAL.
    """
    deadline = Deadline(seconds)
    pause = 0.001
    while True:
        value = condition()
        if value or deadline.expired():
            return value
        time.sleep(min(pause, deadline.remaining()))
        pause = min(pause * 2, POLL_INTERVAL)


# After a server has once let a deadline expire, later waits on the same
# server give up after this long, whatever they wait for: a server that missed
# a generous deadline is broken (one missed deadline is usually one bug seen
# from several sides: a connection never closed shows as a missing end of file,
# a descriptor never freed and a thread that never ends), and waiting the full
# deadline in every test would make a run against it many times slower than
# against a correct one.  A correct server never misses the first deadline,
# so it never meets the shortened ones.
SHORTENED = {"reply": 1.0, "settle": 1.0, "exit": 1.0}
# A server that missed a reply deadline and never answered anything at all is
# mute, and so is one that missed reply deadlines in MUTE_AFTER tests: every
# test would wait for it, so later replies get only this long.
MUTE_REPLY = 0.25
MUTE_AFTER = 3


class Patience:
    """The deadlines one target gets, shortened once it has shown it misses them."""

    def __init__(self, full: Timeouts) -> None:
        self.full = full
        self.first_miss: tuple[str, str] | None = None  # (deadline kind, test) of the first expired deadline
        self.reply_misses: set[str] = set()  # the tests in which a reply deadline expired
        self.ever_answered = False

    def note_missed(self, kinds: set[str], test: str) -> None:
        missed = sorted(kinds & set(SHORTENED))
        if missed and self.first_miss is None:
            self.first_miss = (missed[0], test)
        if "reply" in missed:
            self.reply_misses.add(test)

    def note_answered(self) -> None:
        self.ever_answered = True

    def mute(self) -> bool:
        return self.first_miss is not None and (not self.ever_answered or len(self.reply_misses) >= MUTE_AFTER)

    def _shortened(self, kind: str) -> float:
        if kind == "reply" and self.mute():
            return MUTE_REPLY
        return SHORTENED[kind]

    def current(self) -> Timeouts:
        if self.first_miss is None:
            return self.full
        return self.full.with_overrides(
            {kind: min(self._shortened(kind), getattr(self.full, kind)) for kind in SHORTENED}
        )

    def shortened_options(self, test: str) -> str:
        """The options that give a run of `test` alone the deadlines it had here, if shortened."""
        if self.first_miss is None or self.first_miss[1] == test:
            return ""
        shorter = self.current()
        return "".join(f" --sockspec-timeout {k}={getattr(shorter, k):g}" for k in SHORTENED)

    def note(self, who: str = "server", test: str = "") -> str:
        """Why `test`'s deadlines were shorter, for its failure message ('' if they were not)."""
        if self.first_miss is None or self.first_miss[1] == test:
            return ""
        kind, first = self.first_miss
        shorter = self.current()
        waits = ", ".join(f"{k} {getattr(shorter, k):g} s" for k in SHORTENED)
        misses = len(self.reply_misses)
        if not self.mute():
            note = _(
                "the {who} missed the {seconds:g} s {kind} deadline in {test}, so later waits give up sooner ({waits})"
            )
        elif not self.ever_answered:
            note = _(
                "the {who} missed the {seconds:g} s {kind} deadline in {test}; it has not answered anything yet, "
                "so later waits give up sooner ({waits})"
            )
        else:
            note = ngettext(
                "the {who} missed the {seconds:g} s {kind} deadline in {test}; it has missed reply deadlines in "
                "{count} test, so later waits give up sooner ({waits})",
                "the {who} missed the {seconds:g} s {kind} deadline in {test}; it has missed reply deadlines in "
                "{count} tests, so later waits give up sooner ({waits})",
                misses,
            )
        return note.format(
            who=_(WHO.get(who, who)), seconds=getattr(self.full, kind), kind=kind, test=first, count=misses, waits=waits
        )


# Who missed a deadline, in Patience's note.
WHO = {"server": N_("server"), "client": N_("client")}
