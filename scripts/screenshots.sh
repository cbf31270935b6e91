#!/usr/bin/env bash
# Screenshots of grader's HTML reports in headless Chromium, 1280 and 400 px wide, as PNGs.
#
#   bash scripts/screenshots.sh [OUT_DIR] [REPORT.html ...]
#
# Without HTML files it first makes sample reports in OUT_DIR (default out/screenshots): a batch of samples/
# with a mentor review, a single-answer report with a review, and a progress history of three attempts.
# Environment: CHROMIUM (browser path), METRICS (default keywords,rouge; use keywords,rouge,bertscore for full
# reports), HEIGHT (window height in px, default 2000).
# Chromium on Debian/Ubuntu: sudo apt-get install -y chromium. Nothing is fetched from the network.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-out/screenshots}"
if [ $# -gt 0 ]; then shift; fi
METRICS="${METRICS:-keywords,rouge}"
HEIGHT="${HEIGHT:-2000}"
CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -z "$CHROMIUM" ]; then
  echo "chromium not found: install it (Debian: apt-get install -y chromium) or set CHROMIUM=/path/to/chrome" >&2
  exit 1
fi
if [ -x .venv/bin/grader ]; then G=(.venv/bin/grader); else G=(python -m grader); fi
mkdir -p "$OUT"

pages=("$@")
if [ ${#pages[@]} -eq 0 ]; then
  reports="$OUT/reports"
  html="$OUT/html"
  mkdir -p "$reports" "$html"
  export GRADER_HISTORY_DB="$OUT/history.sqlite3" GRADER_CANDIDATE="Sample Learner"
  rm -f "$GRADER_HISTORY_DB" "$GRADER_HISTORY_DB-wal" "$GRADER_HISTORY_DB-shm"

  "${G[@]}" batch samples --metrics "$METRICS" --output-dir "$reports" --format json || true
  "${G[@]}" review "$reports/dana-lee.json" -q q13 --grade 35 --reviewer "Sample Mentor" \
    --note "Temperature is right; top-p is a probability mass, not a token count." --now 2025-03-01T09:30:00Z
  "${G[@]}" review "$reports/dana-lee.json" -q q09 --grade 90 --reviewer "Sample Mentor" \
    --note "Self-corrected on the merge: full marks for the maths." --now 2025-03-01T09:31:00Z
  "${G[@]}" report "$reports/dana-lee.json" --format html -o "$html/transcript.html"
  "${G[@]}" report "$reports/summary.json" --format html -o "$html/summary.html"

  "${G[@]}" grade -q q09 --answer-file samples/answer-lora.txt --metrics "$METRICS" --format json \
    -o "$reports/answer.json"
  "${G[@]}" review "$reports/answer.json" --grade 80 --reviewer "Sample Mentor" \
    --note "Clear; mention the α/r scaling <next time>." --now 2025-03-01T10:00:00Z
  "${G[@]}" report "$reports/answer.json" --format html -o "$html/answer.html"

  merged="after training BA is merged into W, so there is no extra latency."
  for answer in "LoRA is a kind of fine-tuning." \
                "LoRA freezes W and learns a low-rank update BA with r << d." \
                "LoRA freezes W and learns a low-rank update BA with r << d; $merged"; do
    "${G[@]}" grade -q q09 --answer "$answer" --metrics "$METRICS" --record --format json > /dev/null
  done
  "${G[@]}" history --format html -o "$html/history.html"
  pages=("$html"/*.html)
fi

for page in "${pages[@]}"; do
  name="$(basename "$page" .html)"
  for width in 1280 400; do
    profile="$(mktemp -d)"
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
      --user-data-dir="$profile" --window-size="$width,$HEIGHT" --screenshot="$OUT/$name-$width.png" \
      "file://$(realpath "$page")" > /dev/null 2>&1
    rm -rf "$profile"
    echo "$OUT/$name-$width.png"
  done
done
