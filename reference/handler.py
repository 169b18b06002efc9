"""What every reference server does with one connected client, and how it starts.

The notes' three servers differ only in *who* runs this loop (the server
itself, a child process, a thread); the loop is the same, so it lives here
once.  It is the notes' loop with its bugs removed:

* recv() gets the buffer's real size, not `strlen(buf) - 1` of an empty buffer;
* recv() == 0 means the client closed: stop, and close our end;
* recv() < 0 means the connection is broken: stop too (`continue` would spin);
* every byte is sent, however many send() calls that takes (sendall).

And one thing the notes' servers do not do: every reply leaves at once (TCP_NODELAY),
see serve_client.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading

BUFFER_SIZE = 64 * 1024

# In the stdin reply mode, several threads may want a line at once; only one reads at a time.
_operator_lock = threading.Lock()


def read_operator_line() -> bytes | None:
    """One line typed on stdin, without its newline; None at end of input.

    Reads byte by byte with os.read: a buffered reader could take a second
    line out of the pipe that was meant for another child process.
    """
    with _operator_lock:
        line = bytearray()
        while True:
            byte = os.read(0, 1)
            if not byte:
                return None
            if byte == b"\n":
                return bytes(line)
            line += byte


def serve_client(conn: socket.socket, reply: str) -> None:
    """Answer one client until it closes its end, then close ours."""
    with conn:
        # Send each reply as soon as it is written.  Otherwise Nagle's algorithm
        # holds back the last small piece of a large reply until the client
        # acknowledges the previous piece, which a client may delay by
        # milliseconds: echoing 1 MiB messages ran five times slower without this.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                message = conn.recv(BUFFER_SIZE)
            except OSError:
                return  # reset by the peer: nothing more to do for this client
            if not message:
                return  # recv() == 0: the client closed the connection
            answer = message if reply == "echo" else read_operator_line()
            if answer is None:
                return  # the operator's stdin is closed: nobody will answer any more
            try:
                conn.sendall(answer)
            except OSError:
                return  # the client went away while we were answering


def listening_socket(host: str, port: int) -> socket.socket:
    """socket(), setsockopt(SO_REUSEADDR), bind(), listen(): steps 1 to 3 of the notes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Without this, a restarted server cannot bind while old connections linger in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(socket.SOMAXCONN)
    return sock


def parse_arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=19999, help="port to listen on (default 19999)")
    parser.add_argument(
        "--reply",
        choices=("echo", "stdin"),
        default="echo",
        help="echo: send back what was received; stdin: answer each message with a line typed on stdin",
    )
    return parser.parse_args()


def run(serve_forever, description: str) -> None:
    """Parse the command line, listen, and serve until interrupted (Ctrl-C or SIGTERM)."""
    args = parse_arguments(description)
    try:
        listener = listening_socket(args.host, args.port)
    except OSError as error:
        sys.exit(f"cannot listen on {args.host}:{args.port}: {error.strerror}")
    print(f"listening on {args.host}:{args.port} ({args.reply})", flush=True)
    try:
        serve_forever(listener, args.reply)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
