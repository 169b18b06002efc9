"""A thread-pool echo server (concurrent.futures): its worker threads are started as needed and kept for later clients, so it is neither one thread per client nor evented, and declares model=any.

The pool's threads do not end with their clients (the threaded model's check
would fail it, rightly: it is not that model); with `any`, every behaviour test
runs and none of the mechanism's.  256 workers: enough for the spec's 200
clients at once.

sockspec: model=any reply=echo
"""

import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def serve(conn):
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)
            except OSError:
                return


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[-1])))
listener.listen(socket.SOMAXCONN)
print("listening", flush=True)
pool = ThreadPoolExecutor(max_workers=256)
while True:
    conn, _ = listener.accept()
    pool.submit(serve, conn)
