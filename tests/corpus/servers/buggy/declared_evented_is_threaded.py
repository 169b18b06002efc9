"""Claims to be an evented server but starts a thread per client, each blocking in recv() and sendall().

sockspec: model=evented auto=threaded reply=echo caught-by=test_evented_serves_every_client_from_one_thread causes=wrong-model
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


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[-1])))
listener.listen(128)
print("listening", flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
