"""A client-spec failure, in the layout of `sockspec.report` with the client in the server's place.

    BEHAVIOUR, DID, EXPECTED, HAPPENED, NOTE, LIKELY BUG, TRANSCRIPT   as for servers
    CLIENT      how the client ended (exit status, signal), or its state and CPU use
    STDOUT      the client's last lines of stdout
    STDERR      the client's last lines of stderr
    REPRODUCE   one command that runs just this test again

This module only words the signal hints for a client.
"""

from __future__ import annotations

import signal

from sockspec import report
from sockspec.failure import SpecFailure

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
    return report.render(
        behaviour=behaviour,
        did=did,
        failure=failure,
        likely_bug=likely_bug,
        note=note,
        transcript=transcript,
        program_line=client,
        outputs={"STDOUT": stdout, "STDERR": stderr},
        reproduce=reproduce,
        exit_description=client,
        program="CLIENT",
        signal_hints=SIGNAL_HINTS,
    )
