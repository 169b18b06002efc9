"""Where sockspec's own parts are, from a source tree or installed, and where it may write.

The project's layout keeps `spec/` and `reference/` beside the `sockspec`
package.  A wheel puts them inside it instead (`sockspec.spec`,
`sockspec.reference`: no generic top-level name lands in site-packages), so
the folder that holds `spec/` is the package itself there, and the
project's root in a source tree or an editable install.  Everything that
needs the spec's or the references' place asks here.

Nothing is written into the folder a user runs the spec from: what sockspec
keeps between runs (built binaries, hypothesis's files, pytest's cache)
goes under the user's cache folder.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The folder holding spec/ (and reference/): a spec run's rootdir, so test ids read spec/...
PROJECT = PACKAGE if (PACKAGE / "spec").is_dir() else PACKAGE.parent
SPEC = PROJECT / "spec"
REFERENCE = "reference"  # what --impl and --client call the bundled programs' package, installed or not


def user_cache(*parts: str) -> Path:
    """A folder of sockspec's under the user's cache folder (XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base, "sockspec", *parts)


def module_name(name: str) -> str:
    """The module to import for `name`: `reference.threaded` is `sockspec.reference.threaded` once
    installed; any other name, and `reference...` in a source tree without an install, is itself."""
    if name == REFERENCE or name.startswith(f"{REFERENCE}."):
        installed = f"sockspec.{name}"
        try:
            if importlib.util.find_spec(installed) is not None:
                return installed
        except ModuleNotFoundError:
            pass
    return name
