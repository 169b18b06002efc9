"""What a client-spec test holds: the client under test, the harness's listener, and the transcript.

One handle lives for one test.  The harness listens first, then starts
the client, so the client never races the server; everything the test
started is stopped when it ends.  Every expectation is an event with a
named deadline (`sockspec.timeouts`), and a miss raises `SpecFailure`.
"""

from __future__ import annotations

import os
import select
import signal
import socket
from dataclasses import dataclass

from sockspec import evidence, proc, tcp
from sockspec.clientspec import hints
from sockspec.clientspec.program import ClientProgram
from sockspec.clientspec.scripted_server import ServerEnd, listen
from sockspec.failure import SpecFailure, Transcript, preview
from sockspec.i18n import N_, _, ngettext
from sockspec.report import FailureParts
from sockspec.targets import Target
from sockspec.timeouts import Patience, Timeouts, wait_for

# A client waiting in read(), recv(), select() or poll() uses no CPU at all; a spinning one uses
# a whole core (or its fair share of a loaded machine, still far above this).
IDLE_CPU_LIMIT = 0.10
# What `expect_exit` expects, by the status it wants.
EXIT_EXPECTED = {
    "zero": N_("the client to exit with status 0 {after}, within {seconds:g} s"),
    "nonzero": N_("the client to exit with a non-zero status {after}, within {seconds:g} s"),
    "any": N_("the client to exit {after}, within {seconds:g} s"),
}


@dataclass(frozen=True)
class Where:
    """Where the harness listens: the configured host, and a fixed port or a fresh one per test."""

    host: str
    fixed_port: int | None = None


