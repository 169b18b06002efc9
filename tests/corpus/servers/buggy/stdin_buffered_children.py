"""Each child reads the operator's reply with sys.stdin.readline(), a buffered reader: if the operator types two lines before a child reads, that child takes both and the other client's reply is lost.

The spec types one line at a time and waits until it is taken, exactly so
that servers in any model read each line once; so it never types ahead and
cannot see this.  Nor should it, for this model: with two lines typed ahead,
even a correct forking server's children (reading byte by byte, as the
reference does) can interleave their reads of the shared pipe.  Only a
threaded server can serialize its readers; a typeahead test would belong
there.

sockspec: model=forking reply=stdin expect=gap causes=operator-input-out-of-step
"""

import os
import signal
import socket
import sys


def reap(signum, frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def serve(conn):
    while True:
        try:
            data = conn.recv(65536)
        except OSError:
            return
        if not data:
            return
        print("client says:", data)
        line = sys.stdin.readline()  # BUG: reads ahead into this child's private buffer
        if not line:
            return
        try:
            conn.sendall(line.rstrip("\n").encode())
        except OSError:
            return


def main():
    signal.signal(signal.SIGCHLD, reap)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[-1])))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            serve(conn)
            conn.close()
            os._exit(0)
        conn.close()


main()
