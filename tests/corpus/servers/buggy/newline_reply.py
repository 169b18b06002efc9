"""Adds a newline to every reply, so the client gets one byte more than it sent.

sockspec: model=threaded reply=echo caught-by=test_many_messages_on_one_connection,test_pipelined_messages causes=adds-bytes
"""

import socket
import sys
import threading


def serve(conn):
    with conn:
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            try:
                conn.sendall(data + b"\n")  # BUG: the reply must be exactly what was received
            except OSError:
                return


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[-1])))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
