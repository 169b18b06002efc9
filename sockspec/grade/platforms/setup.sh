#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: sockspec, from the
# wheels bundled in this zip, in /opt/sockspec.
set -euo pipefail
exec bash "$(dirname "$0")/install.sh" /opt/sockspec
