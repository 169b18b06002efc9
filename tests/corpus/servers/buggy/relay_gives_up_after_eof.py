"""Relays through a helper and, once the client's end of file has come, forwards what is left for one second only, then closes.

A child per client starts `cat` and passes bytes both ways: from the socket
to the helper's stdin, and from its stdout back to the socket through a
queue of up to 8 MiB (bounded: it stops reading the helper, and so the
client, while the queue is full).  When recv() returns 0 it closes the
helper's stdin and gives the rest one second to go out, a deadline that
holds for a client that reads at once but not for one that reads slowly:
what is still queued is dropped and the connection is closed cleanly, so
the client sees end of file early.

sockspec: model=forking reply=echo caught-by=test_half_closed_client_reads_slowly causes=closes-with-replies-pending
"""

import collections
import os
import signal
import socket
import subprocess
import sys
import threading

GRACE = 1.0  # BUG: after the client's end of file, what is left is forwarded for this long only
QUEUE_LIMIT = 8 << 20


def reap(signum, frame):
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Queue:
    """The helper's output on its way to the client: at most QUEUE_LIMIT bytes."""

    def __init__(self):
        self.chunks = collections.deque()
        self.size = 0
        self.ended = False
        self.changed = threading.Condition()

    def put(self, chunk):
        with self.changed:
            self.changed.wait_for(lambda: self.size < QUEUE_LIMIT)
            self.chunks.append(chunk)
            self.size += len(chunk)
            self.changed.notify_all()

    def end(self):
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def get(self):
        with self.changed:
            self.changed.wait_for(lambda: self.chunks or self.ended)
            if not self.chunks:
                return b""
            chunk = self.chunks.popleft()
            self.size -= len(chunk)
            self.changed.notify_all()
            return chunk


def from_helper(helper, queue):
    while data := helper.stdout.read1(65536):
        queue.put(data)
    queue.end()


def to_client(queue, conn):
    try:
        while data := queue.get():
            conn.sendall(data)
    except OSError:
        pass


def relay(conn):
    helper = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    queue = Queue()
    threading.Thread(target=from_helper, args=(helper, queue), daemon=True).start()
    back = threading.Thread(target=to_client, args=(queue, conn), daemon=True)
    back.start()
    try:
        while data := conn.recv(65536):
            helper.stdin.write(data)
            helper.stdin.flush()
    except OSError:
        pass
    helper.stdin.close()
    back.join(GRACE)
    helper.kill()
    helper.wait()
    conn.close()


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[-1])))
    listener.listen(128)
    signal.signal(signal.SIGCHLD, reap)
    while True:
        try:
            conn, _addr = listener.accept()
        except InterruptedError:
            continue
        if os.fork() == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            listener.close()
            relay(conn)
            os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
