"""Two threads instead of select(): one reads stdin and sends, the other receives and prints, with prompts.

The main thread blocks in sys.stdin.readline(), a second thread in recv().
When the server closes the connection, the receiving thread says so and
ends the whole program with os._exit(0) (the main thread may be blocked in
readline() and cannot notice).  At end of input the main thread
half-closes the connection and waits for the receiver.  Every end goes
through os._exit(): a normal interpreter shutdown while the other thread is
still printing can abort Python ("could not acquire lock ... at interpreter
shutdown").  Replies are written to stdout byte for byte, after a "server
say:" label.

sockspec: reply=echo binary=yes
"""

import os
import signal
import socket
import sys
import threading


def receive(sock: socket.socket) -> None:
    out = sys.stdout.buffer
    while True:
        try:
            data = sock.recv(4096)
        except OSError as error:
            print(f"\nconnection lost: {error.strerror}", file=sys.stderr, flush=True)
            os._exit(1)
        if not data:
            print("\n server shutdown!", flush=True)
            os._exit(0)
        out.write(b"server say:" + data + b"\n")
        out.flush()


def main() -> int:
    host, port = sys.argv[-2], int(sys.argv[-1])
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        sock = socket.create_connection((host, port))
    except OSError as error:
        print(f"connect: {error.strerror}", file=sys.stderr)
        return 1
    receiver = threading.Thread(target=receive, args=(sock,), daemon=True)
    receiver.start()
    while True:
        print("You want to say:", end="", flush=True)
        line = sys.stdin.buffer.readline()
        if not line:
            break
        try:
            sock.sendall(line)
        except OSError as error:
            print(f"send: {error.strerror}", file=sys.stderr, flush=True)
            os._exit(1)
    sock.shutdown(socket.SHUT_WR)
    receiver.join()  # it ends the program when the server closes
    return 0


if __name__ == "__main__":
    sys.exit(main())
