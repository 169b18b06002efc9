"""Compile a C or C++ program once and reuse the binary until its source changes.

Students run the spec again and again on the same file; instructors grade the
same submission twice.  Binaries are cached under a key made of the compiler
command and the source bytes, so an edit rebuilds and nothing else does.
Builds go to a temporary name and are renamed into place, so two pytest
workers building the same source at once cannot see half a binary.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sockspec.paths import user_cache

COMPILERS = {".c": "gcc", ".cpp": "g++", ".cc": "g++"}
# Like the student's own `gcc server.c -o server`: no optimisation and no
# fortification, so undefined behaviour shows the way it does for them.
FLAGS = ["-pthread"]
LIBS = ["-lpthread"]


class BuildError(Exception):
    """The compiler rejected the source; `output` holds what it said."""

    def __init__(self, source: Path, output: str) -> None:
        self.source = source
        self.output = output
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        self.first_error = next((line for line in lines if ": error:" in line or ": fatal error:" in line), "")
        self.first_error = self.first_error or (lines[0] if lines else "the compiler failed")
        super().__init__(f"{source} does not compile: {self.first_error}")


@dataclass(frozen=True)
class Built:
    binary: Path
    compiler_output: str


def cache_dir() -> Path:
    return user_cache("build")


def command(suffix: str, source: Path, out: Path) -> list[str]:
    """The compiler command that builds `source` (a .c, .cpp or .cc file) into `out`."""
    return [COMPILERS[suffix], *FLAGS, "-o", str(out), str(source), *LIBS]


def _entry(suffix: str, data: bytes) -> Path:
    """The cache folder of a source with these bytes: keyed by the compiler command and the bytes."""
    key = hashlib.sha256(" ".join([COMPILERS[suffix], *FLAGS, *LIBS]).encode() + b"\0" + data).hexdigest()
    return cache_dir() / key[:32]


def cached(suffix: str, data: bytes, stem: str = "binary") -> Built | None:
    """The binary built before from a source with these bytes, if there is one."""
    folder = _entry(suffix, data)
    binary = folder / stem
    if not binary.exists():
        return None
    log = folder / "compiler-output.txt"
    return Built(binary, log.read_text() if log.exists() else "")


def store(suffix: str, data: bytes, binary: Path, output: str, stem: str = "binary") -> Built:
    """Keep `binary`, built from a source with these bytes, and what the compiler said; renamed into
    place, so a reader never sees half a file."""
    folder = _entry(suffix, data)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "compiler-output.txt").write_text(output)
    data_of_binary = binary.read_bytes()
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as copy:
        copy.write(data_of_binary)
    os.chmod(copy.name, 0o755)
    os.replace(copy.name, folder / stem)
    return Built(folder / stem, output)


def build(source: Path, timeout: float) -> Built:
    """Compile `source` (C or C++) and return the cached binary."""
    data = source.read_bytes()
    found = cached(source.suffix, data, source.stem)
    if found is not None:
        return found
    folder = _entry(source.suffix, data)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        # Compile a copy, so the compiler sees exactly the bytes we hashed.
        copy = Path(scratch) / source.name
        copy.write_bytes(data)
        out = Path(scratch) / "a.out"
        try:
            done = subprocess.run(
                command(source.suffix, copy, out), capture_output=True, text=True, timeout=timeout,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise BuildError(source, f"error: the compiler did not finish within {timeout:g} s") from None
        except FileNotFoundError:
            raise BuildError(source, f"error: {COMPILERS[source.suffix]} is not installed") from None
        output = (done.stdout + done.stderr).replace(str(copy), str(source))
        if done.returncode != 0:
            raise BuildError(source, output)
        return store(source.suffix, data, out, output, source.stem)
