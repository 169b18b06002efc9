"""Polls a non-blocking socket and stdin in a loop without ever waiting, so it burns a whole core doing nothing.

sockspec: reply=echo caught-by=test_no_cpu_while_waiting_for_input,test_no_cpu_while_waiting_for_reply causes=busy-poll
"""

import os
import socket
import sys


def main() -> int:
    host, port = sys.argv[-2], int(sys.argv[-1])
    try:
        sock = socket.create_connection((host, port))
    except OSError as error:
        print(f"connect: {error.strerror}", file=sys.stderr)
        return 1
    sock.setblocking(False)
    os.set_blocking(0, False)
    input_open = True
    while True:  # "check both, again and again"
        try:
            data = sock.recv(65536)
            if not data:
                print("server shutdown", file=sys.stderr)
                return 0
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BlockingIOError:
            pass
        if input_open:
            try:
                typed = os.read(0, 65536)
            except BlockingIOError:
                continue
            if typed:
                sock.sendall(typed)
            else:
                input_open = False
                sock.shutdown(socket.SHUT_WR)


if __name__ == "__main__":
    sys.exit(main())
