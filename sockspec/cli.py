"""The `sockspec` command: tools around the spec (`grade`, `grade-one`, `autograder`, `merge`, `bench`).

Each subcommand lives in a module of its own and is imported only when used,
so `sockspec --help` stays fast and one tool's dependencies never load for another.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import version

COMMANDS = {
    "grade": ("sockspec.grade.command", "grade a folder of submissions and write reports"),
    "grade-one": ("sockspec.grade.single", "grade one submission, as a platform hands it over"),
    "autograder": ("sockspec.grade.autograder", "write a Gradescope or PrairieLearn autograder"),
    "merge": ("sockspec.grade.merge", "combine the reports of several grading shards into one"),
    "bench": ("sockspec.bench.command", "measure a server's throughput against a C baseline"),
}


def usage() -> str:
    lines = ["usage: sockspec COMMAND [options]   (sockspec --version: the version installed)", "", "commands:"]
    lines += [f"  {name:<11} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += ["", "Run the spec itself with pytest: pytest --impl reference.threaded"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args and args[0] == "--version":
        print(f"sockspec {version('sockspec')}")
        return 0
    if not args:
        print(usage(), file=sys.stderr)
        return 2
    if args[0] not in COMMANDS:
        print(f"sockspec: unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[args[0]][0])
    return module.main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
