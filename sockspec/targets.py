"""Turn `--impl` into a command line: the adapters between the spec and any server.

A target is one server implementation plus what it claims to be (its model)
and how it answers (its reply mode).  The spec never cares how a server was
written; it only needs to start it on a host and port of its choosing.
"""

from __future__ import annotations

import importlib
import importlib.util
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from sockspec import build

MODELS = ("iterative", "forking", "threaded")
REPLIES = ("echo", "stdin")
BUNDLED = tuple(f"reference.{model}" for model in MODELS)
SOURCE_SUFFIXES = (*build.COMPILERS, ".py")

IMPL_HELP = (
    "the server to test: reference.iterative|forking|threaded (bundled), "
    "'cmd:TEMPLATE' (a shell command; {host} and {port} are substituted and HOST "
    "and PORT set in its environment), or a .c/.cpp/.cc/.py file (built if needed, "
    "port passed as last argument and in PORT)"
)


class ImplError(Exception):
    """`--impl`, `--model` or `--reply` cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Target:
    """A server implementation, how to start it, and the model it claims."""

    impl: str  # as the user wrote it, for the reproduce command
    model: str
    reply: str
    argv_template: tuple[str, ...]  # may contain {host} and {port}
    cwd: Path
    model_given: bool = False  # --model was needed on the command line to reproduce

    @property
    def label(self) -> str:
        """Short, stable name used in test ids."""
        return f"{self.model}-{self.reply}"

    def argv(self, host: str, port: int) -> list[str]:
        return [part.replace("{host}", host).replace("{port}", str(port)) for part in self.argv_template]

    def command_line_options(self) -> str:
        """The pytest options that select this target, for a reproduce command."""
        options = f"--impl {shlex.quote(self.impl)}"
        if self.model_given:
            options += f" --model {self.model}"
        if self.reply != "echo":
            options += f" --reply {self.reply}"
        return options


def parse(impl: str, model: str | None, reply: str, cwd: Path, build_timeout: float) -> Target:
    """Build the target named by `--impl`, or raise ImplError saying what is wrong."""
    if reply not in REPLIES:
        raise ImplError(f"--reply must be one of {', '.join(REPLIES)}, not {reply!r}")
    if model is not None and model not in MODELS:
        raise ImplError(f"--model must be one of {', '.join(MODELS)}, not {model!r}")
    if impl.startswith("cmd:"):
        template = impl[len("cmd:") :].strip()
        if not template:
            raise ImplError("--impl cmd: needs a command, e.g. --impl 'cmd:./server {port}'")
        return Target(
            impl, _required_model(impl, model), reply, ("/bin/sh", "-c", template), cwd, True
        )
    if impl.endswith(SOURCE_SUFFIXES):
        return _source_target(impl, model, reply, cwd, build_timeout)
    return _module_target(impl, model, reply, cwd)


def bundled_targets(cwd: Path) -> list[Target]:
    """The three reference servers in both reply modes: what `pytest` alone runs."""
    return [_module_target(name, None, reply, cwd) for name in BUNDLED for reply in REPLIES]


def _required_model(impl: str, model: str | None) -> str:
    if model is None:
        raise ImplError(
            f"--model iterative|forking|threaded is required with --impl {impl}: "
            "the spec cannot guess how your server handles clients"
        )
    return model


def _source_target(impl: str, model: str | None, reply: str, cwd: Path, build_timeout: float) -> Target:
    source = (cwd / impl).resolve()
    if not source.is_file():
        raise ImplError(f"--impl {impl}: no such file")
    model = _required_model(impl, model)
    if source.suffix == ".py":
        argv = (sys.executable, str(source), "{port}")
    else:
        try:
            binary = build.build(source, build_timeout).binary
        except build.BuildError as error:
            raise ImplError(str(error)) from None
        argv = (str(binary), "{port}")
    return Target(impl, model, reply, argv, cwd, True)


def _module_target(name: str, model: str | None, reply: str, cwd: Path) -> Target:
    if not name.replace(".", "").replace("_", "").isalnum():
        raise ImplError(
            f"--impl {name!r} is not a module, a cmd: template or a .c/.cpp/.cc/.py file"
        )
    try:
        found = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise ImplError(
            f"--impl {name}: no such module (bundled servers: {', '.join(BUNDLED)}; "
            "for a program use cmd:TEMPLATE or a source file)"
        )
    declared = getattr(importlib.import_module(name), "MODEL", None)
    if declared not in MODELS:
        raise ImplError(f"--impl {name}: the module does not declare MODEL = one of {', '.join(MODELS)}")
    if model is not None and model != declared:
        raise ImplError(f"--impl {name} is a {declared} server, but --model {model} was given")
    argv = (sys.executable, "-m", name, "--host", "{host}", "--port", "{port}", "--reply", reply)
    return Target(name, declared, reply, argv, cwd)
