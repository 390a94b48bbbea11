#!/usr/bin/env bash
# Set up (virtualenv in .venv, project + test extras) and run the whole test suite.
# Extra arguments go to pytest, e.g. `bash test.sh -k recording -x`.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest "$@"
