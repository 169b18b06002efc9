"""The notes' multi-threaded server (section 7), done right: one detached thread per client.

Each thread owns its connection and its own buffer: nothing is shared
between clients.  Daemon threads are Python's detached threads: nobody joins
them, and they end with their client.
"""

from __future__ import annotations

import socket
import threading

from .handler import run, serve_client

MODEL = "threaded"


def serve_forever(listener: socket.socket, reply: str) -> None:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_client, args=(conn, reply), daemon=True).start()


if __name__ == "__main__":
    run(serve_forever, __doc__)
