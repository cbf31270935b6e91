#!/usr/bin/env bash
# Screenshots of grader's HTML reports in headless Chromium, 1280 and 400 px wide, as PNGs, each page checked:
# no sideways scrolling, no request leaving the file, nothing logged (scripts/browser.py; the same checks as
# tests/test_html_browser.py). Exit 1 when a page fails a check.
#
#   bash scripts/screenshots.sh [OUT_DIR] [REPORT.html ...]
#
# Without HTML files it first makes sample reports (in a temporary folder): a batch of samples/ in HTML with two
# mentor reviews (the cohort page and Dana Lee's transcript), a single-answer report with a review, and a progress
# history of two questions over nine days. OUT_DIR defaults to docs/screenshots (the pictures in the README).
# Environment: CHROMIUM (browser path), METRICS (default keywords,rouge; use keywords,rouge,bertscore for full
# reports), HEIGHT (window height in px, default 1600), TZ (the time zone pages show times in; default UTC).
# Chromium on Debian/Ubuntu: sudo apt-get install -y chromium. Nothing is fetched from the network.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-docs/screenshots}"
if [ $# -gt 0 ]; then shift; fi
METRICS="${METRICS:-keywords,rouge}"
HEIGHT="${HEIGHT:-1600}"
export TZ="${TZ:-UTC}" GRADER_HISTORY="" GRADER_NOW=""
if [ -x .venv/bin/grader ]; then G=(.venv/bin/grader); PY=.venv/bin/python; else G=(python -m grader); PY=python; fi
mkdir -p "$OUT"

pages=("$@")
if [ ${#pages[@]} -eq 0 ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  reports="$work/reports"
  html="$work/html"
  mkdir -p "$html"
  export GRADER_HISTORY_DB="$work/history.sqlite3"

  "${G[@]}" batch samples --metrics "$METRICS" --output-dir "$reports" --format html > /dev/null || true
  # each review also updates summary.json and re-renders summary.html beside it
  "${G[@]}" review "$reports/dana-lee.json" -q q13 --grade 35 --reviewer "Sample Mentor" \
    --note "Temperature is right; top-p is a probability mass, not a token count." --now 2025-03-01T09:30:00Z
  "${G[@]}" review "$reports/dana-lee.json" -q q09 --grade 90 --reviewer "Sample Mentor" \
    --note "Self-corrected on the merge: full marks for the maths." --now 2025-03-01T09:31:00Z
  "${G[@]}" report "$reports/dana-lee.json" --format html -o "$reports/dana-lee.html" --force > /dev/null
  cp "$reports/summary.html" "$html/cohort.html"
  cp "$reports/dana-lee.html" "$html/transcript.html"

  "${G[@]}" grade -q q09 --answer-file samples/answer-lora.txt --metrics "$METRICS" --format json \
    -o "$reports/answer.json" > /dev/null
  "${G[@]}" review "$reports/answer.json" --grade 80 --reviewer "Sample Mentor" \
    --note "Clear; mention the α/r scaling <next time>." --now 2025-03-01T10:00:00Z
  "${G[@]}" report "$reports/answer.json" --format html -o "$html/answer.html" > /dev/null

  merged="after training BA is merged into W, so there is no extra latency."
  attempt() {  # when, candidate, question, answer
    GRADER_NOW="$1" GRADER_CANDIDATE="$2" "${G[@]}" grade -q "$3" --answer "$4" --metrics "$METRICS" --record \
      --format json > /dev/null 2>&1
  }
  attempt 2025-03-01T09:00:00Z "Sample Learner" q09 "LoRA is a kind of fine-tuning."
  attempt 2025-03-02T18:30:00Z "Sample Learner" q13 "Temperature divides the logits."
  attempt 2025-03-04T08:15:00Z "Sample Learner" q09 "LoRA freezes W and learns a low-rank update BA with r << d."
  attempt 2025-03-05T10:00:00Z "Kim" q13 "Temperature divides the logits before the softmax."
  attempt 2025-03-06T20:00:00Z "Sample Learner" q13 "Temperature divides the logits before the softmax; top-p keeps \
the smallest set of tokens whose probability mass reaches p."
  attempt 2025-03-08T11:00:00Z "Kim" q09 "LoRA learns a low-rank update BA."
  attempt 2025-03-09T09:00:00Z "Sample Learner" q09 "LoRA freezes W and learns a low-rank update BA with r << d; $merged"
  "${G[@]}" history --format html -o "$html/history.html" > /dev/null
  pages=("$html/cohort.html" "$html/transcript.html" "$html/history.html" "$html/answer.html")
fi

"$PY" scripts/browser.py --small --shots "$OUT" --height "$HEIGHT" "${pages[@]}"
