"""A forking server in Python that lets the kernel reap its children: signal.signal(SIGCHLD, SIG_IGN), no wait() anywhere.

sockspec: model=forking reply=echo
"""

import os
import signal
import socket
import sys


def serve(conn):
    while True:
        try:
            data = conn.recv(65536)
        except OSError:
            return
        if not data:
            return
        try:
            conn.sendall(data)
        except OSError:
            return


signal.signal(signal.SIGCHLD, signal.SIG_IGN)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[-1])))
listener.listen(128)
while True:
    conn, _ = listener.accept()
    if os.fork() == 0:
        listener.close()
        serve(conn)
        conn.close()
        os._exit(0)
    conn.close()
