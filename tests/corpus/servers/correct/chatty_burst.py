"""A single-process server that prints a 2 MiB burst to stdout before it listens, and a line per message after.

sockspec: model=iterative reply=echo
"""

import socket
import sys

for i in range(2 * 1024 * 1024 // 64):
    print(f"{i:063d}")
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[-1])))
listener.listen(5)
while True:
    conn, address = listener.accept()
    print("connection from", address)
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                break
            if not data:
                break
            print(f"{len(data)} bytes:", data[:40])
            try:
                conn.sendall(data)
            except OSError:
                break
