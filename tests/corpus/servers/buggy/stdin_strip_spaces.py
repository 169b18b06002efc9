"""Takes the operator's line with line.strip() instead of removing only the newline, so spaces (and tabs) at the start or end of the typed reply are lost.

sockspec: model=threaded reply=stdin caught-by=test_operator_lines_are_sent_as_typed causes=operator-line-changed
"""

import socket
import sys
import threading

operator = threading.Lock()


def serve(conn):
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            with operator:
                print("client say:", data, flush=True)
                raw = b""
                while not raw.endswith(b"\n"):  # one byte at a time: take only our line
                    c = sys.stdin.buffer.raw.read(1)
                    if not c:
                        return
                    raw += c
            line = raw.decode("utf-8", "surrogateescape").strip()
            try:
                conn.sendall(line.encode("utf-8", "surrogateescape"))
            except OSError:
                break


def main():
    port = int(sys.argv[-1])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
