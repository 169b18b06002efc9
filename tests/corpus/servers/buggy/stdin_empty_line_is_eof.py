"""Tests for the end of the operator's input with `if not reply:` after stripping the newline, so an empty line (the operator just presses Enter) is taken for end of input and the server shuts down.

sockspec: model=iterative reply=stdin caught-by=test_empty_operator_line_sends_nothing_and_the_chat_goes_on causes=empty-operator-line
"""

import os
import socket
import sys


def main():
    port = int(sys.argv[-1]) if len(sys.argv) > 1 else int(os.environ["PORT"])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(5)
    while True:
        conn, addr = srv.accept()
        with conn:
            while True:
                try:
                    data = conn.recv(1024)
                except ConnectionError:
                    break
                if not data:
                    break
                print("client say:", data.decode(errors="replace"), flush=True)
                reply = sys.stdin.readline().rstrip("\n")
                if not reply:  # stdin closed: the operator is gone
                    print("no more input, shutting down", flush=True)
                    return
                try:
                    conn.sendall(reply.encode())
                except OSError:
                    break


if __name__ == "__main__":
    main()
