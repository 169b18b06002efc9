"""A pseudo-locale finds the text that bypasses the catalog.

In the pseudo-locale every message of the catalog is itself between ⟦ and ⟧.
A run of the spec in it against buggy programs that fail every family must
show no English word outside those brackets, except where the spec shows
what is not language: bytes, transcripts, the program's output, test ids,
cause ids, code and commands.  A sentence built with an f-string, or a
constant shown without `_()`, shows up here as English.
"""

from __future__ import annotations

import ast
import re

import pytest
from babel.messages.catalog import Catalog

from sockspec import i18n
from sockspec.causes import CAUSES
from tests import program_environment
from tests.corpus import entries
from tests.i18n import catalog

pytestmark = pytest.mark.slow

PSEUDO = "qps"
OPEN, CLOSE = "\u27e6", "\u27e7"
# The fields whose lines are bytes, a program's output or a command: shown as they are, in any language.
VERBATIM = ("TRANSCRIPT", "OUTPUT", "STDOUT", "STDERR", "REPRODUCE")
# One buggy program per family (the README's examples), each against the tests of its family; and
# buggy clients against the client spec's families that catch them.
PROGRAMS = [
    ("servers/buggy/strlen_send.c", "send_recv"),
    ("servers/buggy/parent_keeps_fd.c", "close"),
    ("servers/buggy/never_returns_to_accept.c", "queues"),
    ("servers/buggy/global_buffer.c", "concurrency"),
    ("servers/buggy/declared_threaded_is_iterative.py", "model"),
    ("servers/buggy/one_wait_per_sigchld.c", "zombies"),
    ("servers/buggy/accept_eintr_exits.c", "lifecycle"),
    ("servers/buggy/continue_on_zero.c", "resources"),
    ("clients/buggy/sscanf_word.c", "chat"),
    ("clients/buggy/connect_error_on_stdout.c", "connect"),
    ("clients/buggy/ignores_end_of_input.py", "end_of_input"),
    ("clients/buggy/busy_poll.py", "idle_cpu"),
    ("clients/buggy/drops_last_byte.py", "reply_sizes"),
    ("clients/buggy/sigpipe_after_reset.c", "reset"),
    ("clients/buggy/continue_on_recv_zero.c", "server_close"),
    ("clients/buggy/gives_up_waiting.py", "stream"),
]
_INNERMOST = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
_BYTES = re.compile(r"""b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*\"""")
_TEST_ID = re.compile(r"\btest_\w+(?:\[[^\]]*\])?")
_CODE = re.compile(r"[\w.]*\([^()]*\)|\b[A-Z_]{2,}[A-Z0-9_]*\b|--[\w-]+|\S*[/_]\S*")


@pytest.fixture(scope="module")
def pseudo_environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a run that speaks the pseudo-locale."""
    root = tmp_path_factory.mktemp("locale")
    pseudo = Catalog(locale="en", domain=i18n.DOMAIN)
    for message in catalog.template():
        if isinstance(message.id, tuple):
            pseudo.add(message.id, tuple(OPEN + text + CLOSE for text in message.id))
        elif message.id:
            pseudo.add(message.id, OPEN + message.id + CLOSE)
    folder = root / PSEUDO / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / f"{i18n.DOMAIN}.mo").write_bytes(catalog.compiled(pseudo))
    return program_environment(SOCKSPEC_LOCALE_DIR=str(root))


def bypasses(text: str) -> list[str]:
    """The English words of `text` (a failure, or the diagnosis) that came from no catalog."""
    kept, verbatim = [], False
    for line in text.splitlines():
        if not line.startswith(" "):
            verbatim = any(line.startswith(OPEN + label + CLOSE) for label in VERBATIM)
        if not verbatim:
            kept.append(line)
    rest = " ".join(kept)
    while (shorter := _INNERMOST.sub(" ", rest)) != rest:
        rest = shorter
    for pattern in (_BYTES, _TEST_ID, _CODE):
        rest = pattern.sub(" ", rest)
    rest = re.sub(r"\b(?:" + "|".join(re.escape(cause) for cause in CAUSES) + r")\b", " ", rest)
    return re.findall(r"[A-Za-z]{2,}(?:\s+[A-Za-z]{2,})*", rest)


def diagnosis_section(output: str) -> str:
    """The DIAGNOSIS section of a run's output."""
    match = re.search(rf"={{3,}} {OPEN}DIAGNOSIS.*?(?=\n={{3,}} |\Z)", output, re.S)
    return match.group(0) if match else ""


@pytest.mark.parametrize(
    ("program", "family"), PROGRAMS, ids=[f"{program.split('/')[0]}-{family}" for program, family in PROGRAMS]
)
def test_every_word_of_a_failure_comes_from_the_catalog(pseudo_environment, program, family):
    entry = next(e for e in entries.discover()[0] if e.name == program)
    module = ast.parse((entry.spec_dir / f"test_{family}.py").read_text())
    tests = tuple(
        node.name for node in module.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test")
    )
    result = entries.run(entry, only=tests, env=pseudo_environment, options=("--lang", PSEUDO))
    failed = [test for test in result.tests if test.outcome == "failed"]
    assert failed, result.output[-3000:]
    found = {test.nodeid: words for test in failed if (words := bypasses(test.details))}
    diagnosis = diagnosis_section(result.output)
    assert diagnosis, result.output[-3000:]
    if words := bypasses(diagnosis):
        found["DIAGNOSIS"] = words
    assert not found, "English outside the catalog:\n" + "\n".join(f"{k}: {v}" for k, v in found.items())
