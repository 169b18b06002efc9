"""An evented server, done right: one thread serves every client, by readiness (selectors).

The notes' servers block: in accept(), in recv(), in send(), so one process
or thread can serve one client.  This one never blocks except in select():
every socket is non-blocking, and the loop only calls accept(), recv() or
send() on a socket the selector says is ready.  What that costs is
bookkeeping the blocking servers get for free:

* a reply that the client's socket has no room for is kept (`unsent`) and
  sent when the socket becomes writable; until then the server reads no more
  from that client, so a client that never reads cannot make it hoard memory
  (and the kernel's buffers push back on the client, as with a blocking server);
* a client that closed (recv() == 0) is closed once its replies are out;
* a closed or reset connection is unregistered before its socket is closed;
* in the stdin reply mode the operator's stdin is one more source of events,
  watched only while a message is owed a line: each message received is owed
  one, and lines go to the messages in the order they arrived.
"""

from __future__ import annotations

import collections
import os
import selectors
import socket
from dataclasses import dataclass, field

from .handler import BUFFER_SIZE, run

MODEL = "evented"

STDIN = 0  # the operator types the replies on the server's stdin
LISTENER, OPERATOR = "listener", "operator"  # what the selector holds for the two that are not clients


@dataclass(eq=False)
class Connection:
    """One client: its socket and what the server still owes it."""

    sock: socket.socket
    unsent: bytearray = field(default_factory=bytearray)
    owed_lines: int = 0  # stdin mode: messages received that the operator has not answered yet
    peer_done: bool = False  # recv() returned 0: the client sends no more
    closed: bool = False


class EventLoop:
    """The listening socket, every connection, and (stdin mode) the operator, in one selector."""

    def __init__(self, listener: socket.socket, reply: str) -> None:
        self.listener = listener
        self.reply = reply
        self.selector = selectors.DefaultSelector()
        self.waiting: collections.deque[Connection] = collections.deque()  # owed a line, oldest first
        self.typed = bytearray()  # what the operator typed that is not a whole line yet
        self.operator_gone = False
        listener.setblocking(False)
        self.selector.register(listener, selectors.EVENT_READ, LISTENER)

    def run(self) -> None:
        """Wait until something is ready, do what it is ready for, and wait again: forever."""
        while True:
            for key, events in self.selector.select():
                if key.data == LISTENER:
                    self.accept()
                elif key.data == OPERATOR:
                    self.read_operator()
                else:
                    self.serve(key.data, events)
            self.watch_operator()

    def watch_operator(self) -> None:
        """Read stdin only while a message is owed a line, as a blocking server reads it only after
        recv(): a line typed before its message was read must wait for it, not go to nobody."""
        watched = STDIN in self.selector.get_map()
        if self.waiting and not watched and not self.operator_gone:
            self.selector.register(STDIN, selectors.EVENT_READ, OPERATOR)
        elif not self.waiting and watched:
            self.selector.unregister(STDIN)

    def accept(self) -> None:
        """Accept every connection the kernel has completed, then go back to waiting."""
        while True:
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return  # the queue of completed connections is empty
            except OSError:
                return  # a connection reset while queued (ECONNABORTED): the next event brings the rest
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as in handler.serve_client
            connection = Connection(sock)
            self.selector.register(sock, selectors.EVENT_READ, connection)

    def serve(self, connection: Connection, events: int) -> None:
        if events & selectors.EVENT_WRITE:
            self.flush(connection)
        if events & selectors.EVENT_READ and not connection.closed:
            self.receive(connection)
        self.update(connection)

    def receive(self, connection: Connection) -> None:
        try:
            message = connection.sock.recv(BUFFER_SIZE)
        except BlockingIOError:
            return
        except OSError:
            self.close(connection)  # reset by the peer: nothing more to do for this client
            return
        if not message:
            connection.peer_done = True  # recv() == 0: close once every reply is out
        elif self.reply == "echo":
            connection.unsent += message
            self.flush(connection)
        elif self.operator_gone:
            self.close(connection)  # nobody will answer any more, as in handler.serve_client
        else:
            connection.owed_lines += 1
            self.waiting.append(connection)

    def flush(self, connection: Connection) -> None:
        """Send what the socket takes now; the rest waits for it to become writable."""
        while connection.unsent and not connection.closed:
            try:
                sent = connection.sock.send(connection.unsent)
            except BlockingIOError:
                return
            except OSError:
                self.close(connection)  # the client went away while we were answering
                return
            del connection.unsent[:sent]

    def update(self, connection: Connection) -> None:
        """Wait for what this connection needs next: room to send, or a message; or close it."""
        if connection.closed:
            return
        if connection.peer_done and not connection.unsent and not connection.owed_lines:
            self.close(connection)
            return
        if connection.unsent:
            events = selectors.EVENT_WRITE  # read no more until this reply is out
        elif connection.peer_done:
            events = 0  # only an operator's line is still owed
        else:
            events = selectors.EVENT_READ
        registered = self.selector.get_map().get(connection.sock)
        if registered and events:
            if registered.events != events:
                self.selector.modify(connection.sock, events, connection)
        elif registered:
            self.selector.unregister(connection.sock)
        elif events:
            self.selector.register(connection.sock, events, connection)

    def read_operator(self) -> None:
        """Give each line typed on stdin, without its newline, to the oldest message still owed one.

        One byte per event, as handler.read_operator_line reads: a line no message is owed yet
        stays in the pipe (watch_operator stops reading once none is owed).
        """
        typed = os.read(STDIN, 1)
        if not typed:
            self.operator_gone = True  # end of input: nobody will answer any more
            self.selector.unregister(STDIN)
            for connection in self.waiting:
                self.close(connection)
            self.waiting.clear()
            return
        if typed != b"\n":
            self.typed += typed
            return
        line = bytes(self.typed)
        self.typed.clear()
        self.answer(line)

    def answer(self, line: bytes) -> None:
        if self.waiting:
            connection = self.waiting.popleft()
            if connection.closed:
                return  # its client left after sending: the line was meant for it, and goes nowhere
            connection.owed_lines -= 1
            connection.unsent += line
            self.flush(connection)
            self.update(connection)

    def close(self, connection: Connection) -> None:
        """Unregister, then close: a closed descriptor must never stay in the selector."""
        if connection.closed:
            return
        connection.closed = True
        if connection.sock in self.selector.get_map():
            self.selector.unregister(connection.sock)
        connection.sock.close()


def serve_forever(listener: socket.socket, reply: str) -> None:
    EventLoop(listener, reply).run()


if __name__ == "__main__":
    run(serve_forever, __doc__)
