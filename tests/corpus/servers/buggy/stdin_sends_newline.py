"""Answers each message with the operator's line including its newline (sys.stdin.readline() keeps the '\n').

sockspec: model=threaded reply=stdin caught-by=test_many_messages_on_one_connection,test_nothing_added_before_close causes=adds-bytes
"""

import os
import socket
import sys
import threading

lock = threading.Lock()


def read_line():
    """One line from stdin, byte by byte, so no thread reads ahead of another."""
    with lock:
        line = b""
        while not line.endswith(b"\n"):
            byte = os.read(0, 1)
            if not byte:
                break
            line += byte
        return line


def serve(conn):
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            print("client says:", data)
            reply = read_line()  # BUG: still ends with b"\n"; send reply.rstrip(b"\n")
            try:
                conn.sendall(reply)
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
