"""Claims to be an evented server but serves from 1200 threads started at once, each blocked in accept() and then in recv() on its own client.

Its thread count never changes (the pool is there before any client comes),
every connection is held by the one process, and 1200 threads serve even the
spec's 1100 clients at once: every behaviour test passes.  Only its threads
show it is no event loop: each sits blocked on a single socket, where a loop
waits in select()/poll()/epoll_wait() for whichever is ready.

sockspec: model=evented auto=any reply=echo caught-by=test_evented_threads_wait_for_any_socket_not_one causes=wrong-model
"""

import socket
import sys
import threading

WORKERS = 1200


def work(listener):
    while True:
        conn, _ = listener.accept()
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                    if not data:
                        break
                    conn.sendall(data)
                except OSError:
                    break


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[-1])))
listener.listen(socket.SOMAXCONN)
threading.stack_size(256 * 1024)
for _ in range(WORKERS):
    threading.Thread(target=work, args=(listener,), daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
