"""Echo servers of the standard library (socketserver; asyncio for evented), for `sockspec bench --compare`.

They are what a Python programmer gets for free: the reference servers
should be at least as fast, or they are slow for no reason.  Each is the
stdlib class as it comes (its backlog of 5, ForkingMixIn's limit of 40
children, a select() before each accept()) with the same echo loop and
buffer size as the reference handler, so a difference between the two is
the server's, not the loop's.  Only `allow_reuse_address` is set, as the
reference servers set SO_REUSEADDR, so a restart never fails on TIME_WAIT.
Unlike the reference handler it does not set TCP_NODELAY: nothing in
socketserver does, and that is what a user of it gets.

For the evented model the standard library's own is asyncio's
`start_server`, with the same buffer size and a `drain()` after each write
(what its documentation asks of every writer).

Run as `python -m sockspec.bench.stdlib_echo MODEL --host H --port P`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socketserver

CLASSES: dict[str, type[socketserver.TCPServer]] = {
    "iterative": socketserver.TCPServer,
    "forking": socketserver.ForkingTCPServer,
    "threaded": socketserver.ThreadingTCPServer,
}
MODELS = (*CLASSES, "evented")
BUFFER_SIZE = 64 * 1024  # as in reference/handler.py
ASYNCIO = "asyncio.start_server"


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(BUFFER_SIZE):
            self.request.sendall(data)


def name(model: str) -> str:
    """How the server for `model` is called in a report."""
    return ASYNCIO if model == "evented" else f"socketserver.{CLASSES[model].__name__}"


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(BUFFER_SIZE):
            writer.write(data)
            await writer.drain()
    writer.close()


async def serve_evented(host: str, port: int) -> None:
    server = await asyncio.start_server(echo, host, port, reuse_address=True)
    print(f"listening on {host}:{port} ({ASYNCIO})", flush=True)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.model == "evented":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_evented(args.host, args.port))
        return
    server_class = CLASSES[args.model]
    server_class.allow_reuse_address = True
    with server_class((args.host, args.port), EchoHandler) as server:
        print(f"listening on {args.host}:{args.port} ({name(args.model)})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop quietly
            server.serve_forever()


if __name__ == "__main__":
    main()
