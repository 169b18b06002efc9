"""Waits for the server to speak before it reads the user's line, so nothing is ever sent: both sides wait forever.

sockspec: reply=echo caught-by=test_typed_line_reaches_server causes=waits-for-server
"""

import socket
import sys


def main() -> int:
    host, port = sys.argv[-2], int(sys.argv[-1])
    try:
        sock = socket.create_connection((host, port))
    except OSError as error:
        print(f"connect: {error.strerror}", file=sys.stderr)
        return 1
    while True:
        reply = sock.recv(65536)  # "first hear what the server says"
        if not reply:
            print(" server shutdown!")
            return 0
        sys.stdout.buffer.write(b"server say:" + reply + b"\n")
        sys.stdout.flush()
        line = sys.stdin.buffer.readline()
        if not line:
            sock.close()
            return 0
        sock.sendall(line)


if __name__ == "__main__":
    sys.exit(main())
