"""Prints each received piece without its last byte, assuming every reply ends with a newline it can strip.

sockspec: reply=echo caught-by=test_reply_is_shown,test_text_reply causes=drops-bytes
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
                sys.stdout.buffer.write(b"server say:" + data[:-1] + b"\n")  # strip the newline
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
