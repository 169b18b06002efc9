"""Where does a submission listen?  Read its source, watch what it binds, and decide where to connect.

Student servers hard-code their address and port (the seed binds
192.168.153.128:19999).  The sandbox starts each program once with the
namespace's network down, where bind() to any address succeeds, and reads
the listening socket from /proc/net/tcp: that is the truth, whatever the
source computes.  The source is read too, for what the student *meant*: a
program whose source says `htons(19999)` but listens on 8014 forgot a
conversion, and that is the verdict, not a port to test on.

The decision is a `Placement`: the host the spec connects to, a fixed port
when the program ignores the one it is told, and the addresses the
namespace's loopback must carry.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

# The one reader of the kernel's ephemeral range (private there; see the closing note to the lead).
from sockspec.ports import ephemeral_start

IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
PORT_PATTERNS = [
    re.compile(r"htons\s*\(\s*(\d{1,5})\s*\)"),
    re.compile(r"#\s*define\s+\w*PORT\w*\s+(\d{1,5})\b", re.IGNORECASE),
    re.compile(r"(?:\b|_)port\w*\s*=\s*(\d{1,5})\b", re.IGNORECASE),  # port = N, addr.sin_port = N
    re.compile(r"\(\s*[\"'][\w.:]*[\"']\s*,\s*(\d{1,5})\s*\)"),  # Python's bind(("host", port))
]
NUMBER = re.compile(r"(?<![\w.])(\d{1,5})(?![\w.])")
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}
NOISY_BYTES = 10 << 20


@dataclass(frozen=True)
class Hints:
    """What the source says about the address, for decisions and for messages."""

    addresses: tuple[str, ...] = ()  # IPv4 literals, in order of appearance
    ports: tuple[int, ...] = ()  # numbers in a port-like place: htons(N), PORT N, port = N
    numbers: frozenset[int] = frozenset()  # every integer literal that could be a port


C_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
HASH_COMMENT = re.compile(r"#(?!\s*define)[^\n]*")


def without_comments(text: str, suffix: str) -> str:
    """The code alone: a port in a comment (`// was 8080`) is not one the program uses."""
    return C_COMMENT.sub(" ", text) if suffix in (".c", ".cpp", ".cc", ".h", ".hpp") else HASH_COMMENT.sub("", text)


def scan(sources: list[tuple[str, str]]) -> Hints:
    """Read (suffix, text) pairs: C and C++ sources, Python sources, run scripts."""
    addresses: list[str] = []
    ports: list[int] = []
    numbers: set[int] = set()
    for suffix, raw in sources:
        text = without_comments(raw, suffix)
        for match in IPV4.finditer(text):
            try:
                address = str(ipaddress.IPv4Address(match.group(1)))
            except ValueError:
                continue
            if address not in addresses:
                addresses.append(address)
        for pattern in PORT_PATTERNS:
            for match in pattern.finditer(text):
                port = int(match.group(1))
                if 0 < port < 65536 and port not in ports:
                    ports.append(port)
        numbers.update(n for n in map(int, NUMBER.findall(text)) if 0 < n < 65536)
    return Hints(tuple(addresses), tuple(ports), frozenset(numbers))


@dataclass(frozen=True)
class Placement:
    host: str = "127.0.0.1"  # the spec connects here
    fixed_port: int | None = None  # set when the program listens on a port of its own, whatever it is told
    loopback: list[str] = field(default_factory=list)  # addresses the namespace's lo must carry
    problem: str = ""  # one line: why the submission cannot be tested; '' if it can
    note: str = ""  # one line for the report: what was found

    @property
    def address_option(self) -> list[str]:
        """The spec's options that point it at the program."""
        if self.fixed_port is not None:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return ["--address", f"{host}:{self.fixed_port}"]
        return ["--host", self.host]


def swap16(port: int) -> int:
    """The port a program listens on when it forgets htons() on a little-endian machine."""
    return ((port & 0xFF) << 8) | (port >> 8)


def place(probe: dict[str, Any], given: int, hints: Hints, waited: float) -> Placement:
    """Decide from what the probe saw (see sandbox_init.probe) with the port `given` to the program."""
    listening = [(str(host), int(port)) for host, port in probe.get("listening", [])]
    if not listening:
        return Placement(problem=_never_listened(probe, waited))
    on_given = [(h, p) for h, p in listening if p == given]
    bound_host, port = (on_given or listening)[0]
    host = WILDCARDS.get(bound_host, bound_host)
    if ":" in host and host != "::1":
        return Placement(problem=f"listens on the IPv6 address {host}, which the grader cannot give it")
    loopback = [] if host.startswith("127.") or ":" in host else [host]
    where = f"{bound_host}:{port}"
    if on_given:
        note = "takes its port from the command line" + (f", binds {bound_host}" if loopback else "")
        return Placement(host, None, loopback, note=note)
    if swap16(port) == given:
        return Placement(problem=f"listens on port {port} instead of the port {given} it was given (htons() missing?)")
    if port in hints.numbers:
        return Placement(host, port, loopback, note=f"listens on {where}, hard-coded in its source")
    if hints.ports:
        said = ", ".join(map(str, hints.ports))
        forgot = " (htons() missing?)" if swap16(port) in hints.ports else ""
        return Placement(problem=f"listens on port {port}, but its source says port {said}{forgot}")
    if port >= ephemeral_start():
        return Placement(problem=f"listens on port {port}, which the kernel chose: does it bind() before listen()?")
    return Placement(host, port, loopback, note=f"listens on {where}")


def _never_listened(probe: dict[str, Any], waited: float) -> str:
    output = probe.get("output") or []
    said = f" (it printed: {output[-1][:120]})" if output else ""
    if probe.get("output_bytes", 0) > NOISY_BYTES:
        said = f" (it printed {probe['output_bytes'] >> 20} MiB)"
    if probe.get("running"):
        return f"never listens: still running after {waited:g} s without a listening socket{said}"
    ended = probe.get("exit") or "the program ended"
    return f"never listens: {ended} before listening{said}"
