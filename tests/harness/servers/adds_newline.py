"""A threaded echo server that adds a newline to every reply: the harness tests' known-bad server."""

import socket
import sys
import threading


def serve(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data + b"\n")
        except ConnectionError:
            pass


with socket.create_server(("127.0.0.1", int(sys.argv[-1]))) as listener:
    while True:
        threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
