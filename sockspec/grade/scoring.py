"""Points: a weight per behaviour family, split equally among the family's tests.

The weights say what the assignment is about; servers and clients each
have theirs, here in one table.

Servers.  Sending and receiving every byte back in order is the heart of
the notes (§5), and serving clients at once is the point of the forking and
threaded models (§6, §7): those weigh 3.  Everything else a correct server
must also get right weighs 2: clean close and end of file, the iterative
model's queue, the model itself (a child or thread per client), reaped
children, surviving client after client and restarts, and not leaking CPU,
descriptors or threads.  A family that has no test for the graded model
(zombies for a threaded server) adds nothing to the maximum.

Clients.  The chat itself, a typed line sent and the server's reply shown
(§5.1, §5.3), and reading the connection as the byte stream it is, a reply
in pieces or late shown whole without more typing (§2.2: recv() returns
what has arrived, not a message), weigh 3: the notes' client gets the
second wrong, and it is what a chat client is for.  Replies of any size
(the notes' `recv(strlen(buf) - 1)` overflows its 1024-byte buffer), a
server that closes (§2.2: recv() == 0), the user's end of input, a reset
connection, and waiting without burning CPU weigh 2, like a server's
clean close and resources.  Reporting a refused connect() weighs 1: one
test, and the notes' client already does it (§5.1, `perror("connect")`).

Override with `--weights FILE.toml` (families of the graded role); its
[visibility] table says, per family, when Gradescope shows the tests to
the student (visible, the default; hidden; after_due_date; after_published):

    [weights]
    send_recv = 4
    resources = 1

    [visibility]
    resources = "after_due_date"

Each family's points are split among its tests in hundredths, the odd
hundredths to its first tests, so that what a platform shows per test adds
up to the family's weight exactly.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sockspec.i18n import N_, _

DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "server": {
        "send_recv": 3.0,
        "concurrency": 3.0,
        "close": 2.0,
        "queues": 2.0,
        "model": 2.0,
        "zombies": 2.0,
        "lifecycle": 2.0,
        "resources": 2.0,
    },
    "client": {
        "chat": 3.0,
        "stream": 3.0,
        "reply_sizes": 2.0,
        "server_close": 2.0,
        "end_of_input": 2.0,
        "reset": 2.0,
        "idle_cpu": 2.0,
        "connect": 1.0,
    },
}
FAMILY = re.compile(r"(?:^|/)test_(\w+)\.py::")
PASSED = "passed"
NOT_RUN = "not run"
# A test's outcome as a person reads it (grade.json and the summaries keep the word itself).
OUTCOMES = {"passed": N_("passed"), "failed": N_("failed"), "error": N_("error"), "skipped": N_("skipped"),
            NOT_RUN: N_("not run")}  # fmt: skip


def outcome_text(outcome: str) -> str:
    """`outcome` in the language in use."""
    return _(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome


class WeightsError(Exception):
    """The weights file cannot be used; the message says why."""


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def load_policy(path: Path | None, role: str = "server") -> tuple[dict[str, float], dict[str, str]]:
    """The weight of each family, and the visibility of those that are not 'visible', from the
    [weights] and [visibility] tables of `path` (either may be missing, not both)."""
    weights = dict(DEFAULT_WEIGHTS[role])
    if path is None:
        return weights, {}
    try:
        tables = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WeightsError(f"cannot read {path}: {error}") from None
    given, shown = tables.get("weights", {}), tables.get("visibility", {})
    if not isinstance(given, dict) or not isinstance(shown, dict) or not (given or shown):
        raise WeightsError(f"{path} has no [weights] or [visibility] table")
    for table in (given, shown):
        if unknown := [family for family in table if family not in weights]:
            raise WeightsError(f"{path}: unknown family {unknown[0]!r} for a {role} (families: {', '.join(weights)})")
    for family, value in given.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise WeightsError(f"{path}: the weight of {family} must be a number >= 0, not {value!r}")
        weights[family] = float(value)
    for family, value in shown.items():
        if value not in VISIBILITIES:
            raise WeightsError(f"{path}: the visibility of {family} must be one of {', '.join(VISIBILITIES)}, "
                               f"not {value!r}")  # fmt: skip
    return weights, dict(shown)


def family_of_nodeid(nodeid: str) -> str:
    match = FAMILY.search(nodeid)
    return match.group(1) if match else nodeid.split("::")[0]


def display_name(nodeid: str, label: str) -> str:
    """`close: test_x` for `spec/server/test_close.py::test_x[threaded-echo]`, keeping other parameters."""
    function = nodeid.split("::")[-1]
    base, _bracket, params = function.partition("[")
    params = params.rstrip("]").removeprefix(label).lstrip("-")
    return f"{family_of_nodeid(nodeid)}: {base}" + (f"[{params}]" if params else "")


def client_selection(binary: bool) -> list[str]:
    """The client spec's options that choose its tests: the binary-safe ones (every byte value shown
    unchanged) only when the assignment asks for them; else they are not run, whatever a client claims."""
    return ["--client-binary"] if binary else ["-m", "not binary_safe"]


def applicable_tests(
    project: Path, model: str | None, reply: str | None, role: str = "server", binary: bool = False
) -> list[str]:
    """The spec tests that apply to a server of this model and reply mode, or to a client, in the
    spec's order."""
    if role == "server":
        chosen = ["--impl", f"reference.{model}", "--reply", str(reply)]
    else:
        chosen = ["--client", "reference.client", *client_selection(binary)]
    command = [sys.executable, "-I", "-B", "-m", "pytest", str(project / "spec" / role), "--collect-only", "-q",
               "-p", "no:cacheprovider", *chosen]  # fmt: skip
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    tests = [line.strip() for line in done.stdout.splitlines() if "::" in line and not line.startswith(" ")]
    if done.returncode != 0 or not tests:
        raise RuntimeError(f"cannot list the spec's tests: {(done.stdout + done.stderr).strip()[-500:]}")
    return tests


