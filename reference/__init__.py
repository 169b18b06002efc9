"""The notes' three servers and its client, done right: readable, stdlib only, and passing the whole spec."""
