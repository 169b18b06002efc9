"""`--impl` and `--client` parsing: every mistake is one line that says what to do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sockspec import build
from sockspec.targets import ImplError, bundled_targets, parse, parse_client

HERE = Path(__file__).parent


def test_bundled_module_knows_its_model():
    target = parse("reference.forking", None, "stdin", HERE, 60)
    assert (target.model, target.reply) == ("forking", "stdin")
    assert target.argv("127.0.0.1", 1234)[-6:] == ["--host", "127.0.0.1", "--port", "1234", "--reply", "stdin"]
    assert target.command_line_options() == "--impl reference.forking --reply stdin"


def test_cmd_template_substitutes_host_and_port_only():
    target = parse("cmd:./server {port} --bind {host} ${HOME}", "threaded", "echo", HERE, 60)
    assert target.argv("::1", 9) == ["/bin/sh", "-c", "./server 9 --bind ::1 ${HOME}"]
    assert target.command_line_options() == "--impl 'cmd:./server {port} --bind {host} ${HOME}' --model threaded"


def test_python_file_gets_port_as_last_argument(tmp_path):
    (tmp_path / "server.py").write_text("pass\n")
    target = parse("server.py", "iterative", "echo", tmp_path, 60)
    assert target.argv("h", 7) == [sys.executable, str(tmp_path / "server.py"), "7"]


def test_client_file_gets_host_and_port(tmp_path):
    (tmp_path / "client.py").write_text("pass\n")
    assert parse_client("client.py", tmp_path, 60).argv("h", 7)[-2:] == ["h", "7"]
    assert parse_client("reference.client", tmp_path, 60).argv("h", 7)[-4:] == ["--host", "h", "--port", "7"]


@pytest.mark.parametrize(
    "impl, model, reply, message",
    [
        ("reference.threaded", "forking", "echo", "is a threaded server, but --model forking was given"),
        ("reference.nosuch", None, "echo", "no such module"),
        ("cmd:./server", None, "echo", r"--model iterative\|forking\|threaded\|evented\|any is required"),
        ("reference.iterative", "any", "echo", "is an iterative server, but --model any was given"),
        ("reference.evented", "threaded", "echo", "is an evented server, but --model threaded was given"),
        ("cmd:", "threaded", "echo", "needs a command"),
        ("missing.c", "forking", "echo", "missing.c: no such file"),
        ("reference.threaded", None, "shout", "--reply must be one of"),
        ("two words", "threaded", "echo", "is not a module"),
    ],
)
def test_bad_impl_is_one_clear_line(impl, model, reply, message):
    with pytest.raises(ImplError, match=message) as caught:
        parse(impl, model, reply, HERE, 60)
    assert "\n" not in str(caught.value)


def test_c_source_is_built_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "server.c").write_text("int main(void) { return 0; }\n")
    first = parse("server.c", "forking", "echo", tmp_path, 60).argv("h", 1)[0]
    built = Path(first).stat().st_mtime_ns
    assert parse("server.c", "forking", "echo", tmp_path, 60).argv("h", 1)[0] == first
    assert Path(first).stat().st_mtime_ns == built
    (tmp_path / "server.c").write_text("int main(void) { return 1; }\n")
    assert parse("server.c", "forking", "echo", tmp_path, 60).argv("h", 1)[0] != first


def test_compile_error_names_the_first_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "broken.c").write_text("int main(void) { return x; }\n")
    with pytest.raises(
        ImplError, match=r"broken.c does not compile: .*broken.c:1:.*error.*'x' undeclared|x.*undeclared"
    ):
        parse("broken.c", "forking", "echo", tmp_path, 60)
    assert not list(build.cache_dir().glob("*/broken"))


def test_bundled_targets_cover_every_model_and_reply():
    labels = {t.label for t in bundled_targets(HERE)}
    assert labels == {f"{m}-{r}" for m in ("iterative", "forking", "threaded", "evented") for r in ("echo", "stdin")}


def test_a_concurrent_reference_runs_as_any_and_says_so():
    """--model any takes every concurrent reference (not the iterative one, which serves one client
    at a time), and the reproduce command keeps the --model that changed what ran."""
    for name in ("reference.forking", "reference.threaded", "reference.evented"):
        target = parse(name, "any", "echo", HERE, 60)
        assert (target.model, target.label) == ("any", "any-echo")
        assert target.command_line_options() == f"--impl {name} --model any"
