"""`pytest --impl X` and `pytest --client X` run the same spec from any folder, whatever X is.

pytest settles its rootdir and reads its config file before it loads any
plugin, so before `--impl` exists: in `--impl /elsewhere/server.c` it takes
the value for a test path, and the rootdir becomes a folder above both the
project and the server, where our pyproject.toml is not read; started in a
student's own folder, it is that folder.  No hook of a plugin runs early
enough to change that decision.  So the spec does not depend on it:

- the spec's folders come from this package's location, not from the rootdir;
- before the options are parsed for good, the run is anchored in the project
  (`anchor`): its spec folders as the test paths when none were given, the
  project as confcutdir and rootdir (so test ids are the same from anywhere),
  and the project's pytest settings added when pytest read another config
  file, or none.

A failure's reproduce command names the test's file so that it works in the
folder the user typed the command in (`report.reproduce`).
"""

from __future__ import annotations

import os
import shlex
import tomllib
from pathlib import Path

import pytest

from sockspec import PROJECT

SPEC = PROJECT / "spec"
PYPROJECT = PROJECT / "pyproject.toml"


def halves(server: bool, client: bool) -> list[Path]:
    """The spec folders to run: `--impl` checks a server, `--client` a client, both check both."""
    return [SPEC / half for half, wanted in (("server", server), ("client", client)) if wanted]


def anchor(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Make a run of the spec look to pytest as if it had been started in the project's root.

    Called from `pytest_load_initial_conftests`: the first hook that sees the command line with
    our options known, before conftests are loaded and before the options are parsed for good.
    `args` is the list pytest parses next, so what is added to it counts as typed (the use
    pytest documents for this hook).  A run with its own --rootdir or -c, or with test paths
    outside the project, is left as it is.
    """
    known = parser.parse_known_args(args)
    wanted = halves(bool(known.impl), bool(getattr(known, "client", None)))
    for index, argument in enumerate(args):
        if argument in known.file_or_dir and (found := spec_path(argument, config)):
            args[index] = found
    paths = [spec_path(path, config) or path for path in known.file_or_dir]
    if not wanted or known.rootdir or known.inifilename or not all(_in_project(path, config) for path in paths):
        return
    if not SPEC.is_dir():
        # A built package (pip install . or a wheel) holds sockspec and reference, not spec/.
        raise pytest.UsageError(
            f"sockspec: the spec is not installed ({SPEC} is missing): install sockspec from its source folder, "
            "with pip install -e FOLDER"
        )
    if config.inipath is None or config.inipath.resolve() != PYPROJECT:
        args[:0] = project_options(config)
    if known.confcutdir is None:
        # Conftests are looked for from here down, and the collection tree starts here.
        args[:0] = ["--confcutdir", str(PROJECT)]
    if not paths:
        # The initial conftests (the root conftest.py among them, which may only be loaded as
        # one) are then found from the spec's folders, not from the folder pytest started in.
        args += [str(half) for half in wanted]
    # The initial conftests are loaded by what this namespace says; it was parsed before.
    parser.parse_known_args(args, namespace=config.known_args_namespace)
    if config.rootpath.resolve() != PROJECT and hasattr(config, "_rootpath"):
        # Private, and the one thing here that is: test ids, locations in reports and the cache
        # are relative to the rootdir, and pytest has no public way to set it once it decided.
        # Without the attribute (a future pytest) the run still collects the right tests.
        config._rootpath = PROJECT


def spec_path(argument: str, config: pytest.Config) -> str:
    """`spec/server/test_x.py::test_y` (a REPRODUCE line's) as an absolute path into the installed spec,
    when the folder pytest started in has no such file of its own; '' otherwise."""
    file, sep, rest = argument.partition("::")
    if not file.startswith("spec/") or (config.invocation_params.dir / file).exists():
        return ""
    found = PROJECT / file
    return f"{found}{sep}{rest}" if found.exists() else ""


def _in_project(argument: str, config: pytest.Config) -> bool:
    path = config.invocation_params.dir / argument.split("::", 1)[0]
    return path.resolve().is_relative_to(PROJECT)


def project_options(config: pytest.Config) -> list[str]:
    """The settings of the project's pyproject.toml, for a run that did not read it: `addopts` as
    the options to add, `filterwarnings` added to the run's own, pytest-timeout's `timeout` as
    `--timeout` unless PYTEST_TIMEOUT sets one.

    A `-p no:NAME` among the options also blocks NAME here: pytest has loaded its plugins already.
    `testpaths` does not apply (`anchor` chooses the spec's folders), and `xfail_strict` has no
    command-line form (the spec marks no test xfail).
    """
    document = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    settings = document.get("tool", {}).get("pytest", {}).get("ini_options", {})
    addopts = settings.get("addopts", [])
    options = shlex.split(addopts) if isinstance(addopts, str) else list(addopts)
    for flag, value in zip(options, options[1:], strict=False):
        if flag == "-p" and value.startswith("no:"):
            config.pluginmanager.set_blocked(value.removeprefix("no:"))
    for line in settings.get("filterwarnings", []):
        config.addinivalue_line("filterwarnings", line)
    if "timeout" in settings and config.pluginmanager.hasplugin("timeout") and "PYTEST_TIMEOUT" not in os.environ:
        options += ["--timeout", str(settings["timeout"])]
    return options
