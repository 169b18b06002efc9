"""Keep one running server per target across tests, and replace it when it is spoiled.

Starting a server costs more than most tests, and a correct server is not
disturbed by a test that closes its clients.  So tests share one server per
target, and the pool starts a fresh one when the last test failed, the
server died, or a reply line was left unread: one bug then fails the test
that found it, not every test after it.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from sockspec import proc, server
from sockspec.server import ServerProcess, ServerStartError
from sockspec.targets import Target
from sockspec.timeouts import Timeouts


class ServerPool:
    """Running servers, one shared per target, plus any a test asked for itself."""

    def __init__(self, host: str, timeouts: Timeouts, log_path: Path | None = None) -> None:
        self.host = host
        self.timeouts = timeouts
        self.log_path = log_path
        self._shared: dict[Target, tuple[ServerProcess, proc.TreeState]] = {}
        self._start_errors: dict[Target, ServerStartError] = {}
        self._all: list[ServerProcess] = []
        atexit.register(self.stop_all)

    def start(self, target: Target, port: int | None = None) -> tuple[ServerProcess, proc.TreeState]:
        """A new server for `target` and its state once listening."""
        process = server.start(target, self.host, self.timeouts, port=port, log_path=self.log_path)
        self._all.append(process)
        return process, process.state()

    def shared(self, target: Target) -> tuple[ServerProcess, proc.TreeState]:
        """The shared server of `target`, started (again) if needed.

        A target that failed to start is not tried again: every test gets
        the same reason at once instead of waiting for the start deadline.
        """
        if target in self._start_errors:
            raise self._start_errors[target]
        current = self._shared.get(target)
        if current is not None and current[0].alive() and current[0].is_listening():
            return current
        if current is not None:
            self.discard(target)
        try:
            self._shared[target] = self.start(target)
        except ServerStartError as error:
            self._start_errors[target] = error
            raise
        return self._shared[target]

    def discard(self, target: Target) -> None:
        """Stop the shared server of `target`; the next test gets a fresh one."""
        current = self._shared.pop(target, None)
        if current is not None:
            self.stop(current[0])

    def stop(self, process: ServerProcess) -> str:
        if process in self._all:
            self._all.remove(process)
            return process.stop()
        return ""

    def stop_all(self) -> None:
        self._shared.clear()
        for process in list(self._all):
            self.stop(process)
