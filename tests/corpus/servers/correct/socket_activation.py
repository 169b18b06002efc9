"""A systemd-style socket-activation launcher: it listens, hands the listening socket to the real (threaded) server as fd 3 with LISTEN_FDS=1, closes its own copy and waits.

For a moment both hold the listening socket, and before that the launcher
alone does: the server is the process it started, which never binds.

sockspec: model=threaded reply=echo
"""

import os
import socket
import subprocess
import sys
import threading


def serve(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


if os.environ.get("LISTEN_FDS") == "1":
    listener = socket.socket(fileno=3)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
else:
    fd = socket.create_server((os.environ.get("HOST", "127.0.0.1"), int(sys.argv[-1]))).detach()
    if fd != 3:
        os.dup2(fd, 3)
        os.close(fd)
    server = subprocess.Popen([sys.executable, __file__], pass_fds=(3,), env=dict(os.environ, LISTEN_FDS="1"))
    os.close(3)  # the server alone holds the listening socket now
    sys.exit(server.wait())
