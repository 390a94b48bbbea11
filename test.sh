#!/usr/bin/env bash
# What CI runs: set up .venv with the test extras, install Chromium for the browser tests when it is missing and
# this machine allows it, run the whole test suite. Extra arguments go to pytest, e.g. `bash test.sh -k recording -x`.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/ensure-venv test
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing Chromium for the browser tests (apt-get)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends chromium >/dev/null
    else
        echo "test.sh: Chromium not found and not installable here (needs root and apt-get):" \
             "the browser tests will be skipped; apt-get install chromium" >&2
    fi
fi
exec .venv/bin/python -m pytest "$@"
