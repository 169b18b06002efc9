"""Its SIGCHLD handler calls os.wait() once per signal; Python runs the handler once however many children exited, so zombies stay.

sockspec: model=forking reply=echo caught-by=test_no_zombies_after_many_clients_leave_at_once causes=one-wait-per-sigchld
"""

import os
import signal
import socket
import sys


def on_child_exit(signum, frame):
    os.wait()  # BUG: one child per signal; loop on os.waitpid(-1, os.WNOHANG) until it returns 0


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


def main():
    signal.signal(signal.SIGCHLD, on_child_exit)
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


main()
