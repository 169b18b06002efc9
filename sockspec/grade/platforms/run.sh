#!/usr/bin/env bash
# PrairieLearn's external grader runs this (the question's "entrypoint") for every submission:
# grade /grade/student with the options of sockspec.toml and write /grade/results/results.json.
# An image built with the Dockerfile has sockspec already; any other installs it first, offline.
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p /grade/results
sockspec=/opt/sockspec/bin/sockspec
if [ ! -x "$sockspec" ]; then
    bash "$here/install.sh" /opt/sockspec >/grade/results/install.txt 2>&1 || {
        printf '{"gradable": false, "format_errors": "the grader could not install sockspec in this image (see %s)"}\n' \
            install.txt >/grade/results/results.json
        exit 0
    }
fi
exec "$sockspec" grade-one /grade/student --config "$here/sockspec.toml" --results /grade/results/results.json \
    --format prairielearn
