"""A client-spec failure, in the layout of `sockspec.report` with the client in the server's place.

    BEHAVIOUR, DID, EXPECTED, HAPPENED, NOTE, LIKELY BUG, TRANSCRIPT   as for servers
    CLIENT      how the client ended (exit status, signal), or its state and CPU use
    STDOUT      the client's last lines of stdout
    STDERR      the client's last lines of stderr
    REPRODUCE   one command that runs just this test again

`report.render` names its program SERVER, merges its output streams and
words its signal hints for servers; until it takes those as parameters,
this module lays the same fields out with its helpers.
"""

from __future__ import annotations

import signal

from sockspec.failure import SpecFailure
from sockspec.report import _block, _field

SIGNAL_HINTS = {
    signal.SIGPIPE: "the client wrote to a connection the server had reset and was killed by SIGPIPE: ignore "
    "SIGPIPE (signal(SIGPIPE, SIG_IGN)) or send with MSG_NOSIGNAL, and treat a failed send() or recv() as "
    "'the server is gone'",
    signal.SIGSEGV: "the client crashed with a memory error: a buffer overflow, e.g. recv() given a length "
    "larger than its buffer (the seed's strlen(buf) - 1 of an empty buffer is huge)",
    signal.SIGABRT: "the client aborted: often the C library detecting a buffer overflow ('stack smashing "
    "detected': recv() wrote past the end of its buffer) or a double free",
    signal.SIGBUS: "the client crashed with a memory error",
}


def signal_hint(client: str) -> str:
    if "killed" not in client:
        return ""
    return next((hint for sig, hint in SIGNAL_HINTS.items() if sig.name in client), "")


def render(
    *,
    behaviour: str,
    did: str,
    failure: SpecFailure,
    likely_bug: str,
    note: str,
    transcript: list[str],
    client: str,
    stdout: list[str],
    stderr: list[str],
    reproduce: str,
) -> str:
    """The whole failure message, as plain text."""
    hints = [signal_hint(client), failure.likely_bug, likely_bug]
    lines = [
        *_field("BEHAVIOUR", behaviour),
        *_field("DID", did),
        *_field("EXPECTED", failure.expected),
        *_field("HAPPENED", failure.happened),
        *(_field("NOTE", note) if note else []),
        *_field("LIKELY BUG", "; or ".join(dict.fromkeys(h for h in hints if h)) or "see the transcript"),
        *_block("TRANSCRIPT", transcript),
        *_field("CLIENT", client),
        *_block("STDOUT", stdout),
        *_block("STDERR", stderr),
        f"{'REPRODUCE':<11} {reproduce}",
    ]
    return "\n".join(lines)
