"""The grader's parts on their own: discovery, address finding, points, verdicts, report formats."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sockspec import results_file
from sockspec.grade import address, discover, report_files, scoring
from sockspec.grade.isolation import Isolation
from sockspec.grade.job import place_binary
from sockspec.grade.progress import Progress
from sockspec.grade.record import Record, judge
from sockspec.grade.scoring import ScoredTest
from tests.grade.conftest import FIXTURES, SEED

TESTS = [
    "spec/server/test_close.py::test_a[threaded-echo]",
    "spec/server/test_close.py::test_b[threaded-echo]",
    "spec/server/test_send_recv.py::test_sizes[threaded-echo-1B]",
    "spec/server/test_send_recv.py::test_sizes[threaded-echo-2B]",
    "spec/server/test_send_recv.py::test_one[threaded-echo]",
]


class TestDiscover:
    def test_kinds_and_problems(self, tmp_path):
        (tmp_path / "alice.c").write_text("int main(){}")
        (tmp_path / "bob.py").write_text("print()")
        (tmp_path / "carol").mkdir()
        (tmp_path / "carol" / "run").write_text("#!/bin/sh\n")
        (tmp_path / "dave").mkdir()
        (tmp_path / "dave" / "client.cpp").write_text("connect(")
        (tmp_path / "dave" / "server.cpp").write_text("listen(fd, 5);")
        (tmp_path / "erin").mkdir()
        (tmp_path / "erin" / "a.c").write_text("int x;")
        (tmp_path / "erin" / "b.c").write_text("int y;")
        (tmp_path / "frank.txt").write_text("hi")
        (tmp_path / ".hidden.c").write_text("")
        found = {s.name: s for s in discover.discover(tmp_path)}
        assert list(found) == ["alice", "bob", "carol", "dave", "erin", "frank.txt"]
        assert [found[n].kind for n in ("alice", "bob", "carol", "dave")] == ["c", "python", "run", "c++"]
        assert found["dave"].program.name == "server.cpp"  # the seed's client beside it is not the server
        assert "cannot tell which source is the server" in found["erin"].problem
        assert "not a C, C++ or Python source" in found["frank.txt"].problem

    def test_clients_are_chosen_by_connect_without_listen(self, tmp_path):
        (tmp_path / "dave").mkdir()
        (tmp_path / "dave" / "client.cpp").write_text("connect(fd, a, n);")
        (tmp_path / "dave" / "server.cpp").write_text("listen(fd, 5); accept(fd, 0, 0);")
        (tmp_path / "erin").mkdir()
        (tmp_path / "erin" / "cli.py").write_text("s.connect((host, port))")
        (tmp_path / "erin" / "util.py").write_text("def helper(): pass")
        (tmp_path / "frank").mkdir()
        (tmp_path / "frank" / "a.c").write_text("connect(fd, a, n);")
        (tmp_path / "frank" / "b.c").write_text("connect(fd, a, n);")
        (tmp_path / "gina").mkdir()
        (tmp_path / "gina" / "server.cpp").write_text("listen(fd, 5);")
        found = {s.name: s for s in discover.discover(tmp_path, "client")}
        assert found["dave"].program.name == "client.cpp"
        assert found["erin"].program.name == "cli.py"
        assert found["frank"].problem == "cannot tell which source is the client (a.c, b.c); add a run script"
        assert found["gina"].program.name == "server.cpp"  # the only source: the probe will say it never connects
        assert discover.discover(tmp_path)[0].program.name == "server.cpp"  # as servers, the same class

    def test_same_stem_keeps_both(self, tmp_path):
        (tmp_path / "alice.c").write_text("")
        (tmp_path / "alice.py").write_text("")
        assert [s.name for s in discover.discover(tmp_path)] == ["alice.c", "alice.py"]

    def test_digest_follows_content(self, tmp_path):
        (tmp_path / "a.py").write_text("one")
        before = discover.discover(tmp_path)[0].digest
        (tmp_path / "a.py").write_text("two")
        assert discover.discover(tmp_path)[0].digest != before

    def test_shards_partition_deterministically(self, tmp_path):
        for i in range(30):
            (tmp_path / f"s{i}.py").write_text("")
        subs = discover.discover(tmp_path)
        parts = [discover.shard(subs, k, 4) for k in range(1, 5)]
        assert sorted(s.name for p in parts for s in p) == sorted(s.name for s in subs)
        assert all(parts) and parts == [discover.shard(subs, k, 4) for k in range(1, 5)]
        # A student keeps their shard when another one joins.
        (tmp_path / "new.py").write_text("")
        again = discover.discover(tmp_path)
        assert {s.name for s in discover.shard(again, 2, 4)} - {"new"} == {s.name for s in parts[1]}


class TestAddress:
    def test_reads_the_seed(self):
        hints = address.scan([(".cpp", (SEED / "threaded.cpp").read_text())])
        assert hints.addresses == ("192.168.153.128",) and hints.ports == (19999,)

    def test_ignores_comments(self):
        hints = address.scan([(".c", "/* was 8080 */ a.sin_port = htons(9000); // 7000\n")])
        assert hints.ports == (9000,) and 8080 not in hints.numbers and 7000 not in hints.numbers
        python = address.scan([(".py", 's.bind(("10.0.0.5", 4242))  # not 5555\n')])
        assert python.addresses == ("10.0.0.5",) and python.ports == (4242,) and 5555 not in python.numbers

    def hints(self, source: str) -> address.Hints:
        return address.scan([(".c", source)])

    def test_port_from_the_command_line(self):
        placed = address.place({"listening": [["0.0.0.0", 40000]]}, 40000, self.hints(""), 5)
        assert placed.fixed_port is None and placed.host == "127.0.0.1" and not placed.problem
        assert placed.address_option == ["--host", "127.0.0.1"]

    def test_hard_coded_address_goes_on_loopback(self):
        seen = {"listening": [["192.168.153.128", 19999]]}
        placed = address.place(seen, 40000, self.hints('inet_addr("192.168.153.128"); htons(19999)'), 5)
        assert placed.loopback == ["192.168.153.128"]
        assert placed.address_option == ["--address", "192.168.153.128:19999"]

    def test_missing_htons(self):
        placed = address.place({"listening": [["127.0.0.1", 8014]]}, 40000, self.hints("sin_port = 19999;"), 5)
        assert placed.problem == "listens on port 8014, but its source says port 19999 (htons() missing?)"
        swapped = address.place({"listening": [["0.0.0.0", address.swap16(40000)]]}, 40000, self.hints(""), 5)
        assert "instead of the port 40000 it was given (htons() missing?)" in swapped.problem

    def test_kernel_chosen_port(self):
        placed = address.place({"listening": [["0.0.0.0", 45678]]}, 40000, self.hints(""), 5)
        assert "which the kernel chose" in placed.problem

    def test_never_listens(self):
        running = address.place({"listening": [], "running": True, "output": []}, 1, self.hints(""), 7)
        assert running.problem == "never listens: still running after 7 s without a listening socket"
        ended = {"listening": [], "exit": "the server exited with status 1", "output": ["bind: oops"]}
        assert address.place(ended, 1, self.hints(""), 7).problem == (
            "never listens: the server exited with status 1 before listening (it printed: bind: oops)"
        )
        noisy = {"listening": [], "running": True, "output": ["x"], "output_bytes": 3 << 30}
        assert "(it printed 3072 MiB)" in address.place(noisy, 1, self.hints(""), 7).problem


class TestClientAddress:
    """A client's probe sees where its connect() goes (see sandbox_init.network_pending)."""

    def place(self, connecting: list, source: str = "", **probe) -> address.Placement:
        hints = address.scan([(".c", source)])
        return address.place({"connecting": connecting, **probe}, 40000, hints, 5, address.CLIENT)

    def test_connects_where_it_is_told(self):
        placed = self.place([["127.0.0.1", 40000]])
        assert placed.note == "connects where it is told" and placed.address_option == ["--host", "127.0.0.1"]

    def test_seed_address_goes_on_loopback(self):
        placed = self.place([["192.168.153.128", 19999]], (SEED / "client.cpp").read_text())
        assert placed.loopback == ["192.168.153.128"]
        assert placed.address_option == ["--client-address", "192.168.153.128:19999"]
        assert placed.note == "connects to 192.168.153.128:19999, hard-coded in its source"

    def test_hard_coded_host_with_the_port_it_is_told(self):
        placed = self.place([["10.1.2.3", 40000]], 'inet_addr("10.1.2.3")')
        assert placed.address_option == ["--host", "10.1.2.3"] and placed.loopback == ["10.1.2.3"]
        assert placed.note == "takes its port from the command line, connects to 10.1.2.3"

    def test_hard_coded_port_on_loopback(self):
        placed = self.place([["127.0.0.1", 19999]], "sin_port = htons(19999);")
        assert placed.address_option == ["--client-address", "127.0.0.1:19999"] and placed.loopback == []

    def test_missing_htons(self):
        assert self.place([["127.0.0.1", 8014]], "sin_port = 19999;").problem == (
            "connects to port 8014, but its source says port 19999 (htons() missing?)"
        )
        assert self.place([["127.0.0.1", address.swap16(40000)]]).problem == (
            f"connects to port {address.swap16(40000)} instead of the port 40000 it was given (htons() missing?)"
        )

    def test_never_connects(self):
        running = self.place([], running=True, output=["server address: "])
        assert running.problem == (
            "never connects: still running after 5 s without connecting anywhere (it printed: server address: )"
        )
        ended = self.place([], exit="the client exited with status 2", output=["usage: client HOST PORT"])
        assert ended.problem == (
            "never connects: the client exited with status 2 before connecting (it printed: usage: client HOST PORT)"
        )
        server = self.place([], running=True, listening=[["0.0.0.0", 19999]])
        assert server.problem.endswith("(it listens on 0.0.0.0:19999: is it the server?)")


