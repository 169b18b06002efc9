"""Stops reading stdin at end of file but never closes the connection, so it waits for the server forever.

sockspec: reply=echo caught-by=test_end_of_input_closes_the_connection,test_end_of_input_before_any_line causes=ignores-end-of-input
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
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            else:
                typed = os.read(0, 65536)
                if typed:
                    sock.sendall(typed)
                else:
                    selector.unregister(0)  # no more input; the server will close some day


if __name__ == "__main__":
    sys.exit(main())
