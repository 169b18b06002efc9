"""Uses socketserver.ForkingTCPServer with its default max_children = 40: with 40 clients connected it stops accepting until one leaves.

sockspec: model=forking reply=echo caught-by=test_fifty_clients_interleaved,test_two_hundred_clients_at_once causes=concurrency-cap
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
    # BUG: max_children stays 40, so client 41 waits until one of the first 40 leaves


with Server(("127.0.0.1", int(sys.argv[-1])), Echo) as server:
    server.serve_forever()
