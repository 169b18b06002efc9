"""What the kernel says about the server under test, read from /proc.

The spec checks the *model* of a server (one child per client, one thread per
client, no zombies, no leaked descriptors, no spinning) by looking at the
process from the outside, the way a student would with `ps` and `ls
/proc/PID/fd`.  Everything here is a plain read of /proc at one instant:
callers that need a condition to hold poll it against a deadline.
"""

from __future__ import annotations

import array
import fcntl
import os
import platform
import resource
import termios
from collections.abc import Iterable
from dataclasses import dataclass, field

from sockspec.i18n import _, ngettext

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The few fields of /proc/PID/stat the spec needs."""

    pid: int
    name: str
    state: str  # R, S, D, Z, T, ...
    ppid: int
    pgid: int
    sid: int  # session: kept by every descendant that does not call setsid()
    cpu_ticks: int  # utime + stime of the process itself (all its threads)


def _read_small(path: str) -> str | None:
    """A short /proc file in one read (os.read: a third of the cost of open(), and the
    whole process table is read this way many times a second while a test waits)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, ProcessLookupError):
        return None
    try:
        return os.read(fd, 4096).decode("ascii", "replace")
    except ProcessLookupError:
        return None
    finally:
        os.close(fd)


def read_stat(pid: int) -> ProcStat | None:
    """The process's stat line, or None if it no longer exists."""
    raw = _read_small(f"/proc/{pid}/stat")
    if raw is None:
        return None
    # The name is in parentheses and may itself contain spaces or ')'.
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    state = fields[0]
    if state == "Z" and (live := _live_thread(pid)):
        state = live[1]
    return ProcStat(
        pid=pid,
        name=name,
        state=state,
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        sid=int(fields[3]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
    )


def _live_thread(pid: int) -> tuple[int, str] | None:
    """A thread of `pid` that still runs, and its state, when its main thread has exited.

    A main thread may end with pthread_exit() and leave the others serving:
    /proc/PID/stat then says Z and /proc/PID/fd is empty, while the process
    lives on in its other threads, which hold its descriptors.
    """
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return None
    for tid in tids:
        raw = _read_small(f"/proc/{pid}/task/{tid}/stat") if tid != str(pid) else None
        if raw is not None and raw[raw.rindex(")") + 2] not in "ZX":
            return int(tid), raw[raw.rindex(")") + 2]
    return None


def process_table() -> dict[int, ProcStat]:
    """Every process visible in /proc, by pid."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                table[stat.pid] = stat
    return table


def children(pid: int, table: dict[int, ProcStat]) -> list[ProcStat]:
    """Direct children of `pid`, zombies included."""
    return [s for s in table.values() if s.ppid == pid]


def descendants(pid: int, table: dict[int, ProcStat]) -> list[ProcStat]:
    """All processes below `pid`, breadth first, zombies included."""
    by_parent: dict[int, list[ProcStat]] = {}
    for stat in table.values():
        by_parent.setdefault(stat.ppid, []).append(stat)
    found: list[ProcStat] = []
    frontier = [pid]
    while frontier:
        below = [s for p in frontier for s in by_parent.get(p, [])]
        found.extend(below)
        frontier = [s.pid for s in below]
    return found


def thread_count(pid: int) -> int:
    """Number of threads of a live process (0 if it is gone)."""
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except (FileNotFoundError, ProcessLookupError):
        return 0


SWITCH_FIELDS = ("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")  # in /proc/PID/task/TID/status


def context_switches(pids: Iterable[int]) -> dict[int, int]:
    """How often each thread of `pids` has been switched out so far, by thread id.

    A thread blocked in accept() or recv() is not switched at all while
    nothing happens; one that polls (sleeps a millisecond and tries again)
    is switched once per wake-up, however little CPU each costs.
    """
    counts = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for tid in tids:
            status = _read_small(f"/proc/{pid}/task/{tid}/status")
            if status is not None:
                counts[int(tid)] = sum(
                    int(line.split()[1]) for line in status.splitlines() if line.startswith(SWITCH_FIELDS)
                )
    return counts


def is_live(pid: int) -> bool:
    """The process exists and has not exited (a zombie has)."""
    stat = read_stat(pid)
    return stat is not None and stat.state not in ("Z", "X")


def threads_all_sleeping(pid: int) -> bool:
    """True if every thread of `pid` is blocked (state S), as in accept() or recv()."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return False
    for tid in tids:
        raw = _read_small(f"/proc/{pid}/task/{tid}/stat")
        if raw is None:
            continue  # the thread ended while we looked
        state = raw[raw.rindex(")") + 2]
        exited_main_thread = state == "Z" and tid == str(pid)  # see _live_thread: it waits for nothing
        if state != "S" and not exited_main_thread:
            return False
    return True


# The system calls a thread sits blocked in when it waits on one socket: accept, recv, send and the
# read/write family, by number on the machines sockspec runs on.
SOCKET_WAITS = {
    "x86_64": {0: "read", 1: "write", 19: "readv", 20: "writev", 43: "accept", 44: "sendto", 45: "recvfrom",
               46: "sendmsg", 47: "recvmsg", 288: "accept4"},
    "aarch64": {63: "read", 64: "write", 65: "readv", 66: "writev", 202: "accept", 206: "sendto",
                207: "recvfrom", 211: "sendmsg", 212: "recvmsg", 242: "accept4"},
}  # fmt: skip


def threads_waiting_on_sockets(pid: int) -> list[str] | None:
    """The calls (accept, recv, ...) that threads of `pid` sit blocked in, each on one of its sockets:
    one per thread so blocked.  A thread that waits for whichever socket is ready (select, poll,
    epoll_wait) or for a lock is not counted.  None where /proc cannot tell (another machine, or
    the process's system calls may not be read)."""
    calls = SOCKET_WAITS.get(platform.machine())
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return []
    if calls is None:
        return None
    sockets = {fd for fd, target in fd_targets(pid).items() if target.startswith("socket:[")}
    waiting = []
    for tid in tids:
        raw = _read_small(f"/proc/{pid}/task/{tid}/stat")
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                fields = f.read().split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended while we looked
        except PermissionError:
            return None
        if raw is None or raw[raw.rindex(")") + 2] != "S" or len(fields) < 2 or not fields[0].isdigit():
            continue
        call = calls.get(int(fields[0]))
        if call and int(fields[1], 16) in sockets:
            waiting.append(call)
    return waiting


def fd_targets(pid: int) -> dict[int, str]:
    """Open descriptors of a process and what each points to."""
    targets = {}
    folder = f"/proc/{pid}/fd"
    try:
        entries = os.listdir(folder)
        if not entries and (live := _live_thread(pid)):
            folder = f"/proc/{pid}/task/{live[0]}/fd"  # its main thread exited (see _live_thread)
            entries = os.listdir(folder)
    except (FileNotFoundError, ProcessLookupError):
        return {}
    for entry in entries:
        try:
            targets[int(entry)] = os.readlink(f"{folder}/{entry}")
        except (FileNotFoundError, ProcessLookupError):
            continue  # closed while we looked
    return targets


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process holds open."""
    return {int(target[len("socket:[") : -1]) for target in fd_targets(pid).values() if target.startswith("socket:[")}


def unread_bytes(fd: int) -> int:
    """Bytes waiting to be read on `fd`, a socket or a pipe of ours (FIONREAD)."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def unsent_bytes(fd: int) -> int:
    """Bytes written to socket `fd` of ours that the peer has not yet acknowledged (SIOCOUTQ)."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.TIOCOUTQ, count)
    return count[0]


@dataclass(frozen=True)
class TreeState:
    """The server process and what hangs below it, at one instant."""

    pid: int
    alive: bool
    state: str
    threads: int
    fds: int
    children: tuple[int, ...] = ()  # live (non-zombie) direct children
    zombies: tuple[int, ...] = ()  # direct children that exited and were not reaped
    descendants: tuple[int, ...] = ()  # every live process below the server
    cpu_ticks: int = 0  # server plus live descendants
    mappings: int = 0  # memory areas of the server process
    fd_list: dict[int, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One line a student can compare with `ps` and `ls /proc/PID/fd`."""
        if not self.alive:
            return _("pid {pid}: no longer running").format(pid=self.pid)
        count = len(self.zombies)
        if self.zombies:
            zombies = ngettext("{count} zombie ({pids})", "{count} zombies ({pids})", count)
        else:
            zombies = ngettext("{count} zombie", "{count} zombies", count)
        return _("pid {pid} (state {state}), {children}, {zombies}, {threads}, {fds}").format(
            pid=self.pid,
            state=self.state,
            children=ngettext("{count} child process", "{count} child processes", len(self.children)).format(
                count=len(self.children)
            ),
            zombies=zombies.format(count=count, pids=pids(self.zombies)),
            threads=ngettext("{count} thread", "{count} threads", self.threads).format(count=self.threads),
            fds=ngettext("{count} open fd", "{count} open fds", self.fds).format(count=self.fds),
        )


def pids(numbers: tuple[int, ...] | list[int], shown: int = 6) -> str:
    """A list of process ids, shortened when long: '41, 42, 43, ... (26 in all)'."""
    listed = ", ".join(map(str, numbers[:shown]))
    if len(numbers) <= shown:
        return listed
    return _("{listed}, ... ({count} in all)").format(listed=listed, count=len(numbers))


def ancestors(pid: int, table: dict[int, ProcStat]) -> set[int]:
    """The parent of `pid`, its parent, and so on."""
    found: set[int] = set()
    parent = table[pid].ppid if pid in table else 0
    while parent in table and parent not in found:
        found.add(parent)
        parent = table[parent].ppid
    return found


def memory_mappings(pid: int) -> int:
    """How many memory areas the process has mapped (a thread never joined keeps its stack's)."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            return f.read().count(b"\n")
    except (FileNotFoundError, ProcessLookupError):
        return 0


def tree_state(pid: int, adopted: set[int] | frozenset[int] = frozenset()) -> TreeState:
    """Snapshot of the server process `pid` and the processes it started.

    `adopted` are processes the server started that are no longer below it:
    a double fork re-parents the grandchild that serves a client to a
    subreaper.  They count as its children, since they serve its clients.
    """
    table = process_table()
    me = table.get(pid)
    if me is None or me.state in ("Z", "X"):
        return TreeState(pid=pid, alive=False, state=me.state if me else "-", threads=0, fds=0)
    kids = children(pid, table)
    below = {s.pid: s for s in descendants(pid, table) if s.state not in ("Z", "X")}
    strays = [table[p] for p in adopted if p in table and p not in below and table[p].state not in ("Z", "X")]
    for stray in strays:
        below[stray.pid] = stray
        below.update((s.pid, s) for s in descendants(stray.pid, table) if s.state not in ("Z", "X"))
    fd_list = fd_targets(pid)
    return TreeState(
        pid=pid,
        alive=True,
        state=me.state,
        threads=thread_count(pid),
        fds=len(fd_list),
        children=tuple(s.pid for s in [*kids, *strays] if s.state not in ("Z", "X")),
        zombies=tuple(s.pid for s in kids if s.state == "Z"),
        descendants=tuple(below),
        cpu_ticks=me.cpu_ticks + sum(s.cpu_ticks for s in below.values()),
        mappings=memory_mappings(pid),
        fd_list=fd_list,
    )


def environment_value(pid: int, name: str) -> str | None:
    """The value of `name` in the environment `pid` was started with; None if unset or unreadable.

    It is what the process got from its parent (the kernel shows the strings
    it was exec()ed with, which forked children share), so a process's
    environment tells which program started it even after it left that
    program's tree.  A zombie, or another user's process, shows nothing.
    """
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:  # gone, or not ours to read
        return None
    prefix = f"{name}=".encode()
    for item in raw.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode("utf-8", "replace")
    return None


def holders_of(inode: int, pids: list[int]) -> list[int]:
    """Which of `pids` hold the socket `inode` open."""
    return [pid for pid in pids if inode in socket_inodes(pid)]


def holders_anywhere(inodes: set[int]) -> set[int]:
    """Every process of the machine holding one of the sockets `inodes`, of those we may look into
    (another user's descriptors, or init's, are closed to us)."""
    found = set()
    for pid in process_table():
        try:
            if socket_inodes(pid) & inodes:
                found.add(pid)
        except PermissionError:
            continue
    return found


def open_files_limit(pid: int) -> int | None:
    """How many descriptors `pid` may hold open (its soft RLIMIT_NOFILE); None if unreadable or
    unlimited.  A server inherits the limit of whoever started it."""
    raw = _read_small(f"/proc/{pid}/limits")
    for line in (raw or "").splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files") :].split()[0]
            return int(soft) if soft.isdigit() else None
    return None


def raise_open_files(wanted: int) -> int:
    """Raise this process's soft limit on open files to `wanted` if the hard limit allows (never
    lower it); return the soft limit now.  Programs started later inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft
