"""Start and stop the servers of a run, and remember what each target has shown.

Every test gets a server of its own, started for it and stopped after it:
a bug that one test provokes (a crash, a leaked child, a stale reply line)
can then never fail another test, and a grade does not depend on the order
tests ran in.  To keep that cheap, the next test's server is started in the
background while the current test runs (a spare), so a test never waits for
an interpreter to start.  What the pool remembers across tests is only what
makes a run against a broken server short: a target that cannot start is
not started again, and a target that missed a deadline gets shorter ones.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sockspec.process_tree import sweep_orphans
from sockspec.serverspec import launch
from sockspec.serverspec.launch import ServerProcess, ServerStartError
from sockspec.signals import arm_cleanup
from sockspec.targets import Target
from sockspec.timeouts import Patience, Timeouts

# Spares kept starting ahead of the tests: an interpreter takes about 0.1-0.2 s to start and many
# tests take less, so with one spare a run of short tests would wait for most of each start.
SPARES = 3
# A server that takes longer than this to listen gets MAX_SPARES spares starting at once, so a
# slow start (a JVM, a server that sleeps first) is paid once per MAX_SPARES tests, not per test.
SLOW_START = 0.5
MAX_SPARES = 5


class ServerPool:
    """The running servers of this pytest process, and what each target has shown so far."""

    def __init__(
        self, host: str, timeouts: Timeouts, log_path: Path | None = None, fixed_port: int | None = None
    ) -> None:
        self.host = host
        self.fixed_port = fixed_port  # a server that always listens there gets no port of ours
        self.timeouts = timeouts
        self.log_path = log_path
        self._start_errors: dict[Target, ServerStartError] = {}
        self._patience: dict[Target, Patience] = {}
        self._running: list[ServerProcess] = []
        self._spares: dict[Target, deque[Future[ServerProcess]]] = {}
        self._starter = ThreadPoolExecutor(max_workers=MAX_SPARES, thread_name_prefix="sockspec-spare")
        self._start_seconds: dict[Target, float] = {}  # how long the target's last server took to listen
        self._lock = threading.Lock()
        self.stop_notes: list[str] = []  # servers that had to be killed, for the run's summary
        self._armed = False

    def patience(self, target: Target) -> Patience:
        return self._patience.setdefault(target, Patience(self.timeouts))

    def start(self, target: Target, port: int | None = None) -> ServerProcess:
        """A new server for `target`, listening (on `port` if given).

        A target that failed to start twice in a row is not tried again
        (unless on a given port): every later test gets the same reason at
        once, as an error of its own, instead of waiting for the start
        deadline again.  Once is not enough: a start can fail for a reason
        that passes (a machine too loaded for a moment).
        """
        if port is None and target in self._start_errors:
            known = self._start_errors[target]
            raise ServerStartError(known.reason, known.output)
        self._arm()
        if port is not None or self.fixed_port is not None:
            process = self._launch(target, port or self.fixed_port)
        else:
            spares = self._spares.setdefault(target, deque())
            try:
                process = spares.popleft().result() if spares else self._launch(target, None)
            except ServerStartError:
                try:
                    process = self._launch(target, None)
                except ServerStartError as again:
                    self._start_errors[target] = again
                    raise ServerStartError(again.reason, again.output) from None
            # A server that takes long to start gets several spares starting at once.
            wanted = SPARES if self._start_seconds.get(target, 0.0) < SLOW_START else MAX_SPARES
            while len(spares) < wanted:
                spares.append(self._starter.submit(self._launch, target, None))
        process.timeouts = self.patience(target).current()
        return process

    def preflight(self, target: Target) -> None:
        """Start `target` now (raising ServerStartError if it cannot start); the first test gets it."""
        self._arm()
        spare: Future[ServerProcess] = Future()
        spare.set_result(self._launch(target, self.fixed_port))
        if self.fixed_port is None:
            self._spares[target] = deque([spare])
        else:
            self.stop(spare.result())  # one server at a time on a fixed port

    def _launch(self, target: Target, port: int | None) -> ServerProcess:
        began = time.monotonic()
        process = launch.start(target, self.host, self.timeouts, port=port, log_path=self.log_path)
        with self._lock:
            self._running.append(process)
            self._start_seconds[target] = time.monotonic() - began
        return process

    def _arm(self) -> None:
        """Before the first server starts: make sure no server can outlive this process."""
        if not self._armed:
            self._armed = True
            arm_cleanup(self.stop_all)

    def stop(self, process: ServerProcess) -> None:
        with self._lock:
            if process in self._running:
                self._running.remove(process)
        note = process.stop()
        if note:
            self.stop_notes.append(f"{process.target.impl}: {note}")

    def stop_all(self) -> None:
        """Stop every server, spares included (waiting for any still starting)."""
        self._starter.shutdown(wait=True, cancel_futures=True)
        self._spares.clear()
        with self._lock:
            running = list(self._running)
        for process in running:
            self.stop(process)
        if self._armed:
            sweep_orphans(self.timeouts.sweep)
