"""The notes' interactive client (sections 5.1, 6.1, 7.1), done right.

It waits for two things at once, with select(): a line typed on stdin, and
data from the server.  So it never blocks in one while the other has
something to say, and the notes' bugs go away:

* a reply is printed as its bytes arrive, whatever their number or timing
  (the notes' client does one recv() per line, with `strlen(buf) - 1` as its length);
* recv() == 0 means the server closed the connection: say so, exit 0;
* end of file on stdin (Ctrl-D) means the user is done: shutdown(SHUT_WR)
  so the server reads end of file, print what still arrives, and exit when
  the server closes (the notes' client loops forever, sending empty lines);
* a failed connect() or a reset connection is reported on stderr, status 1;
* SIGPIPE is ignored, so writing to a reset connection is an error, not death.

Run it as `python -m reference.client --host H --port P`.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import sys

BINARY_SAFE = True  # replies are written to stdout byte for byte
BUFFER_SIZE = 64 * 1024


def chat(sock: socket.socket) -> int:
    """Send what the user types, print what the server sends; return the exit status."""
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
    selector.register(sock, selectors.EVENT_READ)
    stdout = sys.stdout.buffer
    while True:
        for key, _ in selector.select():
            if key.fileobj is sock:
                data = sock.recv(BUFFER_SIZE)
                if not data:
                    print("the server closed the connection", file=sys.stderr)
                    return 0
                stdout.write(data)
                stdout.flush()
            else:
                # os.read, not sys.stdin: a buffered reader could hold a typed line select() cannot see.
                typed = os.read(key.fileobj, BUFFER_SIZE)
                if typed:
                    sock.sendall(typed)
                else:
                    selector.unregister(key.fileobj)
                    sock.shutdown(socket.SHUT_WR)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="the server's address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=19999, help="the server's port (default 19999)")
    args = parser.parse_args()
    # Python already ignores SIGPIPE; a C client must do it itself: signal(SIGPIPE, SIG_IGN).
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        sock = socket.create_connection((args.host, args.port))
    except OSError as error:
        print(f"cannot connect to {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    with sock:
        try:
            return chat(sock)
        except OSError as error:
            print(f"the connection to the server failed: {error.strerror or error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
