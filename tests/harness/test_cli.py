"""sockspec as a user meets it: exit statuses, one-line errors, failure messages, cleanup."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import sys
import tomllib
import uuid

import pytest

from tests.harness.conftest import ROOT, interrupt_run, processes_mentioning, run_pytest

BAD_SERVER = "tests/harness/servers/adds_newline.py"


def test_a_correct_server_passes_with_status_0_and_a_header():
    done = run_pytest("--impl", "reference.threaded", "spec/server/test_send_recv.py", "-q")
    assert done.returncode == 0, done.stdout
    assert (
        "sockspec: reference.threaded (model threaded, reply echo)"
        in run_pytest("--impl", "reference.threaded", "--collect-only", "-q", "spec/server/test_send_recv.py").stdout
        or done.returncode == 0
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--impl", "reference.nosuch"], "--impl reference.nosuch: no such module"),
        (["--impl", "cmd:./server {port}"], "--model iterative|forking|threaded|evented|any is required"),
        (["--impl", "reference.threaded", "--model", "forking"], "is a threaded server, but --model forking"),
        (["--impl", "reference.threaded", "--sockspec-timeout", "reply=soon"], "not a number of seconds"),
        (["--impl", "cmd:exit 3", "--model", "threaded"], "the server exited with status 3 before listening"),
        (
            ["--impl", "cmd:echo starting; sleep 600", "--model", "threaded", "--sockspec-timeout", "start=1"],
            "did not listen on 127.0.0.1:",
        ),
        (["--impl", "cmd:./no-such-program", "--model", "forking"], "not found"),
    ],
)
def test_bad_input_is_one_line_with_status_4(args, message):
    done = run_pytest(*args, "spec/server", "-q")
    assert done.returncode == 4, done.stdout + done.stderr
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith("ERROR: sockspec: ") and "Traceback" not in done.stderr + done.stdout
    assert message in done.stderr


def test_a_failure_says_what_happened_and_how_to_reproduce_it():
    done = run_pytest(
        "--impl", BAD_SERVER, "--model", "threaded", "spec/server/test_send_recv.py", "-k", "many_messages"
    )
    assert done.returncode == 1
    out = done.stdout
    for heading in ("BEHAVIOUR", "DID", "EXPECTED", "HAPPENED", "LIKELY BUG", "TRANSCRIPT", "SERVER", "OUTPUT"):
        assert f"\n{heading}" in out, heading
    # The reply to message 0 had a newline too many; it shows up where the reply to message 1 is due.
    assert re.search(
        r"received b'\\n.*, wrong from byte 0 on, where b'message 1' \(9 bytes\) was due", " ".join(out.split())
    )
    assert not re.search(r'File ".*/(sockspec|spec)/', out), "a traceback of ours"
    (reproduce,) = [line for line in out.splitlines() if line.startswith("REPRODUCE")]
    again = run_pytest(*shlex.split(reproduce.split(None, 1)[1])[1:])
    assert again.returncode == 1 and "1 failed" in again.stdout


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_the_short_summary_has_one_line_per_failure_also_on_ci(workers):
    # On CI pytest prints each summary line untrimmed: the whole failure message must not end up there.
    done = run_pytest(
        "--impl", BAD_SERVER, "--model", "threaded", "spec/server/test_send_recv.py",
        "-k", "many_messages or pipelined",
        *workers, env={"CI": "true"},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    summary = done.stdout.split("short test summary info", 1)[1].splitlines()[1:-1]
    assert len(summary) == 2 and all(line.startswith("FAILED ") for line in summary), summary
    assert all(" - expected client 1 to receive b" in line for line in summary), summary
    assert sum(line.startswith("REPRODUCE") for line in done.stdout.splitlines()) == 2


def test_a_failure_with_a_hint_of_causes_crosses_from_an_xdist_worker():
    """A test whose likely bug is a Hint (words with cause ids) reports its failure through
    pytest-xdist like any other: once the report held the Hint itself, the worker could not send it
    (INTERNALERROR, exit 3), so the student saw neither the failure nor the diagnosis."""
    done = run_pytest(
        "--impl", str(ROOT / "tests/corpus/servers/buggy/strlen_send.c"), "--model", "threaded",
        "spec/server/test_send_recv.py", "-k", "binary_data", "-n", "2",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert "DIAGNOSIS" in done.stdout and "strlen-on-binary" in done.stdout


def test_tests_that_do_not_apply_are_deselected_not_failed():
    done = run_pytest("--impl", "reference.iterative", "spec/server", "--collect-only", "-q")
    assert done.returncode == 0
    assert "test_concurrency" not in done.stdout and "test_zombies" not in done.stdout
    assert "test_queues" in done.stdout and "deselected" in done.stdout


def _collected_functions(*args: str) -> set[str]:
    done = run_pytest(*args, "spec/server", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.split("::")[1].split("[")[0] for line in done.stdout.splitlines() if "::" in line}


@pytest.mark.parametrize("reply", ["echo", "stdin"])
def test_evented_runs_the_threaded_behaviour_tests_and_its_own_model_check(reply):
    """An evented server gets every behaviour test a threaded one gets, in both reply modes, its own
    model check in place of the threaded model's, and (echo) more clients than select() can watch."""
    evented = _collected_functions("--impl", "reference.evented", "--reply", reply)
    threaded = _collected_functions("--impl", "reference.threaded", "--reply", reply)
    model_family = {
        name for impl in ("reference.threaded", "reference.evented")
        for name in _collected_functions("--impl", impl, "-k", "test_model")
    }  # fmt: skip
    assert evented & model_family == {
        "test_evented_serves_every_client_from_one_thread",
        "test_evented_threads_wait_for_any_socket_not_one",
    }
    beyond_select = {"test_more_clients_than_select_can_watch"} if reply == "echo" else set()
    assert evented - model_family == (threaded - model_family) | beyond_select
    assert "test_fifty_clients_interleaved" in evented


