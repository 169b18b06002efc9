"""The options of every grading command, and the assignment and sandbox they make.

`sockspec grade` (a class folder) and `sockspec grade-one` (one submission,
as a platform hands it over) grade the same way: the same role, model, reply
mode, limits, waits, weights and sandbox.  Their options can also come from
a TOML file (`--config`): its [grade] table holds any of them by name (the
command line still wins), and its [weights] and [visibility] tables are
those of a weights file, so one file describes a whole assignment.

    [grade]
    model = "threaded"
    timeout = 300
    sockspec-timeout = ["start=10"]
    lang = "zh_CN"        # the language of every report, and of the spec's failures

    [weights]
    send_recv = 4

    [visibility]          # Gradescope's: visible (default), hidden, after_due_date, after_published
    resources = "after_due_date"
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import tomllib
from pathlib import Path

from sockspec import i18n, timeouts
from sockspec.grade.cgroups import Limits
from sockspec.grade.isolation import Isolation, detect
from sockspec.grade.job import Assignment
from sockspec.grade.scoring import WeightsError, applicable_tests, load_policy
from sockspec.paths import PACKAGE, PROJECT, SPEC
from sockspec.signals import become_subreaper, take_back_ctrl_c
from sockspec.targets import MODELS, REPLIES

ROLES = ("server", "client")


class UsageError(Exception):
    """The options cannot be used; the message says why in one line."""


def add_grading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML file: options in [grade], and [weights] and [visibility] tables")
    p.add_argument("--role", default="server", choices=ROLES, help="grade servers (default) or clients")
    p.add_argument("--model", choices=MODELS, help="the server model the assignment asks for (servers: required)")
    p.add_argument("--reply", choices=REPLIES, help="servers: echo (default) or stdin, as for the spec")
    p.add_argument(
        "--client-binary", action="store_true", help="clients: grade the binary-safe tests too (every byte shown)"
    )
    p.add_argument("--timeout", type=float, default=300.0, help="wall clock per submission, seconds (default 300)")
    p.add_argument("--weights", type=Path, help="TOML file: a [weights] table (family = points), and [visibility]")
    p.add_argument("--max-processes", type=int, default=512, help="tasks per submission, threads included (512)")
    p.add_argument("--memory", type=int, default=1024, metavar="MIB", help="memory per submission in MiB (1024)")
    p.add_argument("--cpus", type=float, default=1.0, help="CPU cores per submission (1)")
    p.add_argument(
        "--disk",
        type=int,
        default=256,
        metavar="MIB",
        help="a submission's working folder, and each /tmp, in MiB (256)",
    )
    p.add_argument(
        "--sandbox-read", action="append", default=[], metavar="PATH", type=Path,
        help="a folder or file every submission may read, besides the system's (repeatable), e.g. /opt/jdk",
    )  # fmt: skip
    p.add_argument(
        "--sockspec-timeout", action="append", default=[], metavar="NAME=SECONDS", help="passed on to the spec"
    )
    p.add_argument("--sockspec-time-scale", type=float, default=1.0, metavar="FACTOR", help="passed on to the spec")
    add_lang_option(p, "the reports and the spec's failures")
    p.add_argument("--no-namespaces", action="store_true", help="do not use namespaces (test the fallback)")
    p.add_argument("--no-cgroups", action="store_true", help="do not use cgroups (test the fallback)")


def add_lang_option(p: argparse.ArgumentParser, what: str, note: str = "") -> None:
    """`--lang`, the language of `what`, defaulting from the locale."""
    languages = i18n.languages()
    default = "(default: from LANGUAGE, LC_ALL, LC_MESSAGES, LANG)"
    help_text = f"the language of {what}: {', '.join(languages)} {default}{note}"
    p.add_argument("--lang", choices=languages, default=i18n.from_environment(), help=help_text)


def parse(p: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """The command line, over the defaults of --config's [grade] table; UsageError if they cannot be used.
    The grader speaks --lang from then on (`sockspec.i18n.use`)."""
    first, _rest = p.parse_known_args(argv)
    tables = _read_config(first.config) if first.config is not None else {}
    p.set_defaults(**_config_defaults(first.config, tables.get("grade", {}), vars(first)))
    args = p.parse_args(argv)
    if args.weights is None and ("weights" in tables or "visibility" in tables):
        args.weights = args.config
    _check(args)
    i18n.use(args.lang)
    return args


def _read_config(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None


def _config_defaults(path: Path | None, table: dict, options: dict) -> dict:
    """The [grade] `table` of `path` as defaults of the command's `options` (name -> value as parsed)."""
    defaults = {}
    for name, value in table.items():
        dest = name.replace("-", "_")
        if dest not in options or dest in ("config", "submission", "submissions"):
            raise UsageError(f"{path}: [grade] has {name!r}, which is not an option of this command")
        if isinstance(options[dest], list) != isinstance(value, list):
            raise UsageError(
                f"{path}: [grade] {name} must {'' if isinstance(options[dest], list) else 'not '}be a list"
            )
        defaults[dest] = [Path(v) for v in value] if dest == "sandbox_read" else value
    return defaults


