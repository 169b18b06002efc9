"""Reading /proc: sockets, process trees, zombies, threads and descriptors."""

from __future__ import annotations

import os
import signal
import socket
import threading

from sockspec import proc


def test_listening_sockets_and_both_ends_of_a_connection():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        (inode,) = proc.listeners_on(port).keys()
        assert inode in proc.socket_inodes(os.getpid())
        with socket.create_connection(("127.0.0.1", port)) as client:
            end = proc.server_end(client)
            assert end is not None and end.inode == 0, "not accepted yet: no inode"
            conn, _ = listener.accept()
            with conn:
                client.sendall(b"12345")
                end = proc.server_end(client)
                assert end.inode in proc.socket_inodes(os.getpid())
                assert end.receive_queue == 5


def test_ipv6_sockets_are_decoded():
    if not socket.has_ipv6:
        return
    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        return  # no IPv6 on this machine
    with listener:
        port = listener.getsockname()[1]
        assert list(proc.listeners_on(port).values()) == [("::1", port)]


def test_tree_state_counts_children_zombies_and_threads():
    release = threading.Event()
    threading.Thread(target=release.wait, daemon=True).start()
    live = os.fork()
    if live == 0:
        signal.pause()
        os._exit(0)
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    try:
        while proc.read_stat(dead).state != "Z":
            pass
        state = proc.tree_state(os.getpid())
        assert live in state.children and dead in state.zombies and dead not in state.children
        assert state.threads >= 2 and state.fds == len(state.fd_list) > 0
        assert f"{len(state.zombies)} zombie(s)" in state.describe()
    finally:
        release.set()
        os.kill(live, signal.SIGKILL)
        os.waitpid(live, 0)
        os.waitpid(dead, 0)
    assert not proc.tree_state(dead).alive
