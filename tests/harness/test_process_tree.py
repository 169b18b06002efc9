"""Programs under test die with their whole tree, and never block on a full output pipe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sockspec import proc
from sockspec.process_tree import ProcessTree, describe_exit, sweep_orphans
from sockspec.signals import become_subreaper
from sockspec.timeouts import wait_for

# A parent that forks a child which calls setsid() (escaping the process group) and a
# grandchild, then sleeps; everything must die on stop().
ESCAPING = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    time.sleep(600)
time.sleep(600)
"""

# A daemon: fork, the parent exits, setsid(), fork, the session leader exits; the daemon forks a
# child and writes both pids to the file it is given.  Neither descends from the program started.
DAEMON = """
import os, sys, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
child = os.fork()
if child == 0:
    time.sleep(600)
with open(sys.argv[1] + ".new", "w") as f:
    f.write(f"{os.getpid()} {child}")
os.replace(sys.argv[1] + ".new", sys.argv[1])
time.sleep(600)
"""


def start(code: str, *args: str) -> ProcessTree:
    become_subreaper()
    return ProcessTree([sys.executable, "-c", code, *args], Path.cwd(), dict(os.environ), subprocess.DEVNULL)


def daemon_pids(tree: ProcessTree, pid_file: Path) -> set[int]:
    """Wait for the daemon of `tree` (started with DAEMON) to write its pids, and return them."""
    assert wait_for(pid_file.exists, 10), "the daemon never wrote its pids"
    return {int(pid) for pid in pid_file.read_text().split()}


def test_stop_kills_children_that_escaped_the_process_group():
    tree = start(ESCAPING)
    assert wait_for(lambda: len(tree.members()) == 3, 10), tree.members()
    members = tree.members()
    assert tree.stop(signal.SIGTERM, 2) == ""
    table = proc.process_table()
    assert not [pid for pid in members if pid in table and table[pid].state != "Z"]
    assert not [pid for pid in members if pid in table], "exited processes were not reaped"


def test_a_daemon_stays_in_its_tree_and_dies_with_it(tmp_path):
    tree = start(DAEMON, str(tmp_path / "pids"))
    daemon = daemon_pids(tree, tmp_path / "pids")
    assert daemon <= tree.members(), "a daemon re-parented to us is no longer seen as the tree's"
    tree.stop(signal.SIGTERM, 2)
    assert not daemon & proc.process_table().keys(), "the daemon outlived its tree, or was not reaped"


def test_each_tree_claims_only_its_own_daemon(tmp_path):
    trees = [start(DAEMON, str(tmp_path / f"pids{i}")) for i in range(2)]
    try:
        daemons = [daemon_pids(tree, tmp_path / f"pids{i}") for i, tree in enumerate(trees)]
        for tree, own, other in zip(trees, daemons, reversed(daemons), strict=True):
            members = tree.members()
            assert own <= members and not other & members
    finally:
        for tree in trees:
            tree.stop(signal.SIGKILL, 2)


def test_sweep_orphans_kills_daemons_of_trees_never_stopped(tmp_path):
    tree = start(DAEMON, str(tmp_path / "pids"))
    daemon = daemon_pids(tree, tmp_path / "pids")
    tree.popen.wait()
    sweep_orphans(5.0)
    assert not daemon & proc.process_table().keys(), "a daemon outlived the sweep, or was not reaped"
    tree.stop(signal.SIGKILL, 1)


def test_stop_escalates_to_sigkill_and_says_so():
    tree = start(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)"
    )
    assert wait_for(lambda: tree.output.last_lines() == ["ready"], 10)
    started = time.monotonic()
    note = tree.stop(signal.SIGTERM, 0.5)
    assert "did not exit within 0.5 s of SIGTERM; killed it" in note
    assert time.monotonic() - started < 5
    assert tree.popen.returncode == -signal.SIGKILL


def test_a_flood_of_output_never_blocks_the_program():
    # 20 MB on each stream: far beyond any pipe buffer.
    tree = start(
        "import os\n"
        "for _ in range(320):\n"
        "    os.write(1, b'o' * 65536)\n"
        "    os.write(2, b'e' * 65535 + b'\\n')\n"
        "print('end')"
    )
    assert wait_for(lambda: tree.popen.poll() is not None, 30), "the program blocked writing its output"
    tree.stop(signal.SIGTERM, 1)
    assert tree.output.total_bytes == 2 * 320 * 65536 + len("end\n")


def test_a_flood_on_stdout_does_not_push_the_last_words_on_stderr_out_of_the_log(tmp_path):
    log = tmp_path / "server.txt"
    code = "import os\nfor _ in range(64):\n    os.write(1, b'y' * 65536)\nos.write(2, b'fatal: out of descriptors\\n')"
    tree = ProcessTree([sys.executable, "-c", code], Path.cwd(), dict(os.environ), subprocess.DEVNULL, log)
    assert wait_for(lambda: tree.popen.poll() is not None, 30), "the program blocked writing its output"
    tree.stop(signal.SIGTERM, 1)
    text = log.read_bytes()
    assert b"fatal: out of descriptors" in text
    assert len(text) <= (1 << 20) + 200, "the log is not capped"


def test_exit_statuses_in_words():
    assert describe_exit(3) == "the server exited with status 3"
    assert describe_exit(-signal.SIGSEGV) == "the server was killed by SIGSEGV"
    assert "killed by SIGPIPE" in describe_exit(128 + signal.SIGPIPE)
    assert describe_exit(-9, who="the client") == "the client was killed by SIGKILL"


def test_temporary_files_of_a_program_go_with_its_tree():
    tree = start(
        "import os, tempfile, time; tempfile.mkstemp(); print(os.environ['TMPDIR'], flush=True); time.sleep(60)"
    )
    assert wait_for(tree.output.last_lines, 10), "the program never printed its TMPDIR"
    scratch = Path(tree.output.last_lines()[0])
    assert scratch.is_dir() and any(scratch.iterdir())
    tree.stop(signal.SIGTERM, 2)
    assert not scratch.exists()
