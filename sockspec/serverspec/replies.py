"""How a server answers a message: the two reply modes of the spec.

`echo`: the server sends back exactly the bytes it received.
`stdin`: the notes' chat: the server reads a line from its operator (its
stdin) and sends that line without the newline.

Spec tests call `chat()`, or `ask()` then `expect_answer()`, and do not care
which mode runs; tests that only make sense in one mode are marked with
`replies(...)`.
"""

from __future__ import annotations

import threading

from sockspec.failure import Hint, SpecFailure, Transcript, preview
from sockspec.i18n import N_, _
from sockspec.serverspec.connection import Client, Exchange, converse
from sockspec.serverspec.conversation import CLOSED_AFTER_A_REPLY_HINT
from sockspec.typist import Typist

UNREAD_LINE_HINT = Hint(
    N_(
        "the server did not read the operator's line: it waits for something else first (a second line, "
        "the next message) or reads stdin out of step with its clients"
    ),
    causes=("operator-input-out-of-step",),
    general=True,
)
OPERATOR_ENDED_HINT = Hint(
    N_(
        "the server closed the connection after the operator typed a line: it takes an empty line (just "
        "Enter) for the end of input, or crashes on it (strtok() returns NULL); only end of file ends the input"
    ),
    causes=("empty-operator-line", "operator-input-out-of-step"),
    general=True,
)
READ_BUT_NOT_SENT_HINT = Hint(
    N_(
        "the server read the operator's line but sent nothing back: it waits for more input first (a "
        "getchar() after fgets(), a second line) or reads the line before the client's message"
    ),
    causes=("operator-input-out-of-step",),
)
MISDIRECTED_HINT = Hint(
    N_(
        "replies go to the wrong client: the server sends on a descriptor it shares between clients (a "
        "global variable holding the newest connection, or &fd read after the next accept()); send on "
        "each client's own socket"
    ),
    causes=("wrong-client-fd", "shared-fd-variable", "shared-buffer"),
)


class EchoReplies:
    """The server echoes: every exchange can run at once."""

    def __init__(self, reply_seconds: float) -> None:
        self.reply_seconds = reply_seconds

    def ask(self, client: Client, message: bytes) -> None:
        client.send(message)

    def expect_answer(self, client: Client, message: bytes) -> None:
        client.expect(message)

    def chat(self, client: Client, message: bytes) -> None:
        client.echo(message)

    def chat_all(self, pairs: list[tuple[Client, bytes]]) -> None:
        converse([Exchange(c, [m], m) for c, m in pairs], self.reply_seconds)


class StdinReplies:
    """The harness types each reply on the server's stdin, one line at a time.

    Exchanges are serialized: a line is typed only when exactly one message
    waits for it, so whichever process or thread reads stdin is the one
    that has that message.
    """

    def __init__(self, operator: Typist, transcript: Transcript, clients: list[Client]) -> None:
        self.operator = operator
        self.transcript = transcript
        self.clients = clients  # every client of the test, to find a reply that went astray
        self.typed: list[bytes] = []  # the lines typed so far, in order
        self._one_at_a_time = threading.RLock()

    def ask(self, client: Client, message: bytes) -> None:
        client.send(message)

    def expect_answer(self, client: Client, message: bytes, line: bytes = b"") -> None:
        """Type `line` (by default a fresh one) on the server's stdin and expect exactly it back on `client`."""
        with self._one_at_a_time:
            line = line or self.operator.next_line()
            self.operator.type_line(line)
            self.transcript.add("operator", f"typed {line.decode()!r} and Enter on the server's stdin")
            try:
                client.expect(line)
            except SpecFailure as failure:
                unread = self.operator.take_back()
                if unread:
                    failure.happened += _("; the server never read the operator's line from its stdin")
                    failure.likely_bug = failure.likely_bug or UNREAD_LINE_HINT
                self._explain_stray_reply(client, failure)
                self._weigh_the_line(failure, line, unread)
                raise
            finally:
                self.typed.append(line)

    def _weigh_the_line(self, failure: SpecFailure, line: bytes, unread: bool) -> None:
        """What the reply shows about how the server took the operator's line."""
        got = failure.received
        # The reply is the operator's line: bytes left out of it are the line's, not the stream's.
        failure.evidence = [
            ("operator-line-changed", words) if cause == "drops-bytes" else (cause, words)
            for cause, words in failure.evidence
        ]
        if got and any(got.startswith(earlier) for earlier in self.typed if earlier != line):
            failure.evidence.append(
                ("operator-input-out-of-step", _("the reply is the line typed for an earlier message"))
            )
        if 0 < len(got) < len(line) and _left_out_of(got, line):
            failure.evidence.append(("operator-line-changed", _("the reply is the typed line with bytes left out")))
        if failure.likely_bug is CLOSED_AFTER_A_REPLY_HINT:
            failure.likely_bug = OPERATOR_ENDED_HINT
        elif not got and not unread and not failure.likely_bug:
            failure.likely_bug = READ_BUT_NOT_SENT_HINT

    def _explain_stray_reply(self, asking: Client, failure: SpecFailure) -> None:
        """Exchanges are one at a time, so bytes waiting on another client are a reply gone astray."""
        for other in self.clients:
            stray = other.unread() if other is not asking else b""
            if stray:
                failure.happened += _("; meanwhile {name} got {data}, which it had not asked for").format(
                    name=other.name, data=preview(stray)
                )
                failure.likely_bug = failure.likely_bug or MISDIRECTED_HINT
                return

    def chat(self, client: Client, message: bytes) -> None:
        with self._one_at_a_time:
            self.ask(client, message)
            self.expect_answer(client, message)

    def chat_all(self, pairs: list[tuple[Client, bytes]]) -> None:
        for client, message in pairs:
            self.chat(client, message)


def _left_out_of(shorter: bytes, line: bytes) -> bool:
    """`shorter` is `line` with some of its bytes left out (in order): cut, stripped or filtered."""
    rest = iter(line)
    return all(byte in rest for byte in shorter)
