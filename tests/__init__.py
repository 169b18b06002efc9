"""The project's own tests: the harness, the grader, the bench, and the corpus the spec is proven on."""

from __future__ import annotations

import os


def program_environment(**extra: str) -> dict[str, str]:
    """The environment of a program these tests start (a pytest of its own, the grader, a bench
    run): this one's with `extra`, but with compiled modules cached.

    Some machines set PYTHONDONTWRITEBYTECODE; every pytest started then compiles hypothesis and
    sockspec again and rewrites their asserts, a second of CPU per run, and there are hundreds.
    """
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return env | extra