class ClientHandle:
    """The client under test, seen from one test."""

    def __init__(self, target: Target, where: Where, patience: Patience, transcript: Transcript, options: str) -> None:
        """`options`: those that select this client, for the test's reproduce command."""
        self.target = target
        self.options = options
        self.where = where
        self.patience = patience
        self.transcript = transcript
        self.program: ClientProgram | None = None
        self.listener: socket.socket | None = None
        self.address: tuple[str, int] = (where.host, 0)
        self.peers: list[ServerEnd] = []

    @property
    def timeouts(self) -> Timeouts:
        """The waits this client gets now: shorter once it has missed one (see `timeouts.Patience`)."""
        return self.patience.current()

    # -- starting -----------------------------------------------------------

    def start(self, listening: bool = True) -> None:
        """Listen (or, with `listening` False, hold the port so connections are refused), then start the client."""
        self.listener = listen(self.where.host, self.where.fixed_port or 0, accept=listening)
        host, port = self.listener.getsockname()[:2]
        self.address = (self.where.host, port)
        state = "listens" if listening else "refuses connections (bound, not listening)"
        self.transcript.add("server", f"{state} on {self.where.host}:{port}")
        env = dict(os.environ, HOST=self.where.host, PORT=str(port))
        self.program = ClientProgram(self.target.argv(self.where.host, port), self.target.cwd, env, self.transcript)
        self.transcript.add("client", f"started (pid {self.program.pid})")

    def accept(self) -> ServerEnd:
        """The client's connection, within the start deadline."""
        assert self.listener is not None and self.program is not None
        program, listener = self.program, self.listener
        seconds = self.timeouts.start

        def arrived() -> bool:
            return program.exit_code() is not None or bool(select_readable(listener))

        wait_for(arrived, seconds)
        if not select_readable(listener):
            host, port = self.address
            expected = _("the client to connect to {host}:{port}").format(host=host, port=port)
            ended = program.exit_description()
            elsewhere = connections_elsewhere(program, self.address)
            if ended and elsewhere:
                happened = _("{ended} without connecting; it connects to {address} instead")
            elif ended:
                happened = _("{ended} without connecting")
            elif elsewhere:
                happened = _("it did not connect within {seconds:g} s; it connects to {address} instead")
            else:
                happened = _("it did not connect within {seconds:g} s")
            raise SpecFailure(
                expected,
                happened.format(ended=ended, seconds=seconds, address=elsewhere),
                N_(
                    "the client must connect to the host and port it is given (its last two arguments, or HOST "
                    "and PORT in its environment); a hard-coded address needs --client-address HOST:PORT"
                ),
            )
        sock, origin = listener.accept()
        peer = ServerEnd(sock, self.transcript, lambda: self.timeouts.reply)
        self.peers.append(peer)
        self.transcript.add("server", f"accepted the client's connection from port {origin[1]}")
        return peer

    def connect(self) -> ServerEnd:
        """Start the client and accept its connection."""
        self.start()
        return self.accept()

    # -- the user -----------------------------------------------------------

    def _started(self) -> ClientProgram:
        assert self.program is not None, "start() the client first"
        return self.program

    def type_line(self, line: bytes) -> int:
        """Type `line` and Enter; returns the stdout mark a reply to it must appear after."""
        program = self._started()
        mark = program.stdout.mark()
        program.type_line(line)
        return mark

    def end_input(self) -> None:
        self._started().end_input()

    def chat(self, peer: ServerEnd, line: bytes, reply: bytes) -> None:
        """The user types `line`, the server receives it and answers `reply`, which the client shows."""
        mark = self.type_line(line)
        peer.expect_line(line)
        peer.send(reply)
        self.expect_shown(reply, mark)

    def wait_waiting(self) -> bool:
        """Wait until the client has read its input and blocks again (True), or has exited (False)."""
        return self._started().wait_waiting(self.timeouts.reply)

    # -- expectations -------------------------------------------------------

    def expect_shown(self, reply: bytes, mark: int, what: str = "") -> None:
        """The bytes of `reply` appear in order on the client's stdout after `mark` (see `streams`)."""
        program = self._started()
        stdout = program.stdout
        seconds = self.timeouts.reply
        shown = stdout.wait_shown(reply, mark, seconds)
        printed = stdout.since(mark)
        self.transcript.add("client", f"stdout since the line was typed: {preview(printed[-48:], 48)}")
        if shown == len(reply):
            self.patience.note_answered()
            return
        if what:
            expected = _("the client to show {what} on its stdout").format(what=what)
        else:
            expected = _("the client to show the server reply {data} on its stdout").format(data=preview(reply))
        ended = program.exit_description()
        if shown and ended:
            happened = ngettext(
                "its stdout shows only the first {shown} of its {total} byte (in order); {ended}",
                "its stdout shows only the first {shown} of its {total} bytes (in order); {ended}",
                len(reply),
            )
        elif shown:
            happened = ngettext(
                "its stdout shows only the first {shown} of its {total} byte (in order) after {seconds:g} s",
                "its stdout shows only the first {shown} of its {total} bytes (in order) after {seconds:g} s",
                len(reply),
            )
        elif ended:
            happened = _("its stdout does not show it; {ended}")
        else:
            happened = _("its stdout does not show it after {seconds:g} s")
        happened = happened.format(shown=shown, total=len(reply), ended=ended, seconds=seconds)
        failure = SpecFailure(expected, happened, missed_deadline="" if ended else "reply")
        failure.evidence = evidence.of_shown(reply, shown, printed)
        raise failure

    def expect_exit(self, after: str, status: str = "any", seconds: float | None = None) -> int:
        """The client exits by itself within the deadline, never killed by a signal, and with status 0
        (`status="zero"`), a non-zero status (`"nonzero"`), or any status (`"any"`)."""
        seconds = seconds or self.timeouts.exit
        expected = _(EXIT_EXPECTED[status]).format(after=after, seconds=seconds)
        program = self._started()
        code = program.wait_exit(seconds)
        if code is None:
            share = program.cpu_share()
            busy = share > 0.5  # over half a core on average since it started: it spins
            if busy:
                happened = _("it is still running after {seconds:g} s, busy ({share:.0%} of a core)")
            else:
                happened = _("it is still running after {seconds:g} s")
            happened = happened.format(seconds=seconds, share=share)
            failure = SpecFailure(expected, happened, hints.SPIN if busy else "", missed_deadline="exit")
            if busy:
                words = _("instead of exiting it runs on, busy ({share:.0%} of a core)").format(share=share)
                failure.evidence.append(("spin-on-eof", words))
            raise failure
        ended = program.exit_description()
        self.transcript.add("client", ended)
        if killed_by_signal(code) or (status == "zero" and code != 0) or (status == "nonzero" and code == 0):
            raise SpecFailure(expected, ended)
        return code

    def output_marks(self) -> tuple[int, int]:
        """Where the client's stdout and stderr are now, for `expect_message`."""
        return self._started().stdout.mark(), self._started().stderr.mark()

    def expect_message(
        self, what: str, since: tuple[int, int] = (0, 0), stderr_only: bool = False, hint: str = ""
    ) -> None:
        """The client printed some text after the marks `since` (on stderr, or on either stream);
        by default since it started."""
        stdout, stderr = self._started().stdout, self._started().stderr
        streams = [(stderr, since[1])] if stderr_only else [(stdout, since[0]), (stderr, since[1])]

        def said() -> bool:
            return any(stream.since(mark).strip() for stream, mark in streams)

        # Once the client has exited, its streams end as soon as what it wrote has been read.
        if wait_for(lambda: said() or all(stream.ended for stream, _mark in streams), self.timeouts.reply) and said():
            return
        if stderr_only:
            expected = _("the client to say {what} on stderr").format(what=what)
        else:
            expected = _("the client to say {what} on stdout or stderr").format(what=what)
        printed = stdout.since(since[0]).strip()
        if stderr_only and printed:
            happened = _("it printed nothing there (it printed only {data} on stdout)").format(data=preview(printed))
        else:
            happened = _("it printed nothing there")
        raise SpecFailure(expected, happened, hint)

    def expect_idle(self, when: str) -> None:
        """The client uses (almost) no CPU over the cpu_window."""
        window = self.timeouts.cpu_window
        used = self._started().cpu_seconds(window)
        self.transcript.add("client", f"used {used:.2f} s of CPU in {window:g} s {when}")
        if used > IDLE_CPU_LIMIT * window:
            raise SpecFailure(
                _("the client to use (almost) no CPU {when}").format(when=when),
                _("it used {cpu:.2f} s of CPU in {window:g} s ({percent:.0f}% of a core)").format(
                    cpu=used, window=window, percent=100 * used / window
                ),
                hints.SPIN,
            )

    # -- a failure ----------------------------------------------------------

    def last_output(self) -> tuple[list[str], list[str]]:
        """The client's last lines of stdout and of stderr."""
        program = self.program
        if program is None:
            return [], []
        if program.exit_code() is not None:
            # What it printed just before it exited may still be on its way through the terminal.
            program.stdout.wait(lambda: False, self.timeouts.stop)
        return program.stdout.last_lines(), program.stderr.last_lines()

    def failure_parts(self, failure: SpecFailure) -> FailureParts:
        """What a failure of this test says of the client (see `sockspec.plugin`)."""
        stdout, stderr = self.last_output()
        described = self.program.describe() if self.program else _("not started")
        return FailureParts(
            program="CLIENT",
            program_line=described,
            outputs={"STDOUT": stdout, "STDERR": stderr},
            exit_description=described,
            signal_hints=hints.SIGNALS,
            who="client",
            options=self.options,
        )

    # -- the end ------------------------------------------------------------

    def stop(self) -> str:
        """Kill and reap the client's tree, close every socket; says so if SIGTERM was not enough."""
        note = self.program.stop(self.timeouts.stop) if self.program else ""
        for peer in self.peers:
            peer.close()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        return note


def killed_by_signal(code: int) -> bool:
    """The exit status `code` tells of a death by signal, as `process_tree.describe_exit` reads it
    (killed by a signal, or a shell's 128+N); from the status, not its words, which are translated."""
    if code < 0:
        return True
    try:
        return code > 128 and bool(signal.Signals(code - 128))
    except ValueError:
        return False


def select_readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def connections_elsewhere(program: ClientProgram, ours: tuple[str, int]) -> str:
    """The address the client connects to, if it is not ours (a hard-coded address, usually)."""
    inodes: set[int] = set()
    for pid in program.live_members():
        inodes |= proc.socket_inodes(pid)
    for sock in tcp.tcp_sockets():
        if sock.inode in inodes and sock.remote[1] != 0 and sock.remote[1] != ours[1]:
            return f"{sock.remote[0]}:{sock.remote[1]}"
    return ""
