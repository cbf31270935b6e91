#!/usr/bin/env bash
# Set up (if needed) and run grader's main job on the bundled bank and samples: lint the bank, grade a
# practice answer, then batch-grade the sample mock interviews into reports/ (Markdown and HTML).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/grader bank check
.venv/bin/grader grade --question q09 --answer-file samples/answer-lora.txt
.venv/bin/grader batch samples --output-dir reports --format md
.venv/bin/grader batch samples --output-dir reports --format html
echo "Open reports/summary.md or reports/summary.html for the cohort view."
