"""Built on socketserver.ForkingTCPServer: it reaps children by polling every half second (no SIGCHLD handler), with no limit on children.

sockspec: model=forking reply=echo
"""

import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                self.request.sendall(data)
            except OSError:
                return


class Server(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    max_children = 100_000  # the default, 40, makes client 41 wait for a free slot


with Server(("127.0.0.1", int(sys.argv[-1])), Echo) as server:
    server.serve_forever(poll_interval=0.5)  # reaps finished children on every poll
