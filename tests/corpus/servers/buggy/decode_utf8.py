"""Decodes every message as UTF-8 text (to print it), so binary data kills the client's thread with UnicodeDecodeError.

Its dead thread leaves the connection open and silent, which shows nothing of the decoding;
the traceback in its output does.

sockspec: model=threaded reply=echo caught-by=test_binary_data_with_nul_bytes,test_message_sizes causes=decodes-text
"""

import socket
import sys
import threading


def serve(conn):
    while True:
        data = conn.recv(4096)
        if not data:
            break
        text = data.decode()  # BUG: raises on bytes that are not UTF-8, ending this thread
        print("client says:", text)
        conn.sendall(text.encode())
    conn.close()


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[-1])))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
