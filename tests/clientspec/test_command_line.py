"""The client half as a user meets it: exit statuses, one-line errors, failure messages, results, cleanup."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import uuid

import pytest

from tests.harness.conftest import ROOT, interrupt_run, run_pytest

CORPUS = ROOT / "tests" / "corpus" / "clients"
SILENT = "tests/corpus/clients/buggy/silent_on_close.py"
HEADINGS = ("BEHAVIOUR", "DID", "EXPECTED", "HAPPENED", "LIKELY BUG", "TRANSCRIPT", "CLIENT", "STDOUT", "STDERR")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--client", "no/such/client.c"], "no such file"),
        (["--client", "no_such_module"], "no such module"),
        (["--client", "cmd:"], "needs a command"),
        (["--client", "reference.client", "--client-address", "nonsense"], "must be HOST:PORT"),
        (["--client", "reference.client", "--client-address", "127.0.0.1:19999", "-n", "2"], "cannot be combined"),
        (["--client", "reference.client", "--client-address", "198.51.100.7:19999"], "network namespace"),
        (["--client", "cmd:exit 3"], "exited with status 3 without connecting"),
    ],
)
def test_bad_input_is_one_line_with_status_4(args, message):
    done = run_pytest(*args, "spec/client", "-q")
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.startswith("ERROR: sockspec: ") and "Traceback" not in done.stderr + done.stdout
    assert message in done.stderr


def test_a_client_that_does_not_compile_is_one_line(tmp_path):
    source = tmp_path / "client.c"
    source.write_text("int main(void) { return missing; }\n")
    done = run_pytest("--client", str(source), "spec/client", "-q")
    assert done.returncode == 4 and "does not compile" in done.stderr, done.stderr


def test_a_client_that_connects_elsewhere_is_told_where():
    with socket.create_server(("127.0.0.1", 0)) as elsewhere:
        port = elsewhere.getsockname()[1]
        program = f"import socket, time; s = socket.create_connection(('127.0.0.1', {port})); time.sleep(600)"
        client = f"cmd:exec {sys.executable} -c {shlex.quote(program)}"
        done = run_pytest("--client", client, "--sockspec-timeout", "start=1", "spec/client", "-q")
    assert done.returncode == 4
    assert "did not connect within 1 s; it connects to 127.0.0.1:" in done.stderr, done.stderr


def test_a_failure_says_what_happened_and_how_to_reproduce_it():
    done = run_pytest("--client", SILENT, "spec/client/test_server_close.py", "-k", "instead_of_replying")
    assert done.returncode == 1, done.stdout
    out = done.stdout
    positions = [out.find(f"\n{heading}") for heading in HEADINGS]
    assert -1 not in positions and positions == sorted(positions), out
    assert "HAPPENED    it printed nothing there" in out
    assert 'the notes\' client prints " server shutdown!"' in " ".join(out.split())
    assert "server: closed the connection" in out  # the transcript
    assert "CLIENT      the client exited with status 0" in out
    (reproduce,) = [line for line in out.splitlines() if line.startswith("REPRODUCE")]
    assert reproduce.startswith(f"REPRODUCE   pytest --client {SILENT} 'spec/client/test_server_close.py::")
    again = run_pytest(*shlex.split(reproduce.split(None, 1)[1])[1:])
    assert again.returncode == 1 and "1 failed" in again.stdout


def test_results_file_has_a_line_per_client_test(tmp_path):
    results = tmp_path / "results.jsonl"
    done = run_pytest(
        "--client", SILENT, "spec/client", "-k", "server_close or typed_line", "--sockspec-results", str(results)
    )
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["client", "test", "test", "test", "test", "diagnosis", "end"]
    assert lines[0] == {"kind": "client", "impl": SILENT, "binary": False}
    tests = {line["nodeid"].split("::")[1]: line for line in lines if line["kind"] == "test"}
    assert tests["test_typed_line_reaches_server"]["family"] == "chat"
    closes = tests["test_server_closes_instead_of_replying"]
    assert closes["family"] == "server_close" and closes["outcome"] == "failed"
    assert closes["behaviour"].startswith("server close:") and closes["summary"].startswith("expected the client")
    assert lines[-1]["exitstatus"] == done.returncode == 1


def test_binary_tests_run_only_for_a_client_that_claims_it():
    plain = run_pytest("--client", SILENT, "spec/client/test_reply_sizes.py", "-k", "binary")
    assert plain.returncode == 0 and "2 skipped" in plain.stdout, plain.stdout
    claimed = run_pytest("--client", "reference.client", "spec/client/test_reply_sizes.py", "-v")
    assert "binary-safe: reference.client declares BINARY_SAFE = True" in claimed.stdout
    assert claimed.stdout.count("test_binary_reply[") == 2 and "skipped" not in claimed.stdout


def collected(*args: str) -> set[str]:
    """The folders of the test ids `pytest ARGS --collect-only` lists."""
    done = run_pytest(*args, "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.split("/")[0] + "/" + line.split("/")[1] for line in done.stdout.splitlines() if "::" in line}


def test_both_halves_run_side_by_side():
    folders = collected("--impl", "reference.threaded", "--client", "reference.client", "spec")
    assert folders == {"spec/server", "spec/client"}


def test_client_option_alone_runs_only_the_client_spec():
    assert collected("--client", "reference.client") == {"spec/client"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_run_leaves_no_client_behind(tmp_path, sig):
    marker = f"sockspec-client-{uuid.uuid4().hex}"
    # A client that never ends by itself (it ignores end of input), in a file the marker names.
    client = tmp_path / f"{marker}.py"
    shutil.copy(CORPUS / "buggy" / "ignores_end_of_input.py", client)
    status, left = interrupt_run(
        ["--client", str(client), "spec/client", "-q", "-k", "end_of_input"], marker, sig, 1, tmp_path / "out.txt"
    )
    assert left == []
    assert status != 0


def namespaces_available() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not namespaces_available(), reason="needs `unshare -n` (root, or user namespaces) and `ip`")
def test_the_seed_client_runs_unmodified_at_its_hard_coded_address():
    """The seed's client, exactly as written, connects to 192.168.153.128:19999: in a network namespace
    where that address is on the loopback, --client-address makes the harness listen there."""
    seed = "tests/corpus/seed/client.cpp"
    command = (
        "ip link set lo up && ip addr add 192.168.153.128/32 dev lo && "
        f"exec {shlex.quote(sys.executable)} -m pytest -p no:cacheprovider --client {seed} "
        "--client-address 192.168.153.128:19999 spec/client -k 'test_typed_line_reaches_server or "
        "test_end_of_input_before_any_line'"
    )
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert "1 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    assert "harness listens on 192.168.153.128:19999 (fixed)" in done.stdout
    assert "FAILED spec/client/test_end_of_input.py::test_end_of_input_before_any_line" in done.stdout
    assert "--client-address 192.168.153.128:19999 'spec/client/test_end_of_input.py::" in done.stdout
