"""reference.forking under a command line that carries a marker, so a test can find every process it left.

usage: marked_forking.py PORT MARKER (forked children keep the command line, marker included)
"""

import sys

from sockspec.reference.forking import serve_forever
from sockspec.reference.handler import listening_socket

serve_forever(listening_socket("127.0.0.1", int(sys.argv[1])), "echo")
