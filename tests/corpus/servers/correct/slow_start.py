"""A single-process server that takes a second to start listening (it binds, then sleeps before listen()).

sockspec: model=iterative reply=echo
"""

import socket
import sys
import time

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[-1])))
print("loading...", flush=True)
time.sleep(1)
listener.listen(5)
print("ready", flush=True)
while True:
    conn, _ = listener.accept()
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                break
            if not data:
                break
            try:
                conn.sendall(data)
            except OSError:
                break