@pytest.mark.parametrize("model", ["iterative", "forking", "threaded", "evented"])
def test_model_auto_finds_the_model_says_so_and_every_worker_runs_for_it(model, tmp_path):
    results = tmp_path / "results.jsonl"
    done = run_pytest(
        "--impl", f"reference.{model}", "--model", "auto", "spec/server/test_model.py", "-n", "2", "-v",
        "--sockspec-results", str(results),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"sockspec: --model auto found {model}: " in done.stdout
    assert re.search(rf"PASSED spec/server/test_model.py::test_{model}\w*\[{model}-echo\]", done.stdout)
    (run,) = [json.loads(line) for line in results.read_text().splitlines() if '"kind": "run"' in line]
    assert run["targets"][0]["model"] == model and run["targets"][0]["declared"] == "auto"


def test_model_auto_refuses_a_server_that_fits_no_model_in_one_line():
    done = run_pytest("--impl", "tests/harness/servers/forks_and_waits.py", "--model", "auto", "spec/server", "-q")
    assert done.returncode == 4, done.stdout + done.stderr
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith("ERROR: sockspec: --model auto found no model that fits: the server serves one client")
    assert "child process" in first and "Traceback" not in done.stderr + done.stdout


def test_any_runs_every_behaviour_test_of_a_concurrent_server_and_no_model_check():
    """--model any: what the threaded reference runs, without its model checks, plus the reaping tests
    (a server that forks for some clients must reap them), and never the single-process queue's."""
    functions = _collected_functions("--impl", "reference.threaded", "--model", "any")
    threaded = _collected_functions("--impl", "reference.threaded")
    model_family = _collected_functions("--impl", "reference.threaded", "-k", "test_model")
    assert not functions & model_family and model_family
    assert threaded - model_family <= functions
    assert "test_no_zombies_after_many_clients_leave_at_once" in functions
    assert "test_second_client_served_after_first_leaves" not in functions


def test_results_file_has_a_line_per_test(tmp_path):
    results = tmp_path / "results.jsonl"
    run_pytest(
        "--impl",
        BAD_SERVER,
        "--model",
        "threaded",
        "spec/server/test_send_recv.py",
        "-k",
        "many_messages or nothing_added",
        "--sockspec-results",
        str(results),
    )
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["run", "test", "test", "diagnosis", "end"]
    assert {line["outcome"] for line in lines[1:3]} == {"failed"}
    assert all(line["family"] == "send_recv" and line["summary"] for line in lines[1:3])
    assert lines[-1]["exitstatus"] == 1


def test_impl_alone_runs_only_the_server_spec():
    done = run_pytest("--impl", "reference.threaded", "--collect-only", "-q")
    files = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    assert files and all(name.startswith("spec/server/") for name in files), files


def test_a_daemon_is_tested_and_killed_like_any_server(tmp_path):
    marker = f"sockspec-daemon-{uuid.uuid4().hex}"
    # A daemonizing forking server in a file the marker names: its children carry the marker too.
    server = tmp_path / f"{marker}.py"
    shutil.copy(ROOT / "tests" / "harness" / "servers" / "daemon_forking.py", server)
    done = run_pytest(
        f"--impl=cmd:{sys.executable} {server} {{port}}", "--model=forking",
        "spec/server/test_model.py", "spec/server/test_zombies.py", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "in use by another program" not in done.stdout + done.stderr
    assert processes_mentioning(marker) == [], "a daemon outlived the run"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_run_leaves_no_server_behind(tmp_path, sig):
    marker = f"sockspec-interrupt-{uuid.uuid4().hex}"
    # A forking server whose command line carries the marker: its children's do too.
    server = ROOT / "tests" / "bench" / "servers" / "marked_forking.py"
    impl = f"cmd:exec {sys.executable} {server} {{port}} {marker}"
    # At least two: a server and a child, or a server and its spare.
    status, left = interrupt_run(
        ["--impl", impl, "--model", "forking", "spec/server", "-q"], marker, sig, 2, tmp_path / "out.txt"
    )
    assert left == []
    assert status != 0


# pytest decides its rootdir and reads pyproject.toml before it knows --impl, so it takes the value
# of `--impl /elsewhere/server.c` for a test path: these runs must still be the same spec.
CORRECT_SERVER = ROOT / "tests" / "corpus" / "servers" / "correct" / "threaded.c"
CORRECT_CLIENT = ROOT / "tests" / "corpus" / "clients" / "correct" / "threads.py"


def _collected(done) -> list[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.fixture(scope="module")
def usual_server_spec() -> list[str]:
    """The test ids of the server spec, run the usual way: from the project root, a path inside it."""
    return _collected(run_pytest("--impl", str(CORRECT_SERVER.relative_to(ROOT)), "--model", "threaded", "--co", "-q"))


@pytest.mark.parametrize(
    "where", ["outside path, project root", "existing --server-log", "another folder", "a subfolder"]
)
def test_impl_runs_the_same_server_spec_from_anywhere(tmp_path, usual_server_spec, where):
    shutil.copy(CORRECT_SERVER, tmp_path / "threaded.c")
    (tmp_path / "server.log").touch()
    cwd, *options = {
        "outside path, project root": (ROOT, "--impl", str(tmp_path / "threaded.c")),
        "existing --server-log": (ROOT, "--impl", "reference.threaded", "--server-log", str(tmp_path / "server.log")),
        "another folder": (tmp_path, "--impl", "threaded.c"),
        "a subfolder": (ROOT / "tests", "--impl", "corpus/servers/correct/threaded.c"),
    }[where]
    options += ["--model", "threaded"]
    assert _collected(run_pytest(*options, "--co", "-q", cwd=cwd)) == usual_server_spec
    assert len(usual_server_spec) > 20 and all(test.startswith("spec/server/") for test in usual_server_spec)
    header = run_pytest(*options, "--co", "-k", "test_close", cwd=cwd).stdout
    # The project's settings hold too: pytest-timeout's backstop, and pytest-benchmark kept out.
    assert f"rootdir: {ROOT}\n" in header and "timeout: 300.0s" in header and "benchmark:" not in header


def test_a_correct_server_passes_when_run_from_its_own_folder(tmp_path):
    shutil.copy(CORRECT_SERVER, tmp_path / "threaded.c")
    done = run_pytest("--impl", "threaded.c", "--model", "threaded", "-k", "send_recv", "-n", "2", cwd=tmp_path)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout + done.stderr


def test_an_existing_results_file_does_not_change_what_runs(tmp_path):
    results = tmp_path / "results.jsonl"
    results.write_text("from an earlier run\n")
    chosen = ["--impl", "reference.threaded", "--sockspec-results", str(results)]
    assert _collected(run_pytest(*chosen, "--co", "-q")) == _collected(run_pytest(*chosen[:2], "--co", "-q"))
    done = run_pytest(*chosen, "-k", "many_messages")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["run", "test", "diagnosis", "end"]
    assert lines[1]["nodeid"] == "spec/server/test_send_recv.py::test_many_messages_on_one_connection[threaded-echo]"


def test_client_with_a_path_outside_the_project_runs_the_client_spec(tmp_path):
    usual = _collected(run_pytest("--client", "reference.client", "--co", "-q"))
    client = tmp_path / "threads.py"
    shutil.copy(CORRECT_CLIENT, client)
    assert _collected(run_pytest("--client", str(client), "--co", "-q")) == usual
    assert all(test.startswith("spec/client/") for test in usual)
    done = run_pytest("--client", str(client), "-k", "typed_line or server_close", "-n", "2", cwd=tmp_path)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_the_reproduce_line_works_where_the_user_ran_pytest(tmp_path, workers):
    """It names the test as spec/..., wherever sockspec is installed, which the spec finds from any folder."""
    shutil.copy(ROOT / BAD_SERVER, tmp_path / "server.py")
    done = run_pytest("--impl", "server.py", "--model", "threaded", "-k", "many_messages", *workers, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    (reproduce,) = [line for line in done.stdout.splitlines() if line.startswith("REPRODUCE")]
    assert "pytest --impl server.py --model threaded 'spec/server/test_send_recv.py::test_many_messages" in reproduce
    again = run_pytest(*shlex.split(reproduce.split(None, 1)[1])[1:], cwd=tmp_path)
    assert again.returncode == 1 and re.search(r"\n=+ 1 failed in ", again.stdout), again.stdout


def test_the_spec_runs_with_the_projects_settings_from_anywhere():
    """A run started elsewhere (an installed spec) gets `invocation.SPEC_OPTIONS`; the project's own
    runs read pyproject.toml, which must ask for the same, and the same backstop."""
    from sockspec import invocation

    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = settings["addopts"]
    assert all(option in addopts for option in invocation.SPEC_OPTIONS), addopts
    assert settings["timeout"] == invocation.BACKSTOP_SECONDS


def test_servers_get_ctrl_c_even_when_the_run_was_started_ignoring_it():
    """A run started with SIGINT ignored (a background job, a CI step) must not pass that on: a
    correct server would then ignore Ctrl-C and fail the spec for it."""
    done = run_pytest(
        "--impl", "reference.threaded", "spec/server/test_lifecycle.py", "-k", "ctrl_c", ignoring_ctrl_c=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("plugin", ["loaded", "blocked"])
def test_a_falsifying_example_is_not_offered_as_a_patch_to_the_spec(tmp_path, plugin):
    """hypothesis would write a patch adding the example to the test's source, here the spec's
    (`plugin._drop_hypothesis_patch`).  With our plugin blocked, the same run must write one, or
    this test proves nothing: that takes libcst, which hypothesis needs for patches."""
    pytest.importorskip("libcst", reason="hypothesis writes no patches without libcst")
    (tmp_path / "test_falsified.py").write_text(
        "from hypothesis import given, strategies as st\n\n"
        "@given(st.integers())\n"
        "def test_small(n):\n"
        "    assert n < 10\n"
    )
    store = tmp_path / "store"
    ours = ("sockspec.plugin", "sockspec.serverspec.plugin", "sockspec.clientspec.plugin")
    blocking = [arg for name in ours for arg in ("-p", f"no:{name}")] if plugin == "blocked" else []
    done = run_pytest(
        *blocking, "-W", "ignore::DeprecationWarning", "test_falsified.py",
        cwd=tmp_path, env={"HYPOTHESIS_STORAGE_DIRECTORY": str(store)},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    written = list(store.glob("patches/*"))
    assert bool(written) == (plugin == "blocked"), (written, done.stdout)
    assert ("git apply" in done.stdout) == (plugin == "blocked"), done.stdout
