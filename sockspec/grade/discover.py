"""Find the submissions in a class folder, what kind each is, and a digest of its content.

One entry per student: a single source file, or a folder.  A folder with a
`run` script is run as is; otherwise the one source in it that plays the
graded role is chosen (a student often hands in the notes' client next to
their server): the server calls listen(), the client calls connect() and
not listen().  Anything else is still a submission, with a `problem`
saying in one line why it cannot be run: every student gets a verdict.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from sockspec.build import COMPILERS
from sockspec.i18n import _

SOURCE_SUFFIXES = (*COMPILERS, ".py")
KINDS = {".c": "c", ".cpp": "c++", ".cc": "c++", ".py": "python"}
MAX_BYTES = 50 << 20  # larger than any hand-in; copying more into the sandbox is refused
LISTENS = re.compile(rb"\blisten\s*\(")
CONNECTS = re.compile(rb"\b(?:connect|create_connection)\s*\(")  # C's connect(), Python's too


@dataclass(frozen=True)
class Submission:
    name: str  # the student's entry, without a source suffix; a folder name in the reports
    path: Path  # the entry in the class folder
    kind: str  # c, c++, python, run, or none
    program: Path | None  # the source file or run script, inside `path`
    digest: str  # of every file's name and bytes: a changed submission is graded again
    problem: str = ""  # why it cannot be run, one line; '' if it can

    @property
    def sources(self) -> list[Path]:
        """Files worth reading for a hard-coded address: every source and the run script."""
        if self.path.is_file():
            return [self.path]
        return [p for p in _files(self.path) if p.suffix in SOURCE_SUFFIXES or p.name == "run"]


def discover(folder: Path, role: str = "server") -> list[Submission]:
    """Every submission in `folder`, sorted by name; hidden entries are ignored.  `role` (server or
    client) decides which source of a folder holding several is the program."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    stems = [_stem(p) for p in entries]
    found = []
    for entry, stem in zip(entries, stems, strict=True):
        name = stem if stems.count(stem) == 1 else entry.name  # alice.c and alice.py: keep both apart
        found.append(_submission(name, entry, role))
    return found


def single(path: Path, role: str = "server") -> Submission:
    """The one submission a platform hands over (Gradescope's /autograder/submission, PrairieLearn's
    /grade/student): a folder is the student's entry, as in a class folder; a folder holding only
    one subfolder (a zip's top folder) is that subfolder.  Its name is the folder's."""
    inner = [p for p in path.iterdir() if not p.name.startswith(".")] if path.is_dir() else []
    if len(inner) == 1 and inner[0].is_dir():
        path = inner[0]
    return _submission(_stem(path), path, role)


def shard(submissions: list[Submission], index: int, count: int) -> list[Submission]:
    """The deterministic slice `index` of `count` (1-based): by a hash of the name, so a student
    stays in the same shard when others are added or removed."""
    return [s for s in submissions if zlib.crc32(s.name.encode()) % count == index - 1]


def _stem(path: Path) -> str:
    return path.stem if path.is_file() and path.suffix in SOURCE_SUFFIXES else path.name


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts))


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for file in [path] if path.is_file() else _files(path):
        data = file.read_bytes()
        size += len(data)
        digest.update(str(file.relative_to(path.parent)).encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest(), size


def _submission(name: str, entry: Path, role: str) -> Submission:
    try:
        digest, size = _digest(entry)
    except OSError as error:
        return Submission(
            name, entry, "none", None, "", _("cannot read the submission: {error}").format(error=error.strerror)
        )
    if size > MAX_BYTES:
        problem = _("the submission is larger than {mib} MiB").format(mib=MAX_BYTES >> 20)
        return Submission(name, entry, "none", None, digest, problem)
    if entry.is_file():
        if entry.suffix in KINDS:
            return Submission(name, entry, KINDS[entry.suffix], entry, digest)
        problem = _("not a C, C++ or Python source: {name}").format(name=entry.name)
        return Submission(name, entry, "none", None, digest, problem)
    run = entry / "run"
    if run.is_file():
        return Submission(name, entry, "run", run, digest)
    sources = [p for p in _files(entry) if p.suffix in KINDS]
    if not sources:
        what = _("the folder is empty") if not _files(entry) else _("no C, C++ or Python source and no run script")
        return Submission(name, entry, "none", None, digest, what)
    chosen = _program_among(sources, role)
    if chosen is None:
        names = ", ".join(str(p.relative_to(entry)) for p in sources[:4])
        if role == "server":
            problem = _("cannot tell which source is the server ({names}); add a run script").format(names=names)
        else:
            problem = _("cannot tell which source is the client ({names}); add a run script").format(names=names)
        return Submission(name, entry, "none", None, digest, problem)
    return Submission(name, entry, KINDS[chosen.suffix], chosen, digest)


def _program_among(sources: list[Path], role: str) -> Path | None:
    """The one source that is the server (calls listen()) or the client (calls connect(), not
    listen()); failing that, the one named after its role."""
    if len(sources) == 1:
        return sources[0]
    texts = {p: p.read_bytes() for p in sources}
    if role == "server":
        playing = [p for p in sources if LISTENS.search(texts[p])]
    else:
        playing = [p for p in sources if CONNECTS.search(texts[p]) and not LISTENS.search(texts[p])]
    if len(playing) == 1:
        return playing[0]
    named = [p for p in playing or sources if role in p.stem.lower()]
    return named[0] if len(named) == 1 else None
