"""Connect: when no server listens, the client says so on stderr and exits with a non-zero status, at once.

Seed section 5.1: `if (ret < 0) { perror("connect"); return -1; }`: the
the notes' client gets this right.  A client must not retry forever, wait for input
first, or report the failure as if all went well.
"""

from __future__ import annotations

import pytest

from sockspec.i18n import N_, _

pytestmark = pytest.mark.behaviour(
    "connect: a refused connection is reported on stderr with a non-zero exit status", notes="§5.1 connect()"
)


@pytest.mark.likely_bug(
    'when connect() fails the client must report it on stderr (perror("connect")) and exit with a '
    "non-zero status (return 1), not retry forever, carry on, or print to stdout and return 0",
    causes=("connect-error-unreported",),
)
def test_connection_refused(client):
    """Nothing listens on the address the client is given (its connection is refused): without any input,
    the client must print a message on stderr and exit with a non-zero status within the connect deadline."""
    client.start(listening=False)
    client.expect_exit(_("after its connection was refused"), status="nonzero", seconds=client.timeouts.connect)
    client.expect_message(
        _("why it cannot connect"),
        stderr_only=True,
        hint=N_('print the reason on stderr: perror("connect") or fprintf(stderr, ...), not printf()'),
    )
