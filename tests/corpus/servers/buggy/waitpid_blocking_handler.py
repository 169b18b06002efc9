"""Its SIGCHLD handler reaps with os.waitpid(-1, 0) in a loop (no WNOHANG), so when one child exits while another client is connected, the main loop is stuck in the handler until that client leaves.

sockspec: model=forking reply=echo caught-by=test_reaping_never_waits_for_a_running_child causes=blocking-reap
"""

import os
import signal
import socket
import sys


def reap(signum, frame):
    while True:
        try:
            pid, _ = os.waitpid(-1, 0)  # reap every child that exited
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(conn):
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)
    conn.close()


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, reap)
    port = int(sys.argv[-1])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        pid = os.fork()
        if pid == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                serve(conn)
            except OSError:
                pass
            os._exit(0)
        conn.close()


main()
