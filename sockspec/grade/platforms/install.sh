#!/usr/bin/env bash
# Installs sockspec and what it needs on a grading platform's image, from the wheels beside this
# script alone (no package index), into a virtual environment of its own: install.sh VENV.
#
# Gradescope's setup.sh and PrairieLearn's Dockerfile (or, without one, its run.sh) call it, as
# root.  Ubuntu 22.04's Python is 3.10 and 24.04's system Python refuses `pip install` (PEP 668):
# it takes the newest Python 3.11 or later the image has, else installs Ubuntu's python3.11, and
# always installs into the virtual environment VENV.
set -euo pipefail
venv=${1:?usage: install.sh VENV}
here=$(cd "$(dirname "$0")" && pwd)
packages="gcc g++ libc6-dev util-linux procps iproute2 bubblewrap"

python=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python=$candidate
        break
    fi
done
missing=""
for package in $packages; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -z "$python" ]; then
    python=python3.11
    missing="$missing python3.11 python3.11-venv"
elif ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    missing="$missing ${python##*/}-venv"
fi
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086  # a list of package names
    apt-get install -y --no-install-recommends $missing
fi

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --no-index --find-links "$here/wheels" sockspec
"$venv/bin/sockspec" --version
