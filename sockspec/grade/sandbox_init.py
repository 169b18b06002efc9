"""The first process inside a submission's sandbox: confine the job, set up the network, then run.

`sandbox.py` starts this module (`python -I -m sockspec.grade.sandbox_init
CONFIG.json`), usually as PID 1 of fresh PID, mount, IPC and network
namespaces.  It stays privileged there; only the submission's own programs
are dropped, by `confine`.  In order, it:

1. joins the job's cgroups, before anything can fork, so every later
   process is counted and capped;
2. brings the namespace's `lo` up and gives it the submission's hard-coded
   addresses (with `lo` down, bind() to any address succeeds but nothing
   can connect, so this must come first); to probe a client, it leaves no
   address local instead and routes everything into `lo`, so a connect()
   to any IPv4 address stays pending where it can be seen;
3. sets resource limits (RLIMIT_NPROC counts the processes of the job's
   own uid; root, which runs the harness, is not held to it);
4. makes the submission's working folder: a fresh copy of it on a
   size-capped tmpfs of the job's own, owned by the job's uid;
5. *builds* it (the compiler, confined), *probes* it (starts the program,
   confined, watches which address it listens on or a client connects to,
   kills it and writes what it saw as JSON), or *runs* a command (the spec)
   as its child, reaping orphans like an init until it ends.

As PID 1 its exit takes every process of the namespace with it, whatever
they did (setsid(), double fork): the kernel kills them all.

A failure of this module itself is the grader's, not the submission's: its
traceback goes to the config's `fault` file, which `sandbox.py` turns into
an internal error of the grader, unless the job ran out of processes or
memory while the submission ran, which is the submission's doing.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from sockspec import i18n, proc, tcp
from sockspec.i18n import _
from sockspec.output import OutputTail
from sockspec.process_tree import describe_exit
from sockspec.timeouts import wait_for

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891C
SIOCADDRT = 0x890B
IFF_UP = 0x1
RTF_UP = 0x1
PID_MAX_MIN = 301  # the kernel refuses less
BUILD_OUTPUT_CAP = 1 << 20  # bytes kept of what the compiler says
FAULT_STATUS = 70  # EX_SOFTWARE: this module failed, see the fault file


def join_cgroups(procs_files: list[str]) -> None:
    for path in procs_files:
        with open(path, "w") as f:
            f.write("0")  # "0" is the writing process itself, whatever its pid namespace


def _ifreq_flags(name: str, flags: int = 0) -> bytes:
    return struct.pack("16sH22s", name.encode(), flags, b"")


def _ifreq_address(name: str, address: str) -> bytes:
    return struct.pack("16sH2s4s8s", name.encode(), socket.AF_INET, b"", socket.inet_aton(address), b"")


def network_up(addresses: list[str]) -> None:
    """Bring `lo` up and add each address to it as a /32, as `ip link set lo up; ip addr add A/32 dev lo`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH22s", fcntl.ioctl(s, SIOCGIFFLAGS, _ifreq_flags("lo")))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, _ifreq_flags("lo", flags | IFF_UP))
        for index, address in enumerate(addresses):
            if address.startswith("127."):
                continue  # all of 127.0.0.0/8 is local once lo is up
            label = f"lo:{index}"  # an alias label adds an address instead of replacing 127.0.0.1
            fcntl.ioctl(s, SIOCSIFADDR, _ifreq_address(label, address))
            fcntl.ioctl(s, SIOCSIFNETMASK, _ifreq_address(label, "255.255.255.255"))


class _Sockaddr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("data", ctypes.c_char * 14)]


class _RouteEntry(ctypes.Structure):
    """struct rtentry of <net/route.h>, for SIOCADDRT (ctypes lays it out for this machine's ABI)."""

    _fields_ = [
        ("pad1", ctypes.c_ulong), ("dst", _Sockaddr), ("gateway", _Sockaddr), ("genmask", _Sockaddr),
        ("flags", ctypes.c_ushort), ("pad2", ctypes.c_short), ("pad3", ctypes.c_ulong), ("pad4", ctypes.c_void_p),
        ("metric", ctypes.c_short), ("dev", ctypes.c_char_p), ("mtu", ctypes.c_ulong), ("window", ctypes.c_ulong),
        ("irtt", ctypes.c_ushort),
    ]  # fmt: skip


