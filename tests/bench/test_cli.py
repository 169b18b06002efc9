"""`sockspec bench` as a user meets it: the table, --json, one-line errors, exit statuses, cleanup."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import pytest

from sockspec import tcp
from tests import program_environment
from tests.bench.conftest import QUICK, ROOT, run_bench
from tests.harness.conftest import processes_mentioning

ONE_CLIENT = "tests/bench/servers/serves_one_client.py"
MARKED = "tests/bench/servers/marked_forking.py"


def one_line_error(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("sockspec bench: "), lines[0]
    return lines[0]


class TestReport:
    def test_the_table_has_every_figure_and_a_ratio_after_each_column(self):
        done = run_bench("--impl", "reference.threaded", "--compare", "socketserver", *QUICK)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        heading = next(line for line in lines if line.startswith("figure"))
        assert heading.split() == [
            "figure",
            "reference.threaded",
            "C",
            "baseline",
            "ratio",
            "socketserver.ThreadingTCPServer",
            "ratio",
        ]
        rows = [line for line in lines if line.startswith(("round trips/s", "connections/s", "MiB/s"))]
        assert [row.split("  ")[0] for row in rows] == [
            "round trips/s, 1 client",
            "round trips/s, 10 clients",
            "connections/s (connect, echo, close)",
            "MiB/s, 1 MiB messages",
        ]
        for row in rows:
            ratios = row.split()[-3::2]  # the two ratio columns
            assert all(float(r) > 0 for r in ratios), row
        assert any(line.startswith("load average ") and " before, " in line for line in lines)
        assert any("servers on CPU" in line or "not pinned" in line for line in lines)

    def test_an_evented_server_is_measured_against_the_epoll_baseline_and_asyncio(self):
        done = run_bench("--impl", "reference.evented", "--compare", "socketserver", "--json", *QUICK)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        names = [c["name"] for c in report["columns"]]
        assert names == ["reference.evented", "C baseline", "asyncio.start_server"]
        assert "roundtrips-10" in [f["key"] for f in report["figures"]]
        for figure in report["figures"]:
            assert not figure["errors"] and all(figure["values"][name] > 0 for name in names), figure

    def test_json_has_values_samples_and_ratios_and_an_iterative_server_gets_one_client(self):
        done = run_bench("--impl", "reference.iterative", "--compare", "socketserver", "--json", *QUICK)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["schema"] == "sockspec-bench/1"
        assert (report["impl"], report["model"], report["reply"]) == ("reference.iterative", "iterative", "echo")
        assert report["repeat"] == 1 and report["seconds"] == 0.05 and report["warmup"] > 0
        assert len(report["load_average"]["before"]) == 3 and len(report["load_average"]["after"]) == 3
        names = [c["name"] for c in report["columns"]]
        assert names == ["reference.iterative", "C baseline", "socketserver.TCPServer"]
        assert [c["role"] for c in report["columns"]] == ["impl", "baseline", "compare"]
        assert all(isinstance(c["port"], int) and c["client"] == "python" for c in report["columns"])
        # Iterative: no concurrency figures, whatever --clients says.
        assert [f["key"] for f in report["figures"]] == ["roundtrips-1", "connections", "mib"]
        for figure in report["figures"]:
            assert set(figure["values"]) == set(names) and not figure["errors"]
            for name in names:
                assert figure["values"][name] == max(figure["samples"][name]) > 0
            for other in names[1:]:
                expected = figure["values"][names[0]] / figure["values"][other]
                assert figure["ratios"][f"reference.iterative / {other}"] == pytest.approx(expected)
        mib = report["figures"][-1]
        assert (mib["unit"], mib["message_bytes"], mib["clients"]) == ("MiB/s", 1024 * 1024, 1)


class TestBadInput:
    @pytest.mark.parametrize(
        "args, message",
        [
            (["--impl", "reference.nosuch"], "--impl reference.nosuch: no such module"),
            (["--impl", "cmd:./server {port}"], "--model iterative|forking|threaded|evented|any is required"),
            (["--impl", "reference.threaded", "--model", "any"], "(the models the baselines have), not 'any'"),
            (["--check-client", "--model", "any"], "(the models the baselines have), not 'any'"),
            (["--impl", "reference.threaded", "--model", "forking"], "is a threaded server, but --model forking"),
            (["--impl", "no_such_server.c", "--model", "threaded"], "no_such_server.c: no such file"),
            ([], "--impl is required"),
            (["--impl", "reference.threaded", "--seconds", "0"], "--seconds must be above 0"),
            (["--impl", "reference.threaded", "--clients", "1,ten"], "--clients must be numbers"),
            (["--impl", "reference.threaded", "--clients", "0"], "--clients must be between 1 and"),
            (["--check-client", "--impl", "reference.threaded"], "give --model, not --impl"),
        ],
    )
    def test_bad_input_is_one_line_with_status_2(self, args, message):
        done = run_bench(*args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert message in one_line_error(done)
        assert done.stdout == ""

    def test_plot_without_matplotlib_is_one_line_and_with_it_a_png(self, tmp_path):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            done = run_bench("--impl", "reference.threaded", "--plot", str(tmp_path / "out.png"))
            assert done.returncode == 2
            assert "--plot needs matplotlib" in one_line_error(done)
            return
        done = run_bench("--impl", "reference.iterative", "--plot", str(tmp_path / "out.png"), *QUICK)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG")

    def test_a_server_that_does_not_start_is_one_line_with_status_4(self):
        done = run_bench("--impl", "cmd:echo cannot bind; exit 3", "--model", "threaded", *QUICK)
        assert done.returncode == 4, done.stdout + done.stderr
        error = one_line_error(done)
        assert "cmd:echo cannot bind; exit 3 did not start: the server exited with status 3 before listening" in error
        assert error.endswith("(it printed: cannot bind)")

    def test_a_server_that_dies_under_load_gets_failed_figures_and_status_1(self):
        done = run_bench("--impl", ONE_CLIENT, "--model", "iterative", *QUICK)
        assert done.returncode == 1, done.stdout + done.stderr
        # It serves the one connection of the first figure, then exits.
        rows = {line.split("  ")[0]: line.split() for line in done.stdout.splitlines()}
        assert rows["round trips/s, 1 client"][4] != "failed"
        assert rows["connections/s (connect, echo, close)"][4] == "failed"
        assert "note: tests/bench/servers/serves_one_client.py, connections/s (connect, echo, close): " in done.stdout
        assert "the server exited with status 0 during this figure" in done.stdout


class TestCleanup:
    def test_no_server_or_child_is_left_running(self):
        marker = f"sockspec-bench-{uuid.uuid4().hex[:8]}"
        impl = f"cmd:{sys.executable} {MARKED} {{port}} {marker}"
        done = run_bench("--impl", impl, "--model", "forking", "--compare", "socketserver", "--json", *QUICK)
        assert done.returncode == 0, done.stderr
        assert processes_mentioning(marker) == []
        for column in json.loads(done.stdout)["columns"]:
            assert processes_mentioning(f"--port {column['port']}") == []
            assert processes_mentioning(f" 127.0.0.1 {column['port']}") == []  # the C baseline's argv
            assert tcp.listeners_on(column["port"]) == {}

    def test_an_interrupted_run_stops_every_server_with_status_130(self):
        marker = f"sockspec-bench-{uuid.uuid4().hex[:8]}"
        impl = f"cmd:{sys.executable} {MARKED} {{port}} {marker}"
        bench = subprocess.Popen(
            [sys.executable, "-m", "sockspec.cli", "bench", "--impl", impl, "--model", "forking", "--seconds", "5"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
            env=program_environment(),
        )
        try:
            deadline = time.monotonic() + 30
            while not processes_mentioning(marker) and time.monotonic() < deadline and bench.poll() is None:
                time.sleep(0.05)
            assert processes_mentioning(marker), "the server under test never started"
            time.sleep(0.5)  # into the first figure
            bench.send_signal(signal.SIGTERM)
            _, err = bench.communicate(timeout=30)
        finally:
            if bench.poll() is None:
                bench.kill()
                bench.wait()
        assert bench.returncode == 130, err
        assert "interrupted; every server was stopped" in err
        assert processes_mentioning(marker) == []
