"""An echo server that serves its first client and then exits: a server that dies under load."""

import socket
import sys

listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
conn, _ = listener.accept()
with conn:
    while data := conn.recv(65536):
        conn.sendall(data)
