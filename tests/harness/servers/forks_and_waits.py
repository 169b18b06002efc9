"""An echo server that forks a child per client and waits for it before it accepts the next one: one
client at a time, yet a child each, which fits no model (`--model auto` must say so)."""

import os
import socket
import sys

with socket.create_server(("127.0.0.1", int(sys.argv[-1]))) as listener:
    while True:
        conn, _ = listener.accept()
        child = os.fork()
        if child == 0:
            listener.close()
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)
            os._exit(0)
        conn.close()
        os.waitpid(child, 0)