class TestScoring:
    def test_weights_split_within_a_family(self):
        results = {TESTS[0]: {"outcome": "passed"}, TESTS[2]: {"outcome": "failed", "summary": "cut"}}
        scored = scoring.score(TESTS, results, {"close": 2.0, "send_recv": 3.0}, "threaded-echo")
        assert [t.max_points for t in scored] == [1.0, 1.0, 1.0, 1.0, 1.0]
        assert [t.outcome for t in scored] == ["passed", "not run", "failed", "not run", "not run"]
        assert sum(t.points for t in scored) == 1.0
        assert scored[2].name == "send_recv: test_sizes[1B]"

    def test_weights_file(self, tmp_path):
        path = tmp_path / "w.toml"
        path.write_text("[weights]\nclose = 5\nzombies = 0\n")
        weights, visibility = scoring.load_policy(path)
        assert weights["close"] == 5.0 and weights["zombies"] == 0.0 and weights["send_recv"] == 3.0
        assert visibility == {}
        for text, error in (("[weights]\nclsoe = 5\n", "unknown family 'clsoe'"), ("[weights]\nclose = -1\n", ">= 0"),
                            ("[weights]\nclose = true\n", ">= 0"), ("[grade]\nmodel = 'x'\n", "no \\[weights\\]"),
                            ("[visibility]\nclose = 'later'\n", "one of visible, hidden"),
                            ("[visibility]\nclsoe = 'hidden'\n", "unknown family 'clsoe'")):  # fmt: skip
            path.write_text(text)
            with pytest.raises(scoring.WeightsError, match=error):
                scoring.load_policy(path)

    def test_visibility_per_family(self, tmp_path):
        path = tmp_path / "w.toml"
        path.write_text("[visibility]\nclose = 'after_due_date'\n")
        weights, visibility = scoring.load_policy(path)
        assert weights == scoring.DEFAULT_WEIGHTS["server"] and visibility == {"close": "after_due_date"}
        scored = scoring.score(TESTS, {}, weights, "threaded-echo", visibility)
        assert [t.visibility for t in scored] == ["after_due_date"] * 2 + ["visible"] * 3

    @pytest.mark.parametrize("total, count", [(3.0, 7), (2.0, 3), (1.0, 6), (0.0, 4), (5.0, 1), (14.0, 41)])
    def test_points_in_hundredths_add_up_exactly(self, total, count):
        parts = scoring.shares(total, count)
        assert len(parts) == count and max(parts) - min(parts) <= 0.01 + 1e-9
        assert round(sum(parts) * 100) == round(total * 100)
        assert all(abs(p * 100 - round(p * 100)) < 1e-9 for p in parts)

    @pytest.mark.parametrize("role", ["server", "client"])
    def test_every_family_has_a_default_weight(self, role):
        families = {p.stem.removeprefix("test_") for p in (SEED.parents[2] / "spec" / role).glob("test_*.py")}
        assert families == set(scoring.DEFAULT_WEIGHTS[role])

    def test_client_weights_file(self, tmp_path):
        path = tmp_path / "w.toml"
        path.write_text("[weights]\nstream = 4\n")
        assert scoring.load_policy(path, "client")[0]["stream"] == 4.0
        with pytest.raises(scoring.WeightsError, match="unknown family 'stream' for a server"):
            scoring.load_policy(path)

    def test_results_file_cut_mid_line(self, tmp_path):
        path = tmp_path / "results.jsonl"
        line = {"kind": "test", "nodeid": TESTS[0], "outcome": "passed"}
        path.write_text(json.dumps({"kind": "run"}) + "\n" + json.dumps(line) + '\n{"kind": "te')
        found = results_file.read(path)
        assert list(found.tests) == [TESTS[0]] and found.started and not found.ended


