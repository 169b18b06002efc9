"""Wraps its accept loop in try/except: (a bare except, to "keep the server up"), which also catches KeyboardInterrupt, so Ctrl-C (SIGINT) never stops the server.

sockspec: model=threaded reply=echo caught-by=test_ctrl_c_stops_the_server causes=ctrl-c-swallowed
"""

import socket
import sys
import threading


def serve(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)


def main():
    port = int(sys.argv[-1])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(128)
    while True:
        try:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        except:  # noqa: E722 - never let one bad client kill the server
            print("error, going on", flush=True)


main()
