#!/usr/bin/env bash
# Install specter_spoc with the example's extras into .venv, then serve the
# blog platform example with `specter-spoc run` on its embedded defaults
# (SQLite under examples/blog_platform/var/, migrated on the first run; the
# in-process bus and queues).
# Usage: bash scripts/serve.sh [--demo] [--host 127.0.0.1] [--port 5000] [other `specter-spoc run` options]
#   --demo   create the demo users alice and bob (password demo-password) and a few posts
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q -e '.[example]'
args=()
for arg in "$@"; do
    if [ "$arg" = "--demo" ]; then
        export BLOG_DEMO=true
    else
        args+=("$arg")
    fi
done
exec .venv/bin/specter-spoc run --project examples/blog_platform ${args[@]+"${args[@]}"}
