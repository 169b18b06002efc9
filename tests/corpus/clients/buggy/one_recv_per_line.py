"""Reads one recv() of at most 1024 bytes after each line typed, as the seed does, so longer or split replies are cut.

The rest of a reply waits in the socket and shows up after the next line
the user types, as if it were the answer to that one.

Diagnosed drops-bytes first: what a client shows of a reply cut at one recv() looks like
bytes left out.

sockspec: reply=echo caught-by=test_text_reply,test_reply_in_pieces,test_server_closes_while_client_waits_for_input causes=waits-in-input diagnosed=no
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
        try:
            line = input("You want to say:")
        except EOFError:
            sock.close()
            return 0
        sock.sendall(line.encode())
        reply = sock.recv(1024)
        if not reply:
            print(" server shutdown!")
            return 0
        print("server say:" + reply.decode(errors="replace"), flush=True)


if __name__ == "__main__":
    sys.exit(main())
