"""What a spec test holds: the server under test, its clients, and its process state.

One handle lives for one test.  The server process behind it may be shared
with earlier tests (see `pool`); the clients and the transcript are the
test's own and are closed when it ends.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass

from sockspec import payloads, proc
from sockspec.client import Client
from sockspec.failure import SpecFailure, Transcript, check
from sockspec.replies import EchoReplies, StdinReplies
from sockspec.server import ServerProcess
from sockspec.timeouts import POLL_INTERVAL, Deadline, Patience, Timeouts, wait_for

FLOOD_LIMIT = 64 * 1024 * 1024  # a server that reads without echoing must not keep a flood going forever
FLOOD_STILL = 0.5  # seconds the kernel takes nothing more before a flood counts as stuck
OUTPUT_STILL = 0.3  # seconds without output after which a server is no longer busy writing it

NOT_CONCURRENT_HINT = (
    "the server stops answering while other clients are connected: it must hand each accepted "
    "connection to a new child process or thread and go straight back to accept()"
)
CROWD_HINT = (
    "the server is slow to serve each new client: threads or child processes that spin (a "
    "non-blocking recv() in a loop, `continue` on recv() < 0) while their client is silent eat "
    "the CPU the others need (block in recv(), or select()/poll(), instead), or every reply is held "
    "back (a sleep before sending, TCP_CORK never taken off)"
)

NOT_CLOSED_HINT = "a socket is never closed: close() the accepted socket when its client is done"

# An idle server blocked in accept() or recv() uses no CPU at all; a spinning one uses a whole
# core (or its fair share of a loaded machine, still far above this).
IDLE_CPU_LIMIT = 0.10
# Nor does it wake up: a thread blocked in accept() or recv() is not switched in until something
# arrives.  A loop that polls (usleep(1000) between non-blocking tries) wakes up about a thousand
# times a second for little CPU; a runtime's own threads (a JVM's) wake a few dozen times a
# second, and so does a reaper that polls waitpid() every 50 ms.
WAKEUPS_PER_SECOND_LIMIT = 250
SPIN_HINT = (
    "a loop that never blocks: e.g. `continue` after recv() returned < 0 or == 0, or after accept() "
    "failed, spins forever; when recv() returns 0 the client is gone: close and stop"
)
POLL_HINT = (
    "a loop that polls: trying a non-blocking accept() or recv() again after a short sleep (or "
    "select()/poll() with a tiny timeout) wakes the server up all the time; block in accept() and "
    "recv() (or select()/poll() without a timeout) instead"
)

# A runtime may start a thread or two of its own at any time and keep them (a JVM's garbage
# collector starts more workers after its first collection): "back to as many threads as before"
# allows this many more.  A thread leaked per client exceeds it after a few clients.
RUNTIME_THREADS = 2

# A state that has not changed for this long, with every client's child gone, is settled even
# if the server kept something it started for its first client (a helper thread, a log file).
STEADY = 0.3


@dataclass(frozen=True)
class IdleUse:
    """What a server did over a window in which nothing happened."""

    cpu_seconds: float
    wakeups: int  # times its threads were switched in: none for a thread blocked in accept() or recv()


class ServerHandle:
    """The server under test, seen from one test."""

    def __init__(self, process: ServerProcess, transcript: Transcript, patience: Patience, test: str) -> None:
        self.process = process
        assert process.baseline is not None
        self.baseline = process.baseline  # its state once idle after it started listening
        self.transcript = transcript
        self.timeouts: Timeouts = process.timeouts
        self.patience = patience
        self.test = test
        self.model = process.target.model
        self.reply = process.target.reply
        self.clients: list[Client] = []
        self.replies = (
            EchoReplies(self.timeouts.reply)
            if self.reply == "echo"
            else StdinReplies(process.operator, transcript, self.clients)
        )
        # Children the server runs before any client came (a logger, a helper): not a client's.
        self.helpers = frozenset(process.baseline.children)

    @property
    def address(self) -> tuple[str, int]:
        return self.process.host, self.process.port

    # -- clients ------------------------------------------------------------

    def client(self, name: str = "") -> Client:
        """A client, not yet connected (use `connect()` or `with`)."""
        name = name or f"client {len(self.clients) + 1}"
        client = Client(
            self.address, self.transcript, name, self.timeouts, self.patience.note_answered, self.process.tree.quiet
        )
        self.clients.append(client)
        return client

    def connect(self, name: str = "") -> Client:
        return self.client(name).connect()

    def connect_many(self, count: int, prefix: str = "client") -> list[Client]:
        """`count` connections, opened one after the other and all left open.

        With a concurrent model, each new client chats once before the next
        one connects: the server has then accepted it, so no listen()
        backlog, however small, overflows (an overflow costs a one-second
        SYN retransmission, which is the kernel's business, not a bug), and
        each chat already shows the server serving a client while all the
        earlier ones stay connected.
        """
        clients: list[Client] = []
        crowd = Deadline(self.timeouts.crowd)
        for i in range(count):
            if crowd.expired() and self.model != "iterative":
                raise SpecFailure(
                    f"{count} clients to connect one after another, each served while the earlier ones "
                    f"stay connected, within {crowd.seconds:g} s (a correct server needs well under a second)",
                    f"after {crowd.seconds:g} s only {i} had been, {1000 * crowd.seconds / max(i, 1):.0f} ms each",
                    CROWD_HINT,
                    missed_deadline="reply",
                )
            client = self.connect(f"{prefix} {i + 1}")
            clients.append(client)
            if self.model != "iterative":
                try:
                    self.chat(client, b"hello from %s" % client.name.encode())
                except SpecFailure as failure:
                    if clients[:-1] and not failure.likely_bug:
                        failure.likely_bug = NOT_CONCURRENT_HINT
                    raise
        return clients

    def chat(self, client: Client, message: bytes) -> None:
        """Send `message` and expect the reply the reply mode calls for."""
        self.replies.chat(client, message)

    def ask(self, client: Client, message: bytes) -> None:
        """Send `message` only; `expect_answer` later checks the reply."""
        self.replies.ask(client, message)

    def expect_answer(self, client: Client, message: bytes) -> None:
        self.replies.expect_answer(client, message)

    def expect_typed_answer(self, client: Client, line: bytes) -> None:
        """Stdin mode: the operator types `line`, which must come back on `client`."""
        assert isinstance(self.replies, StdinReplies), "only the stdin reply mode has an operator"
        self.replies.expect_answer(client, b"", line)

    def chat_all(self, pairs: list[tuple[Client, bytes]]) -> None:
        """Chat on every client; at once in echo mode, one after another in stdin mode."""
        self.replies.chat_all(pairs)

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()

    # -- process ------------------------------------------------------------

    def state(self) -> proc.TreeState:
        return self.process.state()

    def client_children(self, state: proc.TreeState) -> tuple[int, ...]:
        """The server's child processes, but for those it ran before any client came."""
        return tuple(pid for pid in state.children if pid not in self.helpers)

    def wait_state(self, condition: Callable[[proc.TreeState], bool], seconds: float | None = None) -> proc.TreeState:
        """Poll the server's state until `condition` holds or the deadline passes; return the last state."""
        last: list[proc.TreeState] = []

        def holds() -> bool:
            last[:] = [self.state()]
            return condition(last[0])

        if seconds is None:
            seconds = self.patience.current().settle
            if not wait_for(holds, seconds):
                self.patience.note_missed({"settle"}, self.test)
        else:
            wait_for(holds, seconds)
        return last[0]

    def flood_until_blocked(self, client: Client, for_good: bool = False) -> int:
        """Send on `client`'s connection without ever reading, until the server is stuck sending to it.

        Keeps sending whenever the kernel takes more, until the server has
        unread bytes from this client while all its threads are blocked, or
        while the kernel has taken nothing for FLOOD_STILL (every buffer on
        the way is full; a server whose other threads spin is never all
        blocked): it then no longer reads this connection, as any echo server
        blocked in send() to a client that does not read.  Returns the bytes
        sent: `payloads.flood_bytes(sent)`.

        `for_good`: only FLOOD_STILL counts, not a quiet tree.  A server
        blocked in send() is woken again, now and then, while the kernel
        compacts the buffers of a connection nobody reads; a test that needs
        it never to send to this client again waits for that to end.
        """
        sock = client.sock
        assert sock is not None
        sent = 0
        last_taken = time.monotonic()
        last_quiet: list[tuple[int, int] | None] = [None]  # (unread by it, unread by us) at the last quiet look

        def stuck() -> bool:
            end = proc.server_end(sock)
            queue = end.receive_queue if end else 0
            if not queue:
                return False
            if time.monotonic() - last_taken >= FLOOD_STILL:
                return True
            if for_good:
                return False
            # A server blocked in send() may be woken again while the kernel still grows the
            # buffers: it waits for good once it is quiet at two looks in a row with not a byte
            # moved in between, neither read by it nor sent to us.
            seen = last_quiet[0]
            last_quiet[0] = (queue, proc.unread_bytes(sock.fileno())) if self.process.tree.quiet() else None
            return seen is not None and seen == last_quiet[0]

        deadline = Deadline(self.patience.full.settle)  # filling the buffers takes time even when all is well
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_WRITE)
            while sent < FLOOD_LIMIT and not deadline.expired():
                if selector.select(POLL_INTERVAL):
                    try:
                        sent += sock.send(payloads.flood(sent))
                        last_taken = time.monotonic()
                        continue
                    except BlockingIOError:
                        pass
                if stuck():
                    self.transcript.add(client.name, f"sent {sent} bytes without reading any")
                    self.transcript.add("server", f"stopped reading from {client.name}: it waits to send to it")
                    return sent
        self.transcript.add(client.name, f"sent {sent} bytes without reading any; the server still reads")
        if sent < FLOOD_LIMIT:
            self.patience.note_missed({"settle"}, self.test)  # an echo server that reads on without sending
        return sent

    def warm_up(self) -> proc.TreeState:
        """Serve one client, wait for the server to settle, and make that state the baseline.

        A correct server may open a file or start a helper thread on its
        first client and keep it; "back to where it was" then means back to
        the state after a first client, not the state at start.
        """
        with self.connect("warm-up client") as client:
            self.chat(client, b"warming up")
        start = self.baseline
        # Its child must go (if it never does, that is a missed deadline the zombie tests report);
        # anything else may stay, once it holds still.  Zombies hold no descriptors and no threads.
        seen: list[tuple[proc.TreeState, float]] = []

        def settled() -> bool:
            now = self.state()
            if not seen or (now.threads, now.fds) != (seen[0][0].threads, seen[0][0].fds):
                seen[:] = [(now, time.monotonic())]
            if self.client_children(now):
                return False
            return now.threads <= start.threads or time.monotonic() - seen[0][1] >= STEADY

        if not wait_for(settled, self.patience.current().settle) and self.client_children(seen[0][0]):
            self.patience.note_missed({"settle"}, self.test)
        self.baseline = self.state()
        return self.baseline

    def expect_running(self, after: str) -> None:
        """The server is still alive and still listening."""
        ended = self.process.exit_description()
        if not ended and not self.process.is_listening():
            # A server on its way out has closed its socket but may not have finished exiting.
            ended = wait_for(self.process.exit_description, self.timeouts.stop)
        if ended:
            raise SpecFailure(f"the server to keep running {after}", ended)
        if not self.process.is_listening():
            raise SpecFailure(
                f"the server to keep listening {after}",
                "the server is running but no longer listens on its port",
            )

    def expect_fds_back(self, after: str, hint: str = NOT_CLOSED_HINT) -> None:
        """The server's open descriptors go back to the baseline's (a first client's, after `warm_up`)."""
        base = self.baseline.fds
        settled = self.wait_state(lambda s: s.fds <= base)
        check(
            settled.fds <= base,
            f"the server's open descriptors to go back to {base} {after}",
            f"it still has {settled.fds} open after {self.timeouts.settle:g} s: "
            + ", ".join(f"fd {fd} -> {target}" for fd, target in sorted(settled.fd_list.items())),
            hint,
        )

    def idle_use(self, window: float) -> IdleUse:
        """What the server and its descendants did over the next `window` seconds: the CPU time
        they used, and how many times their threads woke up."""
        before = self.state()
        switches = proc.context_switches([before.pid, *before.descendants])
        time.sleep(window)  # a measurement window: the spec asserts nothing happens in it
        after = self.state()
        switched = proc.context_switches([after.pid, *after.descendants])
        # A thread that ended in the window is not counted; one started in it counts from 0.
        wakeups = sum(max(count - switches.get(tid, 0), 0) for tid, count in switched.items())
        return IdleUse((after.cpu_ticks - before.cpu_ticks) / proc.CLOCK_TICKS, wakeups)

    def expect_read(self, client: Client, what: str) -> None:
        """Wait until the server has read everything `client` sent (none of it waits in the
        server's end of the connection), within the reply deadline."""

        def unread() -> int:
            end = proc.server_end(client.sock) if client.sock is not None else None
            return end.receive_queue if end else 0

        seconds = self.patience.current().reply
        if not wait_for(lambda: unread() == 0, seconds):
            self.patience.note_missed({"reply"}, self.test)
            raise SpecFailure(
                f"the server to read {what}",
                f"{unread()} bytes of it stay unread in the server's socket after {seconds:g} s",
            )

    def expect_idle(self, when: str, window: float | None = None, spin_hint: str = SPIN_HINT) -> None:
        """Over `window` (the cpu_window by default) the server uses (almost) no CPU and does not
        keep waking up: it is blocked until something happens."""
        window = window or self.timeouts.cpu_window
        # A server still writing what it logged (a line per byte received, say) is working, not
        # idle: the window starts once its output has stopped, or at the settle deadline.
        output = self.process.output
        wait_for(lambda: time.monotonic() - output.last_written >= OUTPUT_STILL, self.patience.current().settle)
        use = self.idle_use(window)
        share = use.cpu_seconds / window
        check(
            share <= IDLE_CPU_LIMIT,
            f"the server to use (almost) no CPU {when}",
            f"it used {use.cpu_seconds:.2f} s of CPU in {window:g} s ({100 * share:.0f}% of a core)",
            spin_hint,
        )
        check(
            use.wakeups <= WAKEUPS_PER_SECOND_LIMIT * window,
            f"the server to sleep until something happens {when}",
            f"its threads woke up {use.wakeups} times in {window:g} s ({use.wakeups / window:.0f} a second)",
            POLL_HINT,
        )

    def holders(self, client: Client) -> tuple[list[int], list[int]]:
        """Which server processes hold the server's end of `client`'s connection.

        Returns (holders, candidates): the pids holding it, among the server
        and its live descendants.
        """
        assert client.sock is not None
        end = proc.server_end(client.sock)
        snapshot = self.state()
        candidates = [snapshot.pid, *snapshot.descendants]
        return (proc.holders_of(end.inode, candidates) if end and end.inode else []), candidates
