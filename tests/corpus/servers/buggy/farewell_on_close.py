"""Sends a goodbye message when the client closes (recv() returned 0), so the client gets bytes it never asked for before end of file.

sockspec: model=forking reply=echo caught-by=test_nothing_added_before_close,test_close_without_sending causes=adds-bytes
"""

import os
import signal
import socket
import sys


def reap(signum, frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def serve(conn):
    while True:
        try:
            data = conn.recv(65536)
        except OSError:
            return
        if not data:
            try:
                conn.sendall(b"bye!\n")  # BUG: the client has said it is done; just close
            except OSError:
                pass
            return
        try:
            conn.sendall(data)
        except OSError:
            return


def main():
    signal.signal(signal.SIGCHLD, reap)
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
