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
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "sockspec" / "build"


def build(source: Path, timeout: float) -> Built:
    """Compile `source` (C or C++) and return the cached binary."""
    compiler = COMPILERS[source.suffix]
    data = source.read_bytes()
    key = hashlib.sha256(" ".join([compiler, *FLAGS, *LIBS]).encode() + b"\0" + data).hexdigest()
    folder = cache_dir() / key[:32]
    binary = folder / source.stem
    log = folder / "compiler-output.txt"
    if binary.exists():
        return Built(binary, log.read_text() if log.exists() else "")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        # Compile a copy, so the compiler sees exactly the bytes we hashed.
        copy = Path(scratch) / source.name
        copy.write_bytes(data)
        out = Path(scratch) / "a.out"
        try:
            done = subprocess.run(
                [compiler, *FLAGS, "-o", str(out), str(copy), *LIBS],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise BuildError(source, f"error: the compiler did not finish within {timeout:g} s") from None
        except FileNotFoundError:
            raise BuildError(source, f"error: {compiler} is not installed") from None
        output = (done.stdout + done.stderr).replace(str(copy), str(source))
        if done.returncode != 0:
            raise BuildError(source, output)
        log.write_text(output)
        os.replace(out, binary)
    return Built(binary, output)
