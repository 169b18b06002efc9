"""sockspec: a pytest specification suite for TCP socket servers, and the tools around it."""

from pathlib import Path

# The source folder: spec/, reference/ and pyproject.toml beside this package.
PROJECT = Path(__file__).resolve().parent.parent
