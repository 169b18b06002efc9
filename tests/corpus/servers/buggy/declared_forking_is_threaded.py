"""Claims to be a forking server but starts a thread per client, not a child process.

sockspec: model=forking auto=threaded reply=echo caught-by=test_forking_serves_each_client_in_its_own_child causes=wrong-model
"""

import socket
import sys
import threading


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
        # BUG: the forking model serves each client in a child process (os.fork())
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