def network_pending() -> None:
    """Make every IPv4 connect() stay pending: `lo` up without 127.0.0.1, and a default route into it,
    as `ip link set lo up; ip addr del 127.0.0.1/8 dev lo; ip route add default dev lo`.

    No address is local, so nothing answers a SYN, with a reset or otherwise; the route means no
    connect() fails at once with "network unreachable".  A client's socket then waits in SYN_SENT
    with the address it asked for, 127.0.0.1 or a hard-coded one, in /proc/net/tcp."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH22s", fcntl.ioctl(s, SIOCGIFFLAGS, _ifreq_flags("lo")))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, _ifreq_flags("lo", flags | IFF_UP))
        fcntl.ioctl(s, SIOCSIFADDR, _ifreq_address("lo", "0.0.0.0"))  # 0.0.0.0 deletes the address
        anywhere = _Sockaddr(socket.AF_INET)
        route = _RouteEntry(dst=anywhere, genmask=anywhere, flags=RTF_UP, dev=b"lo")
        fcntl.ioctl(s, SIOCADDRT, bytes(route))  # `route` keeps b"lo", which the kernel reads, alive


def set_pid_max(value: int) -> bool:
    """Cap the pids of our PID namespace (its own kernel.pid_max since Linux 6.14); False if not possible."""
    if os.getpid() != 1:
        return False  # outside a PID namespace this would be the whole machine's setting
    try:
        with open("/proc/sys/kernel/pid_max", "w") as f:
            f.write(str(max(value, PID_MAX_MIN)))
    except OSError:
        return False
    return True


def set_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))


def prepare_box(staged: str, box: str, size: int | None, uid: int | None) -> None:
    """The submission's working folder `box` (which exists, its uid's alone): a fresh copy of
    `staged`, on a tmpfs of `size` bytes of our own mount namespace (None: no namespace of ours,
    the folder itself), owned by `uid` (None: by us, which its user namespace maps it to)."""
    if size is not None:
        options = f"size={size},mode=0700" + (f",uid={uid},gid={uid}" if uid is not None else "")
        mount = ["mount", "-t", "tmpfs", "-o", options, "sockspec-box", box]
        done = subprocess.run(mount, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"cannot mount the working folder's tmpfs: {done.stderr.strip() or done.returncode}")
    else:
        for entry in Path(box).iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    shutil.copytree(staged, box, symlinks=True, dirs_exist_ok=True)
    if uid is not None:
        for path in Path(box).rglob("*"):
            os.chown(path, uid, uid, follow_symlinks=False)


def kill_namespace() -> None:
    """Kill every other process of our PID namespace and reap them (only ever as its PID 1)."""
    if os.getpid() != 1:
        raise RuntimeError("kill_namespace outside a PID namespace would signal the whole machine")
    while True:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _reap_orphans(keep: int) -> None:
    """As PID 1, collect orphans that died, but never `keep` (subprocess waits for that one)."""
    me = os.getpid()
    for stat in proc.process_table().values():
        if stat.ppid == me and stat.state == "Z" and stat.pid != keep:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(stat.pid, os.WNOHANG)


def probe(argv: list[str], cwd: str, env: dict[str, str], seconds: float, role: str = "server") -> dict[str, Any]:
    """Start the program, wait until something in this namespace listens (a server) or connects (a
    client, its connect() pending: see `network_pending`), and say where."""
    stdin_read, stdin_write = os.pipe()  # kept open and silent: a read of stdin blocks, as at a terminal
    output_read, output_write = os.pipe()
    output = OutputTail()
    # The reader thread starts before the program: a fork bomb leaves no room for a thread afterwards.
    output.drain(output_read)
    try:
        popen = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin_read, stdout=output_write, stderr=output_write)
    except OSError as error:
        cannot = _("cannot run {program}: {error}").format(program=argv[0], error=error.strerror)
        return {"listening": [], "connecting": [], "exit": cannot, "output": [], "output_bytes": 0}
    finally:
        os.close(stdin_read)
        os.close(output_write)
    seen: dict[str, list[tuple[str, int]]] = {"listening": [], "connecting": []}

    def found() -> bool:
        sockets = tcp.tcp_sockets()
        seen["listening"] = [s.local for s in sockets if s.state == tcp.TCP_LISTEN]
        seen["connecting"] = [s.remote for s in sockets if s.state == tcp.TCP_SYN_SENT and s.remote[1] != 0]
        if seen["listening" if role == "server" else "connecting"]:
            return True
        _reap_orphans(keep=popen.pid)
        others = [s for s in proc.process_table().values() if s.pid != os.getpid() and s.state not in ("Z", "X")]
        return popen.poll() is not None and not others  # everything ended, and nothing was found

    wait_for(found, seconds)
    code = popen.poll()
    running = code is None
    kill_namespace()
    os.close(stdin_write)
    output.finish(timeout=1.0)
    return {
        "listening": [list(address) for address in seen["listening"]],
        "connecting": [list(address) for address in seen["connecting"]],
        "exit": "" if running or code is None else describe_exit(code, f"the {role}"),
        "running": running,
        "output": output.last_lines(),
        "output_bytes": output.total_bytes,
    }


def build(
    argv: list[str], cwd: str, env: dict[str, str], seconds: float, output_path: str, collect: list[str]
) -> dict[str, Any]:
    """Run the compiler (`argv`, confined), its messages to `output_path`: did it succeed in time?
    The binary it made, `collect[0]` in the box (which goes with our namespace), is copied to
    `collect[1]`, if it is a regular file."""
    with open(output_path, "wb") as out:
        popen = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        try:
            status: int | None = popen.wait(seconds)
        except subprocess.TimeoutExpired:
            status = None
    if os.getpid() == 1:
        kill_namespace()  # what the compiler's run left behind, a daemon of a Makefile's, say
    elif status is None:
        popen.kill()
        popen.wait()
    if os.path.getsize(output_path) > BUILD_OUTPUT_CAP:
        os.truncate(output_path, BUILD_OUTPUT_CAP)
    made, target = Path(collect[0]), Path(collect[1])
    if status == 0 and made.is_file() and not made.is_symlink():
        shutil.copyfile(made, target)
        target.chmod(0o755)
    return {"status": status, "timed_out": status is None}


def run_as_init(argv: list[str], cwd: str, env: dict[str, str], stdout_path: str) -> int:
    """Run `argv` as our child and reap every orphan until it ends; return its status as a shell would."""
    with open(stdout_path, "wb") as out, open(os.devnull, "rb") as devnull:
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdin=devnull, stdout=out, stderr=subprocess.STDOUT)
    while True:
        pid, status = os.wait()
        if pid == child.pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def exec_command(argv: list[str], cwd: str, env: dict[str, str], stdout_path: str) -> None:
    """Without a PID namespace there is no init to be: become the command itself."""
    out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.chdir(cwd)
    os.execve(argv[0], argv, env)


def _confined(config: dict[str, Any]) -> list[str]:
    """The prefix that runs the submission's programs (see `confine`)."""
    return json.loads(Path(config["confine"]).read_text()) if config.get("confine") else []


