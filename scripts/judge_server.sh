#!/usr/bin/env bash
# Serve Gemma 3 270M on 127.0.0.1 with llama-cpp-python's OpenAI-compatible server (set up by
# scripts/setup_judge.sh), for trying the judge by hand:
#
#   bash scripts/judge_server.sh 8080 &
#   .venv/bin/grader judge check --judge http://127.0.0.1:8080/v1 --judge-model gemma-3-270m
#
# The chat format is llama.cpp's "gemma" (<start_of_turn>user ... <start_of_turn>model), the model's own.
set -euo pipefail
PORT="${1:-8080}"
JUDGE_HOME="${GRADER_JUDGE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/grader-judge}"
MODEL_FILE="$JUDGE_HOME/models/gemma-3-270m-q4_k_m.gguf"
if [ ! -x "$JUDGE_HOME/venv/bin/python" ] || [ ! -s "$MODEL_FILE" ]; then
  echo "judge server: not set up; run: bash scripts/setup_judge.sh" >&2
  exit 1
fi
exec "$JUDGE_HOME/venv/bin/python" -m llama_cpp.server --model "$MODEL_FILE" --model_alias gemma-3-270m \
  --chat_format gemma --host 127.0.0.1 --port "$PORT" --n_ctx 4096 \
  --n_threads "${GRADER_JUDGE_THREADS:-$(nproc 2>/dev/null || echo 2)}"