@dataclass
class ScoredTest:
    nodeid: str
    name: str
    family: str
    outcome: str  # passed, failed, error, skipped, or 'not run'
    points: float
    max_points: float
    summary: str = ""
    details: str = ""
    duration: float = 0.0
    likely_bug: str = ""
    reproduce: str = ""
    visibility: str = "visible"  # when Gradescope shows it: one of VISIBILITIES


def shares(total: float, count: int) -> list[float]:
    """`total` split in `count` parts of whole hundredths that add up to it (as rounded to hundredths):
    the odd hundredths go to the first parts."""
    hundredths = round(total * 100)
    base, extra = divmod(hundredths, count)
    return [(base + (i < extra)) / 100 for i in range(count)]


def score(
    applicable: list[str],
    results: dict[str, dict[str, Any]],
    weights: dict[str, float],
    label: str,
    visibility: dict[str, str] | None = None,
) -> list[ScoredTest]:
    """Every applicable test with its points; a test missing from the results was not run and earns none."""
    members: dict[str, list[str]] = {}
    for nodeid in applicable:
        members.setdefault(family_of_nodeid(nodeid), []).append(nodeid)
    worth_of = {
        nodeid: worth
        for family, nodeids in members.items()
        for nodeid, worth in zip(nodeids, shares(weights.get(family, 0.0), len(nodeids)), strict=True)
    }
    scored = []
    for nodeid in applicable:
        family = family_of_nodeid(nodeid)
        worth = worth_of[nodeid]
        event = results.get(nodeid)
        outcome = event["outcome"] if event else NOT_RUN
        scored.append(
            ScoredTest(
                nodeid=nodeid,
                name=display_name(nodeid, label),
                family=family,
                outcome=outcome,
                points=worth if outcome == PASSED else 0.0,
                max_points=worth,
                summary=event.get("summary", "") if event else "",
                details=event.get("details", "") if event else "",
                duration=event.get("duration", 0.0) if event else 0.0,
                likely_bug=event.get("likely_bug", "") if event else "",
                reproduce=event.get("reproduce", "") if event else "",
                visibility=(visibility or {}).get(family, "visible"),
            )
        )
    return scored
