"""Decodes every reply as UTF-8 text to print it, so binary bytes are replaced, although it claims to be binary-safe.

sockspec: reply=echo binary=yes caught-by=test_binary_reply causes=decodes-text
"""

import os
import selectors
import socket
import sys


def main() -> int:
    host, port = sys.argv[-2], int(sys.argv[-1])
    try:
        sock = socket.create_connection((host, port))
    except OSError as error:
        print(f"connect: {error.strerror}", file=sys.stderr)
        return 1
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
                print(data.decode("utf-8", errors="replace"), end="", flush=True)
            else:
                typed = os.read(0, 65536)
                if not typed:
                    selector.unregister(0)
                    sock.shutdown(socket.SHUT_WR)
                else:
                    sock.sendall(typed)


if __name__ == "__main__":
    sys.exit(main())
