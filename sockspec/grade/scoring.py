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

Override with `--weights FILE.toml` (families of the graded role):

    [weights]
    send_recv = 4
    resources = 1
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class WeightsError(Exception):
    """The weights file cannot be used; the message says why."""


def load_weights(path: Path | None, role: str = "server") -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS[role])
    if path is None:
        return weights
    try:
        table = tomllib.loads(path.read_text()).get("weights")
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WeightsError(f"cannot read {path}: {error}") from None
    if not isinstance(table, dict):
        raise WeightsError(f"{path} has no [weights] table")
    for family, value in table.items():
        if family not in weights:
            raise WeightsError(f"{path}: unknown family {family!r} for a {role} (families: {', '.join(weights)})")
        if not isinstance(value, int | float) or value < 0:
            raise WeightsError(f"{path}: the weight of {family} must be a number >= 0, not {value!r}")
        weights[family] = float(value)
    return weights


def family_of_nodeid(nodeid: str) -> str:
    match = FAMILY.search(nodeid)
    return match.group(1) if match else nodeid.split("::")[0]


def display_name(nodeid: str, label: str) -> str:
    """`close: test_x` for `spec/server/test_close.py::test_x[threaded-echo]`, keeping other parameters."""
    function = nodeid.split("::")[-1]
    base, _, params = function.partition("[")
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


def score(
    applicable: list[str], results: dict[str, dict[str, Any]], weights: dict[str, float], label: str
) -> list[ScoredTest]:
    """Every applicable test with its points; a test missing from the results was not run and earns none."""
    per_family: dict[str, int] = {}
    for nodeid in applicable:
        family = family_of_nodeid(nodeid)
        per_family[family] = per_family.get(family, 0) + 1
    scored = []
    for nodeid in applicable:
        family = family_of_nodeid(nodeid)
        worth = weights.get(family, 0.0) / per_family[family]
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
            )
        )
    return scored
