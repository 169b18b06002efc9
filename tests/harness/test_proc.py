"""Reading /proc: sockets, process trees, zombies, threads and descriptors."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import threading

from sockspec import proc, tcp
from sockspec.timeouts import wait_for


def test_listening_sockets_and_both_ends_of_a_connection():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        (inode,) = tcp.listeners_on(port).keys()
        assert inode in proc.socket_inodes(os.getpid())
        with socket.create_connection(("127.0.0.1", port)) as client:
            end = tcp.server_end(client)
            assert end is not None and end.inode == 0, "not accepted yet: no inode"
            conn, _ = listener.accept()
            with conn:
                client.sendall(b"12345")
                end = tcp.server_end(client)
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
        assert list(tcp.listeners_on(port).values()) == [("::1", port)]


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
        assert f"{len(state.zombies)} zombie" in state.describe()
    finally:
        release.set()
        os.kill(live, signal.SIGKILL)
        os.waitpid(live, 0)
        os.waitpid(dead, 0)
    assert not proc.tree_state(dead).alive


# A process whose main thread ends with pthread_exit() while another thread holds a listening
# socket, as a C server may end main(); it prints the port once the main thread is gone.
MAIN_THREAD_EXITS = """
import ctypes, socket, threading, time
listener = socket.create_server(("127.0.0.1", 0))
def main_thread_state():
    with open(f"/proc/self/task/{main}/stat") as stat:
        return stat.read().rsplit(") ", 1)[1][0]
def serve():
    while main_thread_state() != "Z":
        time.sleep(0.01)
    print(listener.getsockname()[1], flush=True)
    listener.accept()
main = threading.get_native_id()
threading.Thread(target=serve).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def test_a_process_whose_main_thread_exited_lives_on_in_its_other_threads():
    with subprocess.Popen([sys.executable, "-c", MAIN_THREAD_EXITS], stdout=subprocess.PIPE, text=True) as program:
        try:
            port = int(program.stdout.readline())
            assert proc.is_live(program.pid)
            (inode,) = tcp.listeners_on(port)
            assert inode in proc.socket_inodes(program.pid)
            assert wait_for(lambda: proc.threads_all_sleeping(program.pid), 5), "its thread waits in accept()"
        finally:
            program.kill()


RAISE_OPEN_FILES = """
import os, resource, sys
from sockspec import proc
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
assert proc.open_files_limit(os.getpid()) == 256, proc.open_files_limit(os.getpid())
assert proc.raise_open_files(512) == 512 == proc.open_files_limit(os.getpid())
assert proc.raise_open_files(300) == 512, "never lowered"
"""


def test_open_files_limit_is_raised_never_lowered_and_seen_in_proc():
    """raise_open_files raises the soft limit (which the servers started afterwards inherit), never
    lowers it, and /proc/PID/limits shows it: run in a child, whose limits are its own."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 512:
        raise AssertionError(f"this machine's hard limit on open files ({hard}) is below what the spec needs")
    done = subprocess.run([sys.executable, "-c", RAISE_OPEN_FILES], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
