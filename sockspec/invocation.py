"""`pytest --impl X` and `pytest --client X` run the same spec from any folder, whatever X is.

pytest settles its rootdir and reads its config file before it loads any
plugin, so before `--impl` exists: in `--impl /elsewhere/server.c` it takes
the value for a test path, and the rootdir becomes a folder above both the
spec and the server, where no settings of ours are read; started in a
student's own folder, it is that folder.  No hook of a plugin runs early
enough to change that decision.  So the spec does not depend on it:

- the spec's folders come from this package's location (`paths`), not from
  the rootdir, in a source tree and installed from a wheel alike;
- before the options are parsed for good, the run is anchored at the spec
  (`anchor`): its folders as the test paths when none were given, the
  folder holding spec/ as confcutdir and rootdir (so test ids are the same
  from anywhere), and the spec's settings (`SPEC_OPTIONS`) added when the
  run did not read the project's own pyproject.toml;
- a `spec/...` test path that the current folder does not have, as a
  failure's REPRODUCE line gives it (`report.reproduce`), is the spec's.

Nothing lands in the user's folder: pytest's cache goes under the user's
cache folder (`paths.user_cache`), as hypothesis's files do (see `plugin`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sockspec.paths import PROJECT, SPEC, user_cache

PYPROJECT = PROJECT / "pyproject.toml"  # there only in a source tree (or an editable install)
# The settings a spec run needs wherever it starts, as options; the project's pyproject.toml has
# them too (tests/harness checks), with the project's own stricter settings for its tests.
# --strict-markers: a misspelt marker is an error; pytest-benchmark (on some machines) warns under
# xdist; pytest-timeout's backstop, far above the spec's own deadlines.
SPEC_OPTIONS = ("--strict-markers", "-p", "no:benchmark")
BACKSTOP_SECONDS = 300


def halves(server: bool, client: bool) -> list[Path]:
    """The spec folders to run: `--impl` checks a server, `--client` a client, both check both."""
    return [SPEC / half for half, wanted in (("server", server), ("client", client)) if wanted]


def anchor(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Make a run of the spec look to pytest as if it had been started where spec/ is.

    Called from `pytest_load_initial_conftests`: the first hook that sees the command line with
    our options known, before conftests are loaded and before the options are parsed for good.
    `args` is the list pytest parses next, so what is added to it counts as typed (the use
    pytest documents for this hook).  A run with its own --rootdir or -c, or with test paths
    outside the spec, is left as it is.
    """
    known = parser.parse_known_args(args)
    wanted = halves(bool(known.impl), bool(getattr(known, "client", None)))
    for index, argument in enumerate(args):
        if argument in known.file_or_dir and (found := spec_path(argument, config)):
            args[index] = found
    paths = [spec_path(path, config) or path for path in known.file_or_dir]
    if not wanted or known.rootdir or known.inifilename or not all(_in_project(path, config) for path in paths):
        return
    if config.inipath is None or config.inipath.resolve() != PYPROJECT:
        args[:0] = spec_options(config)
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
        # are relative to the rootdir, and pytest decides it before any plugin is loaded, with
        # no public way to change it after.  Without the attribute (a future pytest) the run
        # still collects the right tests, with ids relative to where it started.
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


def spec_options(config: pytest.Config) -> list[str]:
    """The spec's settings for a run that did not read the project's pyproject.toml: `SPEC_OPTIONS`,
    pytest's cache under the user's cache folder (not in the spec's folder, nor in the user's), and
    pytest-timeout's backstop unless PYTEST_TIMEOUT sets one.

    A `-p no:NAME` among the options also blocks NAME here: pytest has loaded its plugins already.
    """
    options = [*SPEC_OPTIONS, "-o", f"cache_dir={user_cache('pytest')}"]
    for flag, value in zip(options, options[1:], strict=False):
        if flag == "-p" and value.startswith("no:"):
            config.pluginmanager.set_blocked(value.removeprefix("no:"))
    if config.pluginmanager.hasplugin("timeout") and "PYTEST_TIMEOUT" not in os.environ:
        options += ["--timeout", str(BACKSTOP_SECONDS)]
    return options