def result(outcome: str, summary: str = "") -> ScoredTest:
    return ScoredTest("id", "close: test_x", "close", outcome, 1.0 if outcome == "passed" else 0.0, 1.0, summary)


class TestVerdicts:
    def test_pass_fail(self):
        assert judge([result("passed")] * 3, False, 60) == ("pass", "all 3 tests passed")
        verdict, reason = judge([result("passed"), result("failed", "no reply")], False, 60)
        assert verdict == "fail" and reason == "1 of 2 tests failed; first: close: test_x: no reply"

    def test_timeout(self):
        verdict, reason = judge([result("passed"), result("not run")], True, 60)
        assert verdict == "fail"
        assert reason == "timeout: the spec run did not finish within 60 s; 1 of 2 tests finished, 0 of them failed"
        assert judge([result("not run")], True, 60)[0] == "error"


def sample_record() -> Record:
    tests = [result("passed"), result("failed", "it <broke> & left")]
    tests[1].details = "DETAILS with <tags> & ampersands"
    return Record("ann", "c", "threaded", "echo", "fail", "1 of 2 tests failed", tests=tests)


class TestReports:
    def test_gradescope_format(self):
        record = sample_record()
        record.tests[1].likely_bug = "sends strlen(buf) bytes"
        record.tests[1].reproduce = "pytest --impl ann.c -k test_x"
        record.tests[1].visibility = "hidden"
        data = report_files.gradescope(record)
        assert data["score"] == 1.0 and "max_score" not in data  # Gradescope documents no total
        assert [t["status"] for t in data["tests"]] == ["passed", "failed"]
        assert data["tests"][1]["output"] == (
            "DETAILS with <tags> & ampersands\nLIKELY BUG: sends strlen(buf) bytes\n"
            "REPRODUCE: pytest --impl ann.c -k test_x"
        )
        assert [t["visibility"] for t in data["tests"]] == ["visible", "hidden"]
        assert data["output"].splitlines() == [
            "fail: 1 of 2 tests failed",
            "LIKELY BUG: sends strlen(buf) bytes",
            "REPRODUCE: pytest --impl ann.c -k test_x",
        ]

    def test_gradescope_submission_that_ran_no_test_is_one_failed_test_worth_everything(self):
        record = Record("ann", "c", "threaded", "echo", "error", "does not compile: ann.c:3: error: expected ';'",
                        tests=[result("not run"), result("not run")])  # fmt: skip
        (test,) = report_files.gradescope(record)["tests"]
        assert test["status"] == "failed" and test["score"] == 0 and test["max_score"] == 2.0
        assert test["output"] == "error: does not compile: ann.c:3: error: expected ';'"

    def test_prairielearn_format(self):
        data = report_files.prairielearn(sample_record())
        assert data["gradable"] is True and data["score"] == 0.5
        assert [(t["points"], t["max_points"]) for t in data["tests"]] == [(1.0, 1.0), (0.0, 1.0)]
        failed = report_files.prairielearn(sample_record(), grader_failed=True)
        assert failed["gradable"] is False and failed["format_errors"] == ["1 of 2 tests failed"]

    def test_junit_is_valid_xml(self):
        suite = ET.fromstring(report_files.junit(sample_record()).split("\n", 1)[1])
        assert suite.get("tests") == "2" and suite.get("failures") == "1"
        failure = suite.find("testcase/failure")
        assert failure.get("message") == "it <broke> & left" and "DETAILS" in failure.text

    def test_record_round_trip(self):
        record = sample_record()
        again = Record.from_json(json.loads(json.dumps(record.to_json())))
        assert again == record and again.failed == ["id"]

    def test_html_escapes_and_links(self):
        from sockspec.grade import class_page

        page = class_page.render([sample_record()], {"role": "server", "model": "threaded", "reply": "echo"})
        assert "<tags>" not in page and "&lt;tags&gt;" in page
        assert 'href="#s0-ann-close"' in page and 'id="s0-ann-close"' in page


