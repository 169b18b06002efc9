"""The notes' multi-process server (section 6), done right: one child process per client.

* The SIGCHLD handler reaps *every* child that has exited (waitpid with
  WNOHANG in a loop): signals do not queue, so one wait() per signal leaves
  zombies when several children exit at once.
* The child exits when its client leaves (the notes' child falls back into
  the accept loop instead).
* The parent closes its copy of the accepted socket, or the client would
  never see end of file.
* accept() interrupted by SIGCHLD is retried (Python does this itself, PEP 475).
"""

from __future__ import annotations

import os
import signal
import socket

from .handler import run, serve_client

MODEL = "forking"


def reap_children(signum: int, frame: object) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass  # no children left


def serve_forever(listener: socket.socket, reply: str) -> None:
    signal.signal(signal.SIGCHLD, reap_children)
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            try:
                serve_client(conn, reply)
            finally:
                os._exit(0)  # never return into the parent's accept loop
        conn.close()


if __name__ == "__main__":
    run(serve_forever, __doc__)
