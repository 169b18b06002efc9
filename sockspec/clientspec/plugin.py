"""Placeholder: the `--client` option and the client-spec fixtures (being written)."""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("sockspec").addoption("--client", metavar="CLIENT", help="the client program to test")
