#!/bin/sh
# Started as `./server PORT 2>&1 | tee LOG`: the shell runs the threaded server and tee side by side, so tee is the server's sibling, not its child.
#
# sockspec: model=threaded reply=echo
port="$1"
python3 -u -c '
import socket, sys, threading

def serve(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
print("listening on port", sys.argv[1])
while True:
    conn, address = listener.accept()
    print("client from", address)
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
' "$port" 2>&1 | tee "${TMPDIR:-/tmp}/sockspec-tee-pipeline.log"
