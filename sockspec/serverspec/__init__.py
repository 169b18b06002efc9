"""The server half of the spec: the harness plays the clients (and the server's operator), and checks any server."""
