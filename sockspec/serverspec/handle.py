"""What a spec test holds: the server under test, its clients, its operator and its process state.

The handle is the whole test API of the server half: a spec test touches
its `server` fixture and nothing else of the harness, so a test can be
copied by someone who has read one.  One handle lives for one test, with a
server of its own (see `pool`); the clients and the transcript are the
test's own and are closed when it ends.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from sockspec import proc, tcp
from sockspec.failure import SpecFailure, Transcript, check
from sockspec.i18n import _, ngettext
from sockspec.report import FailureParts
from sockspec.serverspec import flood, hints, idle, mechanism
from sockspec.serverspec.connection import Client
from sockspec.serverspec.conversation import Exchange, converse
from sockspec.serverspec.launch import ServerProcess
from sockspec.serverspec.mechanism import Seen
from sockspec.serverspec.replies import EchoReplies, StdinReplies
from sockspec.timeouts import Deadline, Patience, Timeouts, wait_for

# A server that served this many clients at once, and not one more, caps them: it is not one at a time.
CAPPED_AFTER = 2


class ServerHandle:
    """The server under test, seen from one test."""

    # A runtime may start a thread or two of its own at any time and keep them (a JVM's garbage
    # collector starts more workers after its first collection): "back to as many threads as before"
    # allows this many more.  A thread leaked per client exceeds it after a few clients.
    RUNTIME_THREADS = 2
    # Descriptors a process holds besides its clients' (standard streams, listener, a runtime's own).
    DESCRIPTOR_SPARE = 64

    def __init__(
        self, process: ServerProcess, patience: Patience, test: str, transcript: Transcript | None = None,
        where_option: str = "",
    ) -> None:  # fmt: skip
        """`transcript`: the test's, shared by every server it starts; `where_option`: --address or
        --host as given, for the test's reproduce command."""
        self.process = process
        assert process.baseline is not None
        self.baseline = process.baseline  # its state once idle after it started listening
        self.transcript = transcript or Transcript()
        self.where_option = where_option
        self.timeouts: Timeouts = process.timeouts
        self.patience = patience
        self.test = test
        self.model = process.target.model
        self.reply = process.target.reply
        self.clients: list[Client] = []
        self.replies = (
            EchoReplies(self.timeouts.reply)
            if self.reply == "echo"
            else StdinReplies(process.operator, self.transcript, self.clients)
        )
        # Children the server runs before any client came (a logger, a helper): not a client's.
        self.helpers = frozenset(process.baseline.children)

    @property
    def address(self) -> tuple[str, int]:
        return self.process.host, self.process.port

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def pid(self) -> int:
        """The process that holds the listening socket: the server, whatever started it."""
        return self.process.pid

    def failure_parts(self, failure: SpecFailure) -> FailureParts:
        """What a failure of this test says of the server (see `sockspec.plugin`)."""
        ended = self.process.exit_description()
        return FailureParts(
            program="SERVER",
            program_line=ended or self.process.state().describe(),
            outputs={"OUTPUT": self.process.output.last_lines()},
            exit_description=ended,
            signal_hints=hints.SIGNALS,
            who="server",
            options=self.process.target.command_line_options() + self.where_option,
        )

    def note(self, who: str, what: str) -> None:
        """Put a line of what the test did in the transcript of the failure, if it fails."""
        self.transcript.add(who, what)

    # -- clients ------------------------------------------------------------

    def client(self, name: str = "") -> Client:
        """A client, not yet connected (use `connect()` or `with`)."""
        name = name or f"client {len(self.clients) + 1}"
        client = Client(
            self.address, self.transcript, name, self.timeouts, self.patience.note_answered, self.process.tree.quiet,
            self.socket_waits,
        )  # fmt: skip
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
                    _(
                        "{count} clients to connect one after another, each served while the earlier ones "
                        "stay connected, within {seconds:g} s (a correct server needs well under a second)"
                    ).format(count=count, seconds=crowd.seconds),
                    _("after {seconds:g} s only {done} had been, {each:.0f} ms each").format(
                        seconds=crowd.seconds, done=i, each=1000 * crowd.seconds / max(i, 1)
                    ),
                    hints.CROWD,
                    missed_deadline="reply",
                )
            client = self.connect(f"{prefix} {i + 1}")
            clients.append(client)
            if self.model != "iterative":
                try:
                    self.chat(client, b"hello from %s" % client.name.encode())
                except SpecFailure as failure:
                    if not failure.likely_bug and i >= CAPPED_AFTER:
                        # Several clients were served at once, then no more: a cap, not one at a time.
                        failure.likely_bug = hints.CAPPED
                        served = _("{count} clients were served at once, client {next} was not").format(
                            count=i, next=i + 1
                        )
                        failure.evidence.append(("concurrency-cap", served))
                    elif clients[:-1] and not failure.likely_bug:
                        failure.likely_bug = hints.NOT_CONCURRENT
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

    def echo_all(self, pieces: list[tuple[Client, list[bytes]]], wait_for_echo: bool = False) -> None:
        """Echo mode: every client sends its pieces, all clients at once, and must get back exactly
        their concatenation; with `wait_for_echo`, each piece only once the echo of the ones before
        it came back."""
        converse([Exchange(c, chunks, b"".join(chunks), wait_for_echo) for c, chunks in pieces], self.timeouts.reply)

    def type_unanswered_line(self, line: bytes | None = None, what: str = "") -> bool:
        """Stdin mode: the operator types `line` (a fresh one by default) that no client will get (its
        client is gone, or it is empty), and the spec waits for the server to read it; True if it
        did.  Whatever it did not read is taken back, so it cannot reach a later exchange."""
        assert isinstance(self.replies, StdinReplies), "only the stdin reply mode has an operator"
        operator = self.process.operator
        line = operator.next_line() if line is None else line
        operator.type_line(line)
        self.note("operator", what or f"typed {line.decode()!r} and Enter, for no client")
        taken = operator.wait_taken(self.timeouts.reply)
        operator.take_back()
        return taken

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
        """Send on `client`'s connection without ever reading, until the server is stuck sending to it;
        returns the bytes sent (`payloads.flood_bytes(sent)`).  See `flood.until_blocked`."""
        full = self.patience.full
        sent, stuck = flood.until_blocked(
            client, self.transcript, self.process.tree.quiet, full.flood_still, full.settle, for_good
        )
        if not stuck:
            self.patience.note_missed({"settle"}, self.test)  # an echo server that reads on without sending
        return sent

    def read_until_all_taken(self, client: Client, sent: int) -> int:
        """After a flood of `sent` bytes and a half-close, read the echo only until the server has taken
        every byte and the end of file; returns the bytes read.  See `flood.read_until_all_taken`."""
        full = self.patience.full
        return flood.read_until_all_taken(
            client, self.transcript, self.process.tree.quiet, full.flood_still, sent, full.settle + full.reply
        )

    def read_slowly(self, client: Client, sent: int, read: int) -> None:
        """Then read the rest slowly, the idle window's worth of pace: see `flood.read_slowly`."""
        flood.read_slowly(client, self.transcript, sent, read, self.timeouts.idle)

    def warm_up(self) -> proc.TreeState:
        """Serve one client, wait for the server to settle, and make that state the baseline.

        A correct server may open a file or start a helper thread on its
        first client and keep it; "back to where it was" then means back to
        the state after a first client, not the state at start.
        """
        with self.connect("warm-up client") as client:
            self.chat(client, b"warming up")
        return self.settle_baseline()

    def settle_baseline(self) -> proc.TreeState:
        """Once a client has left: wait for the server to settle, and make that state the baseline."""
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
            return now.threads <= start.threads or time.monotonic() - seen[0][1] >= self.timeouts.steady

        if not wait_for(settled, self.patience.current().settle) and self.client_children(seen[0][0]):
            self.patience.note_missed({"settle"}, self.test)
        self.baseline = self.state()
        return self.baseline

    def interrupt(self) -> None:
        """Press Ctrl-C in the server's terminal: SIGINT to its process group."""
        self.process.interrupt()
        self.note("operator", "pressed Ctrl-C (SIGINT to the server's process group)")

    def wait_exit(self, seconds: float | None = None) -> bool:
        """Wait until the server has exited (the exit deadline by default); True if it did."""
        return bool(wait_for(lambda: not self.process.alive(), seconds or self.timeouts.exit))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server and everything it started, with `sig` first (SIGKILL if that is not enough)."""
        self.process.stop(sig)

    def expect_running(self, after: str) -> None:
        """The server is still alive and still listening."""
        ended = self.process.exit_description()
        if not ended and not self.process.is_listening():
            # A server on its way out has closed its socket but may not have finished exiting.
            ended = wait_for(self.process.exit_description, self.timeouts.stop)
        if ended:
            raise SpecFailure(_("the server to keep running {after}").format(after=after), ended)
        if not self.process.is_listening():
            raise SpecFailure(
                _("the server to keep listening {after}").format(after=after),
                _("the server is running but no longer listens on its port"),
            )

    def expect_fds_back(self, after: str, hint: str = hints.NOT_CLOSED) -> None:
        """The server's open descriptors go back to the baseline's (a first client's, after `warm_up`)."""
        base = self.baseline.fds
        settled = self.wait_state(lambda s: s.fds <= base)
        check(
            settled.fds <= base,
            _("the server's open descriptors to go back to {count} {after}").format(count=base, after=after),
            _("it still has {count} open after {seconds:g} s: {fds}").format(
                count=settled.fds,
                seconds=self.timeouts.settle,
                fds=", ".join(f"fd {fd} -> {target}" for fd, target in sorted(settled.fd_list.items())),
            ),
            hint,
        )

    def expect_read(self, client: Client, what: str) -> None:
        """Wait until the server has read everything `client` sent (none of it waits in the
        server's end of the connection), within the reply deadline."""

        def unread() -> int:
            end = tcp.server_end(client.sock) if client.sock is not None else None
            return end.receive_queue if end else 0

        seconds = self.patience.current().reply
        if not wait_for(lambda: unread() == 0, seconds):
            self.patience.note_missed({"reply"}, self.test)
            left = unread()
            raise SpecFailure(
                _("the server to read {what}").format(what=what),
                ngettext(
                    "{count} byte of it stays unread in the server's socket after {seconds:g} s",
                    "{count} bytes of it stay unread in the server's socket after {seconds:g} s",
                    left,
                ).format(count=left, seconds=seconds),
            )

    def expect_idle(self, when: str, window: float | None = None, spin_hint: str = hints.SPIN) -> None:
        """Over `window` (the cpu_window by default) the server uses (almost) no CPU and does not
        keep waking up: it is blocked until something happens."""
        window = window or self.timeouts.cpu_window
        # A server still writing what it logged (a line per byte received, say) is working, not
        # idle: the window starts once its output has stopped, or at the settle deadline.
        output = self.process.output
        still = self.timeouts.output_still
        wait_for(lambda: time.monotonic() - output.last_written >= still, self.patience.current().settle)
        use = idle.measure(self.state, window)
        share = use.cpu_seconds / window
        check(
            share <= idle.CPU_LIMIT,
            _("the server to use (almost) no CPU {when}").format(when=when),
            _("it used {cpu:.2f} s of CPU in {window:g} s ({percent:.0f}% of a core)").format(
                cpu=use.cpu_seconds, window=window, percent=100 * share
            ),
            spin_hint,
        )
        check(
            use.wakeups <= idle.WAKEUPS_PER_SECOND_LIMIT * window,
            _("the server to sleep until something happens {when}").format(when=when),
            ngettext(
                "its threads woke up {count} time in {window:g} s ({rate:.0f} a second)",
                "its threads woke up {count} times in {window:g} s ({rate:.0f} a second)",
                use.wakeups,
            ).format(count=use.wakeups, window=window, rate=use.wakeups / window),
            hints.POLL,
        )

    def too_few_descriptors(self, clients: int) -> str:
        """Why `clients` connections at once cannot be held here (the harness's or the server's limit
        on open files, `ulimit -n`, is too low: no fault of the server's), or "" if they can."""
        needed = clients + self.DESCRIPTOR_SPARE
        ours = proc.open_files_limit(os.getpid())
        theirs = proc.open_files_limit(self.pid)
        if ours is not None and ours < needed:
            reason = _("{clients} clients at once need {needed} open files; the spec may open only {limit} (ulimit -n)")
            return reason.format(clients=clients, needed=needed, limit=ours)
        if theirs is not None and theirs < needed:
            reason = _(
                "{clients} clients at once need {needed} open files; the server may open only {limit} (ulimit -n)"
            )
            return reason.format(clients=clients, needed=needed, limit=theirs)
        return ""

    def socket_waits(self) -> list[str]:
        """The calls (accept, recv, ...) threads of the server sit blocked in, each on one socket;
        empty where /proc cannot tell."""
        return proc.threads_waiting_on_sockets(self.pid) or []

    def looks_like(self, clients: list[Client]) -> Seen:
        """What /proc shows of how `clients` (all connected, each served) are served: the model it
        fits and why, in words (see `sockspec.serverspec.mechanism`)."""
        return mechanism.seen(self, clients)

    def holders(self, client: Client) -> tuple[list[int], list[int]]:
        """Which server processes hold the server's end of `client`'s connection.

        Returns (holders, candidates): the pids holding it, among the server
        and its live descendants.
        """
        assert client.sock is not None
        end = tcp.server_end(client.sock)
        snapshot = self.state()
        candidates = [snapshot.pid, *snapshot.descendants]
        return (proc.holders_of(end.inode, candidates) if end and end.inode else []), candidates
