#!/usr/bin/env bash
# Create .venv in the repo root and install grader with its test tools. Idempotent: a second run only checks a
# stamp (the hash of pyproject.toml) and returns at once. torch==2.13.0 goes in first: that pin takes the CPU
# wheel; an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.grader-setup
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c "import grader, torch" 2>/dev/null; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "$want" > "$stamp"
echo "grader installed in .venv ($(.venv/bin/grader --version 2>/dev/null || echo ok))" >&2
