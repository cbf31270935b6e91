#!/usr/bin/env bash
# Set up (if needed) and run grader's main job on the bundled bank and samples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/grader bank check || true
.venv/bin/grader grade --question q09 --answer-file samples/answer-lora.txt
if .venv/bin/grader --help | grep -q " batch "; then
  .venv/bin/grader batch samples --output-dir reports --format md
fi
