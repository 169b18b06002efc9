"""The notes' single-process server (section 5), done right: one client at a time, then the next.

While one client is served, the next one's connection completes in the
kernel's queue of completed connections and waits there until accept().
"""

from __future__ import annotations

import socket

from .handler import run, serve_client

MODEL = "iterative"


def serve_forever(listener: socket.socket, reply: str) -> None:
    while True:
        conn, _ = listener.accept()
        serve_client(conn, reply)


if __name__ == "__main__":
    run(serve_forever, __doc__)
