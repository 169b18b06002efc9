"""Claims to be a threaded server but serves each client itself, in the accept loop (the thread start was left out), so clients wait for each other.

sockspec: model=threaded auto=iterative reply=echo caught-by=test_threaded_serves_each_client_in_a_thread,test_idle_client_does_not_block_others causes=not-concurrent
"""

import socket
import sys


def serve(conn):
    with conn:
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
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[-1])))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        serve(conn)  # BUG: threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
