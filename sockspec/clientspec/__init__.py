"""The client half of the spec: the harness plays the server and the user, and checks any client program."""
