#!/usr/bin/env bash
# Set up (virtualenv in .venv) and start the hinge server with demo sessions on an embedded SQLite database.
# Extra arguments go to `hinge serve`, e.g. `bash run.sh --port 8080`.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[all]'
exec .venv/bin/hinge serve "$@"
