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
(whole sentences for each, for the translator) and the spec's options differ (`Role`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from sockspec.i18n import _

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
    """How the rules apply to a server or to a client (the words are chosen where they are said)."""

    name: str  # server or client
    socket_key: str  # the probe's list of addresses: where it listens, or where it connects
    fixed_option: str  # the spec's option for a fixed HOST:PORT


SERVER = Role("server", "listening", "--address")
CLIENT = Role("client", "connecting", "--client-address")
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
    server = role is SERVER
    if ":" in host and host != "::1":
        if server:
            text = _("listens on the IPv6 address {host}, which the grader cannot give it")
        else:
            text = _("connects to the IPv6 address {host}, which the grader cannot give it")
        return Placement(problem=text.format(host=host))
    loopback = [] if host.startswith("127.") or ":" in host else [host]
    where = f"{seen_host}:{port}"

    def placed(fixed: int | None, note: str) -> Placement:
        return Placement(host, fixed, loopback, note=note, fixed_option=role.fixed_option)

    if on_given:
        if server:
            if loopback:
                return placed(None, _("takes its port from the command line, binds {host}").format(host=seen_host))
            return placed(None, _("takes its port from the command line"))
        if host.startswith("127."):  # it was told 127.0.0.1: any of 127.0.0.0/8 is that machine
            return placed(None, _("connects where it is told"))
        return placed(None, _("takes its port from the command line, connects to {host}").format(host=seen_host))
    if swap16(port) == given:
        if server:
            text = _("listens on port {port} instead of the port {given} it was given (htons() missing?)")
        else:
            text = _("connects to port {port} instead of the port {given} it was given (htons() missing?)")
        return Placement(problem=text.format(port=port, given=given))
    if port in hints.numbers:
        if server:
            return placed(port, _("listens on {address}, hard-coded in its source").format(address=where))
        return placed(port, _("connects to {address}, hard-coded in its source").format(address=where))
    if hints.ports:
        said = ", ".join(map(str, hints.ports))
        if swap16(port) in hints.ports:
            if server:
                text = _("listens on port {port}, but its source says port {ports} (htons() missing?)")
            else:
                text = _("connects to port {port}, but its source says port {ports} (htons() missing?)")
        elif server:
            text = _("listens on port {port}, but its source says port {ports}")
        else:
            text = _("connects to port {port}, but its source says port {ports}")
        return Placement(problem=text.format(port=port, ports=said))
    if server and port >= ephemeral_start():
        return Placement(
            problem=_("listens on port {port}, which the kernel chose: does it bind() before listen()?").format(
                port=port
            )
        )
    return placed(port, (_("listens on {address}") if server else _("connects to {address}")).format(address=where))


def _never(probe: dict[str, Any], waited: float, role: Role) -> str:
    output = probe.get("output") or []
    said = " " + _("(it printed: {line})").format(line=output[-1][:120]) if output else ""
    if probe.get("output_bytes", 0) > NOISY_BYTES:
        said = " " + _("(it printed {mib} MiB)").format(mib=probe["output_bytes"] >> 20)
    if role is CLIENT and probe.get("listening"):
        host, port = probe["listening"][0]
        said += " " + _("(it listens on {address}: is it the server?)").format(address=f"{host}:{port}")
    if probe.get("running"):
        if role is SERVER:
            text = _("never listens: still running after {seconds:g} s without a listening socket")
        else:
            text = _("never connects: still running after {seconds:g} s without connecting anywhere")
        return text.format(seconds=waited) + said
    ended = probe.get("exit") or _("the program ended")
    if role is SERVER:
        return _("never listens: {ended} before listening").format(ended=ended) + said
    return _("never connects: {ended} before connecting").format(ended=ended) + said
