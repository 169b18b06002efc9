"""`sockspec autograder gradescope|prairielearn --model M ...`: the files a grading platform runs.

Both platforms grade every submission in a container of theirs, with no
package index at hand when grading.  So what is written carries everything:
sockspec's own wheel and every wheel it needs (downloaded here, once), the
options of the assignment in `sockspec.toml` (read by `sockspec grade-one
--config`), and the platform's scripts, which install it all offline with
`install.sh` and call `grade-one`:

- Gradescope: a zip whose root holds `setup.sh` (run once when the image is
  built), `run_autograder` (run per submission: /autograder/submission in,
  /autograder/results/results.json out), `install.sh`, `sockspec.toml` and
  `wheels/`;
- PrairieLearn: a folder holding `tests/sockspec/` (put the question's
  `tests/` there: `run.sh`, the entrypoint, with `install.sh`,
  `sockspec.toml` and `wheels/`), a `Dockerfile` for a grading image with
  sockspec in it, and `info.json`, the `externalGradingOptions` to copy
  into the question's.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from sockspec.grade import options
from sockspec.paths import PROJECT

PLATFORMS = ("gradescope", "prairielearn")
FILES = Path(__file__).resolve().parent / "platforms"
# Pure-Python wheels serve every Python from 3.11 on; their dependencies are asked for each of these.
PYTHONS = ("3.11", "3.12", "3.13")
# What the platforms allow: PrairieLearn kills a grading job after at most 600 s.  The job gets the
# submission's own deadline and GRACE more, for the sandbox, the build and the reports.
PRAIRIELEARN_TIMEOUT = 600
GRACE = 60


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sockspec autograder", description="Write the autograder a platform runs.")
    p.add_argument("platform", choices=PLATFORMS)
    p.add_argument("--out", type=Path, help="the zip (gradescope: ./autograder.zip) or folder (prairielearn: ./pl)")
    p.add_argument("--wheels", type=Path, help="take the wheels from this folder instead of downloading them")
    options.add_grading_options(p)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = options.parse(parser(), sys.argv[1:] if argv is None else argv)
    except options.UsageError as error:
        print(f"sockspec autograder: {error}", file=sys.stderr)
        return 2
    if args.platform == "prairielearn" and args.timeout > PRAIRIELEARN_TIMEOUT - GRACE:
        args.timeout = PRAIRIELEARN_TIMEOUT - GRACE
        print(f"sockspec autograder: --timeout {args.timeout:g}: PrairieLearn kills a grading job after "
              f"{PRAIRIELEARN_TIMEOUT} s")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="sockspec-autograder-") as scratch_name:
        bundle = Path(scratch_name) / "sockspec"
        bundle.mkdir()
        try:
            _gather_wheels(bundle / "wheels", args.wheels)
        except RuntimeError as error:
            print(f"sockspec autograder: {error}", file=sys.stderr)
            return 1
        (bundle / "sockspec.toml").write_text(config_text(args))
        shutil.copy2(FILES / "install.sh", bundle)
        if args.platform == "gradescope":
            out = args.out or Path("autograder.zip")
            _gradescope(bundle, out)
        else:
            out = args.out or Path("pl")
            _prairielearn(bundle, out, args.timeout)
    print(f"sockspec autograder: wrote {out}")
    return 0


def config_text(args: argparse.Namespace) -> str:
    """sockspec.toml: every option of the assignment, and the weights file's tables."""
    grade = {"role": args.role, "timeout": args.timeout, "max-processes": args.max_processes, "memory": args.memory,
             "cpus": args.cpus, "disk": args.disk, "sockspec-timeout": args.sockspec_timeout,
             "sockspec-time-scale": args.sockspec_time_scale, "lang": args.lang}  # fmt: skip
    if args.role == "server":
        grade.update(model=args.model, reply=args.reply)
    elif args.client_binary:
        grade["client-binary"] = True
    lines = ["# The assignment, for `sockspec grade-one --config` (written by sockspec autograder).", "[grade]"]
    lines += [f"{key} = {_toml(value)}" for key, value in grade.items()]
    if args.weights is not None:
        tables = tomllib.loads(args.weights.read_text())
        for name in ("weights", "visibility"):
            if name in tables:
                lines += ["", f"[{name}]", *(f"{key} = {_toml(value)}" for key, value in tables[name].items())]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def _gather_wheels(folder: Path, given: Path | None) -> None:
    """sockspec's wheel and every wheel it needs, for Python 3.11 and later, into `folder`."""
    if given is not None:
        shutil.copytree(given, folder)
        if not list(folder.glob("sockspec-*.whl")):
            raise RuntimeError(f"{given} holds no sockspec wheel")
        return
    folder.mkdir()
    own = _own_wheel(folder)
    for python in PYTHONS:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--python-version", python,
             "--dest", str(folder), str(own)],
            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"cannot download the wheels sockspec needs (give them with --wheels): "
                               f"{done.stderr.strip().splitlines()[-1:]}")  # fmt: skip


def _own_wheel(folder: Path) -> Path:
    """The wheel of this sockspec: built from its source tree, or packed again from what is installed."""
    if (PROJECT / "pyproject.toml").is_file():
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder), str(PROJECT)],
            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"cannot build sockspec's wheel: {done.stderr.strip()[-300:]}")
        return next(folder.glob("sockspec-*.whl"))
    return _repack(folder)


def _repack(folder: Path) -> Path:
    """A wheel of the installed sockspec, from the files its RECORD lists (as pip installed them)."""
    dist = metadata.distribution("sockspec")
    wheel = folder / f"sockspec-{dist.version}-py3-none-any.whl"
    skipped = ("INSTALLER", "REQUESTED", "direct_url.json", "RECORD")
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or []:
            name = str(file)
            if name.endswith(".pyc") or name.split("/")[-1] in skipped or name.startswith(".."):
                continue
            data = file.locate().read_bytes()
            archive.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        info = next(str(f).split("/")[0] for f in dist.files or [] if str(f).endswith(".dist-info/METADATA"))
        archive.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return wheel


def _gradescope(bundle: Path, out: Path) -> None:
    for name in ("setup.sh", "run_autograder"):
        shutil.copy2(FILES / name, bundle)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, path.relative_to(bundle))
                info.external_attr = (0o755 if path.suffix in (".sh", "") else 0o644) << 16
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)


def _prairielearn(bundle: Path, out: Path, timeout: float) -> None:
    tests = out / "tests" / "sockspec"
    shutil.rmtree(tests, ignore_errors=True)
    shutil.copytree(bundle, tests)
    shutil.copy2(FILES / "run.sh", tests)
    shutil.copy2(FILES / "Dockerfile", out)
    grading = {
        "externalGradingOptions": {
            "enabled": True,
            "image": "YOUR-DOCKER-HUB-NAME/sockspec-grader",
            "entrypoint": "/grade/tests/sockspec/run.sh",
            "timeout": int(timeout + GRACE),
        }
    }
    (out / "info.json").write_text(json.dumps(grading, indent=2) + "\n")
