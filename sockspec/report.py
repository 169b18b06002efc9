"""Turn a spec failure into the few plain lines a student can act on.

Layout (one heading per line, so it also reads well in a grader's report):

    BEHAVIOUR   what the spec requires, and the section of the notes it comes from
    DID         what the test did (its docstring)
    EXPECTED    what the spec expected
    HAPPENED    what happened instead
    NOTE        why deadlines were shorter, when the server had already missed one
    LIKELY BUG  the usual cause, in the words of the course
    TRANSCRIPT  the bytes that crossed the wire, per client
    SERVER      the server process's state when the test failed
    OUTPUT      the server's last lines of stdout and stderr
    REPRODUCE   one command that runs just this test again
"""

from __future__ import annotations

import re
import signal
import unicodedata
from dataclasses import dataclass

import pytest
from _pytest._code.code import ExceptionChainRepr, ReprEntryNative, ReprFileLocation, ReprTraceback

from sockspec.failure import SpecFailure
from sockspec.i18n import N_, _
from sockspec.paths import PROJECT

WIDTH = 100
LABEL_WIDTH = 12  # the label and at least one space
# A word, or a single character of a script written without spaces (Chinese), or spaces.
_TOKENS = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+|\s+")


def width(text: str) -> int:
    """The columns `text` takes in a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(label: str, columns: int = LABEL_WIDTH) -> str:
    """`label` followed by spaces up to `columns` columns (at least one)."""
    return label + " " * max(1, columns - width(label))


def wrap(text: str, columns: int) -> list[str]:
    """`text` in lines of at most `columns` columns, broken at spaces, or between Chinese
    characters; a word longer than a line (a byte string) is cut, as textwrap cuts it."""
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        if token.isspace():
            line += " " if line else ""
            continue
        while token:
            if width(line + token) <= columns:
                line, token = line + token, ""
            elif line:
                lines.append(line.rstrip())
                line = ""
            else:
                cut = max([i for i in range(1, len(token) + 1) if width(token[:i]) <= columns] or [1])
                lines.append(token[:cut])
                token = token[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


@dataclass(frozen=True)
class FailureParts:
    """What a half's handle says of a failure, besides what every failure says."""

    program: str  # the label of the program's line: SERVER, CLIENT
    program_line: str  # its state, or how it ended
    outputs: dict[str, list[str]]  # its last output, by label
    exit_description: str  # how it ended ('' while it runs): a death by signal has a hint of its own
    signal_hints: dict
    who: str  # the program, in words: "server", "client"
    options: str  # the options that select the program and where it runs, for a reproduce command


def _field(name: str, text: str) -> list[str]:
    lines = wrap(text, WIDTH - LABEL_WIDTH) or [""]
    return [pad(_(name)) + lines[0]] + [pad("") + line for line in lines[1:]]


def _block(name: str, lines: list[str]) -> list[str]:
    if not lines:
        return [pad(_(name)) + _("(none)")]
    return [_(name)] + [f"  {line}" for line in lines]


# The labels of a failure, translated where they are shown.
LABELS = (
    N_("BEHAVIOUR"), N_("DID"), N_("EXPECTED"), N_("HAPPENED"), N_("NOTE"), N_("LIKELY BUG"), N_("TRANSCRIPT"),
    N_("SERVER"), N_("CLIENT"), N_("OUTPUT"), N_("STDOUT"), N_("STDERR"), N_("REPRODUCE"),
)  # fmt: skip


def signal_hint(exit_description: str, hints: dict[signal.Signals, str]) -> str:
    """The usual cause of a death by signal, if `exit_description` tells of one."""
    return next((hint for sig, hint in hints.items() if sig.name in exit_description), "")


def reproduce(options: str, item: pytest.Item) -> str:
    """The command that runs `item` again with `options`, to be pasted where pytest was started:
    the test's file is named relative to that folder when it is inside it, else as `spec/...`,
    which the spec finds from any folder (`invocation.anchor`), wherever sockspec is installed."""
    cwd = item.config.invocation_params.dir
    if item.path.is_relative_to(cwd):
        path = item.path.relative_to(cwd)
    elif item.path.is_relative_to(PROJECT):
        path = item.path.relative_to(PROJECT)
    else:
        path = item.path
    names = item.nodeid.partition("::")[2]
    quoted = f"{path}::{names}".replace("'", "'\\''")  # always quoted, as test ids mostly need to be
    return f"pytest {options} '{quoted}'"


def render(
    *,
    behaviour: str,
    did: str,
    failure: SpecFailure,
    likely_bug: str,
    note: str,
    transcript: list[str],
    program_line: str,
    outputs: dict[str, list[str]],
    reproduce: str,
    exit_description: str = "",
    program: str = "SERVER",
    signal_hints: dict[signal.Signals, str],
) -> str:
    """The whole failure message, as plain text.

    `program_line` is the program's state (or how it ended), shown under the
    `program` label; `outputs` are its output streams by label.
    """
    # A failure that knows its own cause says it; the test's usual cause is for the others.
    hints = [signal_hint(exit_description, signal_hints), failure.likely_bug or likely_bug]
    lines = [
        *_field("BEHAVIOUR", behaviour),
        *_field("DID", _(did)),
        *_field("EXPECTED", _(failure.expected)),
        *_field("HAPPENED", _(failure.happened)),
        *(_field("NOTE", note) if note else []),
        *_field("LIKELY BUG", likely_bug_text(hints)),
        *_block("TRANSCRIPT", transcript),
        *_field(program, program_line),
        *(line for label, lines in outputs.items() for line in _block(label, lines)),
        pad(_("REPRODUCE")) + reproduce,
    ]
    return "\n".join(lines)


def likely_bug_text(hints: list[str]) -> str:
    """The hints a failure has, translated, as one line."""
    shown = dict.fromkeys(_(hint) for hint in hints if hint)
    return _("; or ").join(shown) or _("see the transcript")


def as_longrepr(text: str, failure: SpecFailure, location: tuple[str, int | None, str]) -> ExceptionChainRepr:
    """`text` in the form pytest gives a failure: printed whole in the failure's section, while the
    short summary at the end of a run (whole on CI, where pytest does not trim it) gets the
    one-line `failure`. It survives pytest-xdist's trip from worker to controller, which a plain
    string would too, but then as the summary line as well.
    """
    path, lineno = location[:2]
    crash = ReprFileLocation(path, (lineno or 0) + 1, " ".join(str(failure).split()))
    traceback = ReprTraceback([ReprEntryNative([text + "\n"])], None, "native")
    return ExceptionChainRepr([(traceback, crash, None)])
