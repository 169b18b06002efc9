"""Echo servers built from the standard library's `socketserver`, for `sockspec bench --compare socketserver`.

They are what a Python programmer gets for free: the reference servers
should be at least as fast, or they are slow for no reason.  Each is the
stdlib class as it comes (its backlog of 5, ForkingMixIn's limit of 40
children, a select() before each accept()) with the same echo loop and
buffer size as the reference handler, so a difference between the two is
the server's, not the loop's.  Only `allow_reuse_address` is set, as the
reference servers set SO_REUSEADDR, so a restart never fails on TIME_WAIT.
Unlike the reference handler it does not set TCP_NODELAY: nothing in
socketserver does, and that is what a user of it gets.

Run as `python -m sockspec.bench.stdlib_echo MODEL --host H --port P`.
"""

from __future__ import annotations

import argparse
import contextlib
import socketserver

CLASSES: dict[str, type[socketserver.TCPServer]] = {
    "iterative": socketserver.TCPServer,
    "forking": socketserver.ForkingTCPServer,
    "threaded": socketserver.ThreadingTCPServer,
}
BUFFER_SIZE = 64 * 1024  # as in reference/handler.py


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(BUFFER_SIZE):
            self.request.sendall(data)


def name(model: str) -> str:
    """How the server for `model` is called in a report."""
    return f"socketserver.{CLASSES[model].__name__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=CLASSES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server_class = CLASSES[args.model]
    server_class.allow_reuse_address = True
    with server_class((args.host, args.port), EchoHandler) as server:
        print(f"listening on {args.host}:{args.port} ({name(args.model)})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop quietly
            server.serve_forever()


if __name__ == "__main__":
    main()
