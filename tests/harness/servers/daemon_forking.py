"""A forking echo server that daemonizes before it listens: fork, the parent exits, setsid(), fork
again, the session leader exits, chdir /, stdio to /dev/null; port: last argument.

Its last process is no descendant of the program the harness started, nor in
that program's session: the harness finds it only because it was re-parented
to the harness and carries the harness's mark in its environment.
"""

import os
import signal
import socket
import sys


def daemonize() -> None:
    if os.fork():
        os._exit(0)  # the parent returns to the shell at once
    os.setsid()
    if os.fork():
        os._exit(0)  # the session leader exits: the daemon can never get a terminal
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)


def serve(conn: socket.socket) -> None:
    try:
        while data := conn.recv(65536):
            conn.sendall(data)
    except ConnectionError:
        pass


port = int(sys.argv[-1])
daemonize()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
with socket.create_server(("127.0.0.1", port)) as listener:
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            serve(conn)
            os._exit(0)
        conn.close()
