#!/usr/bin/env bash
# Set up (virtualenv in .venv) and start the hinge server with demo sessions on an embedded SQLite database.
# Extra arguments go to `hinge serve`, e.g. `bash run.sh --port 8080`.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/ensure-venv all
exec .venv/bin/hinge serve "$@"