def set_up(config: dict[str, Any]) -> None:
    """Steps 1 to 4 of the module docstring."""
    join_cgroups(config.get("cgroups", []))
    if config.get("network") is not None:
        network_up(config["network"])
    elif config.get("mode") == "probe" and config.get("role") == "client":
        network_pending()
    if config.get("pid_max") and not set_pid_max(config["pid_max"]):
        raise RuntimeError("cannot set the PID namespace's pid_max")
    set_limits(config.get("rlimits", {}))
    if config.get("box"):
        box = config["box"]
        prepare_box(box["staged"], box["path"], box["bytes"], box["uid"])


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text())
    i18n.use(config.get("lang", i18n.ENGLISH))
    fault = Path(config["fault"]) if config.get("fault") else None
    phase = "setting up the sandbox"
    try:
        set_up(config)
        phase = f"running the submission ({config['mode']})"
        mode, command = config["mode"], config["argv"]
        if mode == "probe":
            result = probe([*_confined(config), *command], config["cwd"], config["env"], config["seconds"],
                           config.get("role", "server"))  # fmt: skip
            Path(config["result"]).write_text(json.dumps(result))
            return 0
        if mode == "build":
            result = build([*_confined(config), *command], config["cwd"], config["env"], config["seconds"],
                           config["stdout"], config["collect"])  # fmt: skip
            Path(config["result"]).write_text(json.dumps(result))
            return 0
        if os.getpid() == 1:
            return run_as_init(command, config["cwd"], config["env"], config["stdout"])
        exec_command(command, config["cwd"], config["env"], config["stdout"])
        return 127  # not reached
    except BaseException as error:
        if fault is None or isinstance(error, SystemExit):
            raise
        fault.write_text(json.dumps({"phase": phase, "traceback": traceback.format_exc()}))
        return FAULT_STATUS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
