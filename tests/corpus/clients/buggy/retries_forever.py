"""Retries a refused connect() every 0.2 s, forever, so with no server it hangs instead of saying so.

sockspec: reply=echo caught-by=test_connection_refused causes=connect-error-unreported
"""

import os
import selectors
import socket
import sys
import time


def connect(host: str, port: int) -> socket.socket:
    while True:
        try:
            return socket.create_connection((host, port))
        except ConnectionRefusedError:
            time.sleep(0.2)  # "the server is probably still starting"


def main() -> int:
    host, port = sys.argv[-2], int(sys.argv[-1])
    sock = connect(host, port)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(sock, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sock:
                data = sock.recv(65536)
                if not data:
                    print("server shutdown", file=sys.stderr)
                    return 0
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            else:
                typed = os.read(0, 65536)
                if not typed:
                    selector.unregister(0)
                    sock.shutdown(socket.SHUT_WR)
                else:
                    sock.sendall(typed)


if __name__ == "__main__":
    sys.exit(main())
