"""Turn `--impl` into a command line: the adapters between the spec and any server.

A target is one server implementation plus what it claims to be (its model)
and how it answers (its reply mode).  The spec never cares how a server was
written; it only needs to start it on a host and port of its choosing.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from sockspec import build, paths

# How a server handles its clients: one at a time; a child process each; a thread each; all from one
# thread by readiness (select/poll/epoll, an event loop).  `any` claims only that clients are served
# at once, by whatever mechanism (goroutines, a thread pool, a mix): every behaviour test runs, and
# no check of the mechanism does.
MECHANISMS = ("iterative", "forking", "threaded", "evented")
ANY = "any"
MODELS = (*MECHANISMS, ANY)
# `--model auto`: the spec watches the server's first clients and runs for the model they show
# (sockspec.serverspec.mechanism); until then a target's model is this.
AUTO = "auto"
REPLIES = ("echo", "stdin")
BUNDLED = tuple(f"reference.{model}" for model in MECHANISMS)
SOURCE_SUFFIXES = (*build.COMPILERS, ".py")

IMPL_HELP = (
    "the server to test: reference.iterative|forking|threaded|evented (bundled), "
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
    model: str  # one of MODELS; "client" for a client program
    reply: str
    argv_template: tuple[str, ...]  # may contain {host} and {port}
    cwd: Path
    model_given: bool = False  # --model was needed on the command line to reproduce
    wrapper: tuple[str, ...] = ()  # a command every start of it runs under: the grader's sandbox
    found: str = ""  # what --model auto saw the server do, in words; empty when the model was declared

    @property
    def label(self) -> str:
        """Short, stable name used in test ids."""
        return f"{self.model}-{self.reply}"

    def argv(self, host: str, port: int) -> list[str]:
        told = (part.replace("{host}", host).replace("{port}", str(port)) for part in self.argv_template)
        return [*self.wrapper, *told]

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
    if model is not None and model not in (*MODELS, AUTO):
        raise ImplError(f"--model must be one of {', '.join((*MODELS, AUTO))}, not {model!r}")
    if impl.startswith("cmd:"):
        template = impl[len("cmd:") :].strip()
        if not template:
            raise ImplError("--impl cmd: needs a command, e.g. --impl 'cmd:./server {port}'")
        return Target(impl, _required_model(impl, model), reply, ("/bin/sh", "-c", template), cwd, True)
    try:
        if impl.endswith(SOURCE_SUFFIXES):
            return _source_target(impl, model, reply, cwd, build_timeout)
        return _module_target(impl, model, reply, cwd)
    except ImplError as error:
        message = str(error)
        raise ImplError(message if message.startswith("--") else f"--impl {message}") from None


def bundled_targets(cwd: Path) -> list[Target]:
    """The reference servers (one per mechanism) in both reply modes: what `pytest` alone runs."""
    return [_module_target(name, None, reply, cwd) for name in BUNDLED for reply in REPLIES]


def _required_model(impl: str, model: str | None) -> str:
    if model is None:
        raise ImplError(
            f"--model {'|'.join(MODELS)} is required with --impl {impl} "
            "(or --model auto: the spec watches its first clients and tells)"
        )
    return model


def _source_target(impl: str, model: str | None, reply: str, cwd: Path, build_timeout: float) -> Target:
    model = _required_model(impl, model)
    argv = _source_argv(impl, cwd, build_timeout, ("{port}",))
    return Target(impl, model, reply, argv, cwd, True)


def _source_argv(impl: str, cwd: Path, build_timeout: float, arguments: tuple[str, ...]) -> tuple[str, ...]:
    """The command that runs a .py file or a (freshly built) C/C++ file with `arguments`."""
    source = (cwd / impl).resolve()
    if not source.is_file():
        raise ImplError(f"{impl}: no such file")
    if source.suffix == ".py":
        return (sys.executable, str(source), *arguments)
    try:
        binary = build.build(source, build_timeout).binary
    except build.BuildError as error:
        raise ImplError(f"{impl} does not compile: {error.first_error}") from None
    return (str(binary), *arguments)


def _module(name: str) -> tuple[str, object]:
    """The module named by `name` (the bundled `reference.X` wherever sockspec is installed), imported,
    with the name to run it by; or raise ImplError saying what was expected."""
    if not name.replace(".", "").replace("_", "").isalnum():
        raise ImplError(f"{name!r} is not a module, a cmd: template or a .c/.cpp/.cc/.py file")
    module = paths.module_name(name)
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise ImplError(
            f"{name}: no such module (bundled: {', '.join(BUNDLED)}, reference.client; "
            "for a program use cmd:TEMPLATE or a source file)"
        )
    return module, importlib.import_module(module)


def _module_target(name: str, model: str | None, reply: str, cwd: Path) -> Target:
    module, imported = _module(name)
    declared = getattr(imported, "MODEL", None)
    if declared not in MECHANISMS:
        raise ImplError(f"--impl {name}: the module does not declare MODEL = one of {', '.join(MECHANISMS)}")
    if model == AUTO:
        return dataclasses.replace(_module_target(name, None, reply, cwd), model=AUTO, model_given=True)
    # Every concurrent server is also an `any` one: --model any runs its behaviour tests alone.
    if model is not None and model != declared and (model != ANY or declared == "iterative"):
        article = "an" if declared[0] in "aeiou" else "a"
        raise ImplError(f"--impl {name} is {article} {declared} server, but --model {model} was given")
    argv = (sys.executable, "-m", module, "--host", "{host}", "--port", "{port}", "--reply", reply)
    return Target(name, model or declared, reply, argv, cwd, model_given=model == ANY)


def parse_client(spec: str, cwd: Path, build_timeout: float) -> Target:
    """The client program named by `--client`, run against a server the spec plays.

    A module runs as `python -m MODULE --host H --port P`, a cmd: template as a
    shell command, a source file with the host and port as its last two
    arguments; HOST and PORT are always in its environment too.
    """
    if spec.startswith("cmd:"):
        template = spec[len("cmd:") :].strip()
        if not template:
            raise ImplError("--client cmd: needs a command, e.g. --client 'cmd:./client {host} {port}'")
        argv: tuple[str, ...] = ("/bin/sh", "-c", template)
    elif spec.endswith(SOURCE_SUFFIXES):
        argv = _source_argv(spec, cwd, build_timeout, ("{host}", "{port}"))
    else:
        module, _ = _module(spec)
        argv = (sys.executable, "-m", module, "--host", "{host}", "--port", "{port}")
    return Target(spec, "client", "echo", argv, cwd)
