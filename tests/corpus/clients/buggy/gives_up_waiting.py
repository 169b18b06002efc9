"""Waits at most 0.3 s for a reply, then goes back to reading input: a late reply shows only after the next line.

sockspec: reply=echo caught-by=test_late_reply causes=waits-in-input
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
    sock.settimeout(0.3)  # "don't hang if the server does not answer"
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            sock.close()
            return 0
        sock.sendall(line)
        try:
            while True:
                reply = sock.recv(65536)
                if not reply:
                    print(" server shutdown!")
                    return 0
                sys.stdout.buffer.write(reply)
                sys.stdout.flush()
        except TimeoutError:
            pass  # the reply is over (or never came)


if __name__ == "__main__":
    sys.exit(main())
