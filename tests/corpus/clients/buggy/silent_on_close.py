"""Exits without a word when the server closes the connection, so the user cannot tell a closed server from a crash.

sockspec: reply=echo caught-by=test_server_closes_while_client_waits_for_input,test_server_closes_instead_of_replying causes=silent-on-close
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
