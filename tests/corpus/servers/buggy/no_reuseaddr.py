"""Uses socketserver.ThreadingTCPServer as it comes, without allow_reuse_address, so it cannot be restarted on its port at once.

sockspec: model=threaded reply=echo caught-by=test_restart_on_same_port causes=no-reuseaddr
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


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    # BUG: allow_reuse_address = True is missing (it defaults to False)


with Server(("127.0.0.1", int(sys.argv[-1])), Echo) as server:
    server.serve_forever()
