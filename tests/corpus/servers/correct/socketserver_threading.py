"""Built on socketserver.ThreadingTCPServer, with the two settings it needs: allow_reuse_address and daemon_threads.

sockspec: model=threaded reply=echo
"""

import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return  # reset by the client
            if not data:
                return  # the client closed; socketserver closes our end
            try:
                self.request.sendall(data)
            except OSError:
                return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # restart at once on the same port
    daemon_threads = True  # detached: nobody joins them, they end with their client


with Server(("127.0.0.1", int(sys.argv[-1])), Echo) as server:
    server.serve_forever()
