"""What the kernel's TCP table says: every socket of this network namespace, read from /proc/net/tcp.

Which socket listens on a port, which connection is the server's end of a
client's, how many bytes wait unread in it: the spec reads the table the way
`ss -tan` does, at one instant; callers that need a condition to hold poll it
against a deadline.  Which process holds a socket is `proc`'s business.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

TCP_LISTEN = 0x0A
TCP_SYN_SENT = 0x02


@dataclass(frozen=True)
class TcpSocket:
    """One row of /proc/net/tcp or /proc/net/tcp6."""

    local: tuple[str, int]
    remote: tuple[str, int]
    state: int
    inode: int
    receive_queue: int  # bytes received but not yet read by the owner
    send_queue: int = 0  # bytes written by the owner that the peer has not yet acknowledged


def _decode_address(hex_address: str) -> tuple[str, int]:
    host_hex, port_hex = hex_address.split(":")
    raw = bytes.fromhex(host_hex)
    # The kernel prints each 32-bit word in host (little-endian) byte order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    host = ipaddress.ip_address(words)
    if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped:
        host = host.ipv4_mapped
    return str(host), int(port_hex, 16)


def tcp_sockets(port: int | None = None) -> list[TcpSocket]:
    """TCP sockets of this network namespace, IPv4 and IPv6 (only those using `port`, if given).

    A busy machine has thousands of sockets in TIME_WAIT; filtering on the
    port's hex text before decoding keeps a look at the table cheap.
    """
    wanted = f":{port:04X} " if port is not None else ""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except FileNotFoundError:
            continue  # no IPv6 in this kernel or namespace
        for line in lines:
            if wanted not in line:
                continue
            parts = line.split()
            found.append(
                TcpSocket(
                    local=_decode_address(parts[1]),
                    remote=_decode_address(parts[2]),
                    state=int(parts[3], 16),
                    inode=int(parts[9]),
                    receive_queue=int(parts[4].split(":")[1], 16),
                    send_queue=int(parts[4].split(":")[0], 16),
                )
            )
    return found


def listeners_on(port: int) -> dict[int, tuple[str, int]]:
    """Listening sockets on `port`, as inode -> local address."""
    return {s.inode: s.local for s in tcp_sockets(port) if s.state == TCP_LISTEN and s.local[1] == port}


def server_end(client: socket.socket) -> TcpSocket | None:
    """The server's end of the connection `client` made, if the kernel still has it.

    It is the socket whose local address is the client's peer and whose
    remote address is the client's own address.  Its inode is 0 until the
    server has accept()ed it.  None for a socket that is not TCP over IP (the harness's own tests
    talk over a socketpair).
    """
    if client.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    try:
        mine = client.getsockname()[:2]
        theirs = client.getpeername()[:2]
    except OSError:
        return None
    wanted_local = (_normal(theirs[0]), theirs[1])
    wanted_remote = (_normal(mine[0]), mine[1])
    for s in tcp_sockets(mine[1]):
        if s.local == wanted_local and s.remote == wanted_remote:
            return s
    return None


def _normal(host: str) -> str:
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)