def _check(args: argparse.Namespace) -> None:
    """The options that belong to the other role are a usage error, not silently ignored; so are
    values that cannot work."""
    if args.role == "server":
        if args.model is None:
            raise UsageError(f"--model is required for servers ({', '.join(MODELS)}): the one the assignment asks for")
        if args.client_binary:
            raise UsageError("--client-binary is for --role client")
        args.reply = args.reply or "echo"
    else:
        given = [option for option, value in (("--model", args.model), ("--reply", args.reply)) if value is not None]
        if given:
            raise UsageError(
                f"{' and '.join(given)} do{'es' if len(given) == 1 else ''} not apply to --role client: a client "
                "has no server model, and the spec plays its server"
            )
        args.model = args.reply = ""
    if args.sockspec_time_scale <= 0 or args.timeout <= 0 or args.disk < 1 or getattr(args, "jobs", 1) < 1:
        raise UsageError("--sockspec-time-scale, --jobs, --timeout and --disk must be positive")
    if args.lang not in i18n.languages():
        raise UsageError(f"--lang {args.lang}: sockspec speaks {', '.join(i18n.languages())}")
    if missing := [str(path) for path in args.sandbox_read if not path.exists()]:
        raise UsageError(f"--sandbox-read {missing[0]}: no such file or folder")


def take_signals() -> None:
    """Ctrl-C, and SIGTERM like it, kill every sandbox and keep the reports that finished; the
    processes of killed jobs come back to the grader (a subreaper), which reaps them
    (`sandbox._kill_uid`) instead of leaving them to an init that may be slow to."""
    become_subreaper()
    take_back_ctrl_c()
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def prepare(args: argparse.Namespace) -> tuple[Assignment, Isolation]:
    """The assignment the options describe, and the sandbox this machine offers (close() it after).
    UsageError if the weights or waits cannot be used."""
    try:
        weights, visibility = load_policy(args.weights, args.role)
        waits = timeouts.Timeouts().with_overrides(timeouts.parse_overrides(args.sockspec_timeout))
    except (ValueError, WeightsError) as error:
        raise UsageError(str(error)) from None
    spec_options = [f"--sockspec-timeout={item}" for item in args.sockspec_timeout]
    spec_options.append(f"--sockspec-time-scale={args.sockspec_time_scale:g}")
    spec_options.append(f"--lang={args.lang}")  # the spec's failures speak the reports' language
    isolation = detect(not args.no_namespaces, not args.no_cgroups)
    decisive = spec_options + [str(args.timeout)] + (["--client-binary"] if args.client_binary else [])
    assignment = Assignment(
        project=PROJECT,
        model=args.model,
        reply=args.reply,
        timeout=args.timeout,
        limits=Limits(args.max_processes, args.memory << 20, args.cpus, args.disk << 20),
        waits=waits.scaled(args.sockspec_time_scale),
        spec_options=tuple(spec_options),
        weights=weights,
        applicable=tuple(applicable_tests(PROJECT, args.model, args.reply, args.role, args.client_binary)),
        fingerprint=fingerprint(args.model, args.reply, decisive, isolation.namespaces, args.role),
        role=args.role,
        binary=args.client_binary,
        readable=tuple(str(path.resolve()) for path in args.sandbox_read),
        visibility=visibility,
    )
    return assignment, isolation


def fingerprint(model: str, reply: str, options: list[str], namespaces: bool, role: str = "server") -> str:
    """Of everything that decides test outcomes: the spec, the harness and the options."""
    if role == "server":
        digest = hashlib.sha256(repr((model, reply, options, namespaces)).encode())
        folders = [SPEC / "server", PACKAGE, PACKAGE / "serverspec"]
    else:
        digest = hashlib.sha256(repr((role, options, namespaces)).encode())
        folders = [SPEC / "client", PACKAGE, PACKAGE / "clientspec"]
    for folder in folders:
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
