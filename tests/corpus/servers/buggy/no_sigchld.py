"""Never reaps its children (no SIGCHLD handler, no wait), so every client leaves a zombie behind.

sockspec: model=forking reply=echo caught-by=test_child_exits_and_is_reaped_after_its_client,test_no_zombies_after_clients_leave_one_by_one causes=no-reap
"""

import os
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


def main():
    # BUG: nothing ever calls os.waitpid() for the children
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
