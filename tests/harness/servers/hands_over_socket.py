"""A launcher that listens, hands the listening socket to the real (threaded) server as fd 3 with
LISTEN_FDS=1, as systemd's socket activation does, and keeps its own copy while it finishes
setting up (a third of a second, busy), then closes it and waits; port: last argument.

For that third of a second both hold the socket, and before the server has
started the launcher alone does: the server is the process it started.
"""

import os
import socket
import subprocess
import sys
import threading
import time

SETTING_UP = 0.3  # seconds the launcher stays busy with its copy of the socket open


def serve(conn: socket.socket) -> None:
    try:
        while data := conn.recv(65536):
            conn.sendall(data)
    except ConnectionError:
        pass


if os.environ.get("LISTEN_FDS") == "1":
    listener = socket.socket(fileno=3)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
else:
    fd = socket.create_server(("127.0.0.1", int(sys.argv[-1]))).detach()
    if fd != 3:
        os.dup2(fd, 3)
        os.close(fd)
    server = subprocess.Popen([sys.executable, __file__], pass_fds=(3,), env=dict(os.environ, LISTEN_FDS="1"))
    busy_until = time.monotonic() + SETTING_UP
    while time.monotonic() < busy_until:
        pass
    os.close(3)
    sys.exit(server.wait())
