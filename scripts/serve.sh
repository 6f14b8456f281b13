#!/usr/bin/env bash
# Install specter_spoc with the example's extras into .venv, then serve the
# blog platform example on its embedded defaults (SQLite, in-process bus and
# queues). Usage: bash scripts/serve.sh [--host 127.0.0.1] [--port 5000] [--demo]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q -e '.[example]'
exec .venv/bin/python examples/blog_platform/main.py "$@"
