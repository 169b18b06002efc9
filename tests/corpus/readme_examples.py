"""Regenerate the README's failure examples: one real failure per behaviour family.

    python -m tests.corpus.readme_examples

runs one buggy program of the corpus per family against the one test that
catches it, and rewrites the part of README.md between the two markers with
the failure messages exactly as the spec printed them; and, between two more,
one failure and the run's diagnosis as a student reading Chinese sees them
(`--lang zh_CN`).
"""

from __future__ import annotations

import re
import sys

from tests.corpus import entries

README = entries.ROOT / "README.md"
START, END = "<!-- failure examples: start -->", "<!-- failure examples: end -->"
CHINESE_START, CHINESE_END = "<!-- chinese example: start -->", "<!-- chinese example: end -->"
# The Chinese example: a whole run, so that its diagnosis weighs every failure, showing one of them.
CHINESE = ("servers/buggy/strlen_send.c", "test_binary_data_with_nul_bytes")

# (family, corpus program, the test that shows its bug)
EXAMPLES = [
    ("send_recv", "servers/buggy/strlen_send.c", "test_binary_data_with_nul_bytes"),
    ("close", "servers/buggy/parent_keeps_fd.c", "test_half_close_gets_end_of_file"),
    ("queues", "servers/buggy/never_returns_to_accept.c", "test_second_client_served_after_first_leaves"),
    ("concurrency", "servers/buggy/global_buffer.c", "test_distinct_payloads_at_the_same_moment"),
    ("model", "servers/buggy/declared_threaded_is_iterative.py", "test_threaded_serves_each_client_in_a_thread"),
    ("zombies", "servers/buggy/one_wait_per_sigchld.c", "test_no_zombies_after_many_clients_leave_at_once"),
    ("lifecycle", "servers/buggy/accept_eintr_exits.c", "test_child_exits_while_parent_waits_in_accept"),
    ("resources", "servers/buggy/continue_on_zero.c", "test_no_cpu_after_clients_leave"),
]


def example(program: str, test: str) -> str:
    entry = next(e for e in entries.discover()[0] if e.name == program)
    result = entries.run(entry, only=(test,))
    failed = [t for t in result.tests if t.function == test and t.outcome == "failed"]
    if not failed:
        raise SystemExit(f"{program} did not fail {test}: {result.compact_failures() or 'it passed'}")
    return failed[0].details.replace(str(entries.ROOT) + "/", "")


def section() -> str:
    parts = [START]
    for family, program, test in EXAMPLES:
        entry_line = f"`{family}`: `tests/corpus/{program}` ({test})"
        parts += [
            "",
            f"<details><summary>{entry_line}</summary>",
            "",
            "```text",
            example(program, test),
            "```",
            "",
            "</details>",
        ]
    parts += ["", END]
    return "\n".join(parts)


def chinese_section() -> str:
    program, test = CHINESE
    entry = next(e for e in entries.discover()[0] if e.name == program)
    result = entries.run(entry, options=("--lang", "zh_CN"))
    failed = next(t for t in result.tests if t.function == test and t.outcome == "failed")
    diagnosis = re.search(r"^=+ 诊断.*?(?=^=+ )", result.output, re.S | re.M)
    if diagnosis is None:
        raise SystemExit(f"no diagnosis in the run of {program}")
    shown = failed.details + "\n" + diagnosis.group(0).rstrip()
    return "\n".join([CHINESE_START, "", "```text", shown.replace(str(entries.ROOT) + "/", ""), "```", "", CHINESE_END])


def main() -> int:
    text = README.read_text()
    for start, end, make in ((START, END, section), (CHINESE_START, CHINESE_END, chinese_section)):
        if start not in text or end not in text:
            print(f"README.md has no {start} ... {end} section", file=sys.stderr)
            return 1
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
        text = pattern.sub(lambda _match, make=make: make(), text)
    README.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
