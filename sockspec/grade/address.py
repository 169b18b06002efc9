"""Where does a submission listen, or connect?  Read its source, watch its sockets, and decide.

Student programs hard-code their address and port (the notes' server binds
192.168.153.128:19999 and its client connects there).  The sandbox starts
each program once and reads its socket from /proc/net/tcp: that is the
truth, whatever the source computes.  A server is started with the
namespace's network down, where bind() to any address succeeds, and its
listening socket is read.  A client is started in a namespace where no
address is local and every route leads into the loopback, so its connect()
to any IPv4 address stays pending (SYN_SENT) and the address it asked for
can be read.  The source is read too, for what the student *meant*: a
program whose source says `htons(19999)` but uses port 8014 forgot a
conversion, and that is the verdict, not a port to test on.

The decision is a `Placement`: the host the spec uses, a fixed port when
the program ignores the one it is told, and the addresses the namespace's
loopback must carry.  Servers and clients share every rule; only the words
and the spec's options differ (`Role`).
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
class Role:
    """How the rules read for a server or for a client."""

    name: str  # server or client
    socket_key: str  # the probe's list of addresses: where it listens, or where it connects
    verb: str  # "listens on", "connects to"
    never: str  # "never listens"
    before: str  # "before listening"
    without: str  # "without a listening socket"
    fixed_option: str  # the spec's option for a fixed HOST:PORT


SERVER = Role("server", "listening", "listens on", "never listens", "before listening", "without a listening socket",
              "--address")  # fmt: skip
CLIENT = Role("client", "connecting", "connects to", "never connects", "before connecting",
              "without connecting anywhere", "--client-address")  # fmt: skip
ROLES = {role.name: role for role in (SERVER, CLIENT)}


@dataclass(frozen=True)
class Placement:
    host: str = "127.0.0.1"  # the spec connects here (server), or listens here (client)
    fixed_port: int | None = None  # set when the program uses a port of its own, whatever it is told
    loopback: list[str] = field(default_factory=list)  # addresses the namespace's lo must carry
    problem: str = ""  # one line: why the submission cannot be tested; '' if it can
    note: str = ""  # one line for the report: what was found
    fixed_option: str = "--address"  # the spec's option for a fixed address (the role's)

    @property
    def address_option(self) -> list[str]:
        """The spec's options that point it at the program."""
        if self.fixed_port is not None:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return [self.fixed_option, f"{host}:{self.fixed_port}"]
        return ["--host", self.host]


def swap16(port: int) -> int:
    """The port a program listens on when it forgets htons() on a little-endian machine."""
    return ((port & 0xFF) << 8) | (port >> 8)


def place(probe: dict[str, Any], given: int, hints: Hints, waited: float, role: Role = SERVER) -> Placement:
    """Decide from what the probe saw (see sandbox_init.probe) with the port `given` to the program."""
    seen = [(str(host), int(port)) for host, port in probe.get(role.socket_key, [])]
    if not seen:
        return Placement(problem=_never(probe, waited, role))
    on_given = [(h, p) for h, p in seen if p == given]
    seen_host, port = (on_given or seen)[0]
    host = WILDCARDS.get(seen_host, seen_host)
    verb = role.verb
    if ":" in host and host != "::1":
        return Placement(problem=f"{verb} the IPv6 address {host}, which the grader cannot give it")
    loopback = [] if host.startswith("127.") or ":" in host else [host]
    where = f"{seen_host}:{port}"

    def placed(fixed: int | None, note: str) -> Placement:
        return Placement(host, fixed, loopback, note=note, fixed_option=role.fixed_option)

    if on_given:
        if role is SERVER:
            return placed(None, "takes its port from the command line" + (f", binds {seen_host}" if loopback else ""))
        told = host.startswith("127.")  # it was told 127.0.0.1: any of 127.0.0.0/8 is that machine
        return placed(None, "connects where it is told" if told else f"takes its port from the command line, "
                      f"connects to {seen_host}")  # fmt: skip
    if swap16(port) == given:
        return Placement(problem=f"{verb} port {port} instead of the port {given} it was given (htons() missing?)")
    if port in hints.numbers:
        return placed(port, f"{verb} {where}, hard-coded in its source")
    if hints.ports:
        said = ", ".join(map(str, hints.ports))
        forgot = " (htons() missing?)" if swap16(port) in hints.ports else ""
        return Placement(problem=f"{verb} port {port}, but its source says port {said}{forgot}")
    if role is SERVER and port >= ephemeral_start():
        return Placement(problem=f"listens on port {port}, which the kernel chose: does it bind() before listen()?")
    return placed(port, f"{verb} {where}")


def _never(probe: dict[str, Any], waited: float, role: Role) -> str:
    output = probe.get("output") or []
    said = f" (it printed: {output[-1][:120]})" if output else ""
    if probe.get("output_bytes", 0) > NOISY_BYTES:
        said = f" (it printed {probe['output_bytes'] >> 20} MiB)"
    if role is CLIENT and probe.get("listening"):
        host, port = probe["listening"][0]
        said += f" (it listens on {host}:{port}: is it the server?)"
    if probe.get("running"):
        return f"{role.never}: still running after {waited:g} s {role.without}{said}"
    ended = probe.get("exit") or "the program ended"
    return f"{role.never}: {ended} {role.before}{said}"