def test_progress_lines_and_estimate():
    stream = io.StringIO()
    progress = Progress(4, stream, interactive=False)
    record = sample_record()
    record.seconds = 2.0
    progress.finished(record)
    progress.finished(record, reused=True)
    assert "[1/4] ann" in stream.getvalue() and "unchanged, not run again" in stream.getvalue()
    assert "2/4 done, 0 passed, 2 failed, 0 errors" in progress.line()
    assert progress.estimate() is not None


def test_fixtures_carry_a_header():
    """Each fixture says in its first line what it is, like the corpus's programs."""
    for path in FIXTURES.iterdir():
        first = path.read_text().lstrip('/*" \n').splitlines()[0]
        assert len(first) > 20, path


def test_submissions_do_not_see_the_graders_secrets(monkeypatch, tmp_path):
    from sockspec.grade import job

    monkeypatch.setenv("CI_TOKEN", "secret")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-n auto")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    env = job._spec_env(tmp_path)
    assert "CI_TOKEN" not in env and "PYTEST_ADDOPTS" not in env and "PYTHONPATH" not in env and env["PATH"]


def test_client_probe_sees_a_connect_to_loopback(tmp_path):
    """In the probe's namespace even 127.0.0.1 is not local: a client hard-coding 127.0.0.1:19999 is
    seen connecting there (SYN_SENT), instead of being refused before anyone could look."""
    import subprocess
    import sys

    from sockspec.grade import isolation

    found = isolation.detect(use_cgroups=False)
    found.close()
    if not found.namespaces:
        pytest.skip("network namespaces are not available here")
    client = "import socket, time; socket.create_connection(('127.0.0.1', 19999), timeout=30); time.sleep(30)"
    config = {
        "mode": "probe", "role": "client", "argv": [sys.executable, "-c", client], "cwd": str(tmp_path),
        "env": {"PATH": "/usr/bin:/bin"}, "seconds": 10, "result": str(tmp_path / "probe.json"),
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(config))
    command = [*found.unshare, sys.executable, "-m", "sockspec.grade.sandbox_init", str(tmp_path / "config.json")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    seen = json.loads((tmp_path / "probe.json").read_text())
    assert seen["connecting"] == [["127.0.0.1", 19999]] and seen["running"], seen


@pytest.mark.parametrize(
    "impl, name, binary, chosen",
    [
        ("{box}/client.py", "client.py", False, ["--client", "{box}/client.py", "--client-name", "client.py", "-m",
                                                 "not binary_safe"]),
        ("cmd:exec {box}/run {host} {port}", "cmd:./run {host} {port}", True,
         ["--client", "cmd:exec {box}/run {host} {port}", "--client-name", "cmd:./run {host} {port}",
          "--client-binary"]),
    ],
)  # fmt: skip
def test_client_spec_command(tmp_path, impl, name, binary, chosen):
    """A client is graded with spec/client, told where to go as the probe found it, confined, and
    named in its reports by the file the student handed in."""
    from sockspec.grade import job
    from sockspec.grade.cgroups import Limits
    from sockspec.timeouts import Timeouts

    assignment = job.Assignment(
        project=tmp_path, model="", reply="", timeout=60, limits=Limits(512, 1 << 30, 1), waits=Timeouts(),
        spec_options=("--sockspec-time-scale=1",), weights={}, applicable=(), fingerprint="", role="client",
        binary=binary,
    )  # fmt: skip
    box = str(tmp_path / "box")
    program = job.Program([], impl.replace("{box}", box), name)
    placement = address.Placement("192.168.153.128", 19999, ["192.168.153.128"], fixed_option="--client-address")
    argv = job._spec_argv(program, tmp_path, assignment, placement)
    assert argv[1:7] == ["-I", "-B", "-m", "pytest", str(tmp_path / "spec" / "client"), "-q"]
    expected = [part.replace("{box}", box) for part in chosen]
    assert argv[argv.index("--client") : argv.index("--client") + len(expected)] == expected
    assert argv[argv.index("--sockspec-confine") + 1] == str(tmp_path / "confine.json")
    assert argv[-3:] == ["--client-address", "192.168.153.128:19999", "--sockspec-time-scale=1"]
    assert "--model" not in argv and "--server-log" not in argv


def test_a_placed_binary_starts_while_another_thread_forks(tmp_path):
    """`job.place_binary` leaves no descriptor of the binary open for writing in the grader, so a
    child that another grading thread forks meanwhile (here with a preexec_fn, the slow kind of
    fork) cannot make its exec fail with ETXTBSY.  shutil.copyfile in its place fails this within
    a few hundred tries."""
    true = Path(shutil.which("true"))
    stop = threading.Event()

    def fork_meanwhile() -> None:
        while not stop.is_set():
            subprocess.run([str(true)], preexec_fn=lambda: None)

    forker = threading.Thread(target=fork_meanwhile)
    forker.start()
    try:
        for i in range(300):
            target = tmp_path / f"binary-{i}"
            place_binary(true, target)
            subprocess.run([str(target)], check=True)
    finally:
        stop.set()
        forker.join()


class TestOptions:
    """The options of `grade`, `grade-one` and `autograder`, from the command line and --config."""

    def parse(self, *argv: str):
        from sockspec.grade import options, single

        return options.parse(single.parser(), ["ann.c", "--results", "r.json", *argv])

    def test_config_gives_defaults_the_command_line_overrides(self, tmp_path):
        config = tmp_path / "sockspec.toml"
        config.write_text('[grade]\nmodel = "forking"\ntimeout = 120\nsockspec-timeout = ["start=10"]\n\n'
                          "[weights]\nclose = 5\n")  # fmt: skip
        args = self.parse("--config", str(config), "--timeout", "60")
        assert (args.model, args.timeout, args.sockspec_timeout, args.reply) == ("forking", 60, ["start=10"], "echo")
        assert args.weights == config  # its [weights] table

    @pytest.mark.parametrize(
        "table, error",
        [('[grade]\nmodle = "x"\n', "'modle', which is not an option"),
         ('[grade]\nsockspec-timeout = "start=10"\n', "must be a list"),
         ('[grade]\nrole = "client"\nmodel = "threaded"\n', "--model does not apply to --role client"),
         ("[grade\n", "cannot read")],
    )  # fmt: skip
    def test_a_config_that_cannot_be_used_is_a_usage_error(self, tmp_path, table, error):
        from sockspec.grade import options

        config = tmp_path / "sockspec.toml"
        config.write_text(table)
        with pytest.raises(options.UsageError, match=error):
            self.parse("--config", str(config))

    def test_lang_comes_from_the_config_or_the_locale_and_reaches_the_spec(self, tmp_path, monkeypatch):
        from sockspec import i18n
        from sockspec.grade import options

        config = tmp_path / "sockspec.toml"
        config.write_text('[grade]\nmodel = "threaded"\nlang = "xx"\n')
        with pytest.raises(options.UsageError, match="--lang xx"):
            self.parse("--config", str(config))
        config.write_text('[grade]\nmodel = "threaded"\nlang = "en"\n')
        assert self.parse("--config", str(config)).lang == "en" and i18n.current() == "en"
        monkeypatch.setattr(options, "detect", lambda *flags: Isolation(None, None, "none"))
        monkeypatch.setattr(options, "applicable_tests", lambda *given: [])
        args = self.parse("--model", "threaded", "--lang", "en")
        assignment, _isolation = options.prepare(args)
        assert assignment.spec_options[-1] == "--lang=en"
        if "zh_CN" in i18n.languages():
            try:
                chinese, _isolation = options.prepare(self.parse("--model", "threaded", "--lang", "zh_CN"))
            finally:
                i18n.use("en")
            assert chinese.fingerprint != assignment.fingerprint  # a report in another language is graded again

    def test_a_config_without_weights_keeps_the_default_weights(self, tmp_path):
        from sockspec.grade import scoring

        config = tmp_path / "sockspec.toml"
        config.write_text('[grade]\nmodel = "threaded"\n')
        args = self.parse("--config", str(config))
        assert args.weights is None and scoring.load_policy(args.weights)[0] == scoring.DEFAULT_WEIGHTS["server"]
