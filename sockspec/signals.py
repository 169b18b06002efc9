"""What this process does with signals and orphans while it runs programs under test.

Process-wide policy, set once before the first program starts: orphans of
our programs come back to us (a child subreaper), Ctrl-C and SIGTERM stop
this run the way Python's KeyboardInterrupt does, whatever the run was
started with, and whatever is still running at exit is stopped.
"""

from __future__ import annotations

import atexit
import ctypes
import signal
from collections.abc import Callable

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Make orphans of our programs' trees our children, so we can kill and reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: process groups still cover the common case


def take_back_ctrl_c() -> None:
    """Handle Ctrl-C (SIGINT) as Python does, also when this process was started ignoring it.

    A background job of a shell without job control (a CI step, `cmd &` in a
    script) starts with SIGINT ignored, and an ignored signal stays ignored
    across exec in every program started from here: Ctrl-C would then stop
    neither this run nor a correct server under test.  A handler, unlike an
    ignored signal, is reset to the default in a program we start.
    Call from the main thread.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def arm_cleanup(stop_all: Callable[[], None]) -> None:
    """Before the first program starts: make sure none can outlive this process.

    Orphans come back to us (subreaper), `stop_all` runs at exit, and SIGTERM
    is handled like Ctrl-C, so fixtures run their teardown and stop everything;
    the programs we start get Ctrl-C's default action (`take_back_ctrl_c`).
    """
    become_subreaper()
    atexit.register(stop_all)
    take_back_ctrl_c()
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
