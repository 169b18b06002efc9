#!/bin/sh
# Started through a shell script that runs the real server as its child (no exec), logging around it.
#
# sockspec: model=threaded reply=echo
port="$1"
echo "wrapper: starting the server on port $port"
python3 -u -c '
import socket, sys, threading

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
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
' "$port"
echo "wrapper: the server exited with status $?"
