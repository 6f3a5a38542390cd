#!/usr/bin/env bash
# GPU checks (not part of CI: CI has no GPU). Run on a machine with CUDA and the project installed:
#     LMMREC_DATA_MIRROR=../shared/data bash ci/gpu_check.sh [OUT_DIR]
# 1. the reference forms on Amazon-book at paper scale (1536-d text; float32 and bf16 against the plain baseline),
#    then their CUDA kernels per training step (issue 14: never measured on a GPU yet),
# 2. the notebooks' `#| cuda` cells (graph paths agree on CUDA; LightGCN and LMMRec, eager and compiled, train on CUDA
#    through the same trainer) and the tests with a CUDA branch,
# 3. the other benchmarks on CUDA: LMMRec's epoch vs its backbone's (both datasets, per term) and the graph benchmark.
# Every step runs, each under STEP_S seconds (default 240), even if one before it fails; the exit status says
# whether all passed. Logs and the benchmarks' JSON lines go to OUT_DIR (default runs/gpu_check).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:-runs/gpu_check}"; mkdir -p "$OUT"; fails=0
STEP_S="${STEP_S:-240}"  # each step's time limit (a lent GPU has minutes, not hours): rc 124 means it ran out
step() { # step NAME COMMAND...: run under the limit, log to OUT/NAME.log, count failures
  local name=$1; shift; echo "== $name: $*"
  local t=$SECONDS; timeout "$STEP_S" "$@" > "$OUT/$name.log" 2>&1; local rc=$?
  tail -n 25 "$OUT/$name.log"; echo "== $name: rc=$rc, $((SECONDS - t)) s"; [ $rc -eq 0 ] || fails=$((fails + 1))
}
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA on this machine'; print('torch', torch.__version__, torch.cuda.get_device_name())" || exit 1
# issue 14 first (never measured on a GPU): the reference forms at paper scale, then their kernels per step
step bench_lmmrec_reference_ab python ci/bench_lmmrec.py --device cuda --forms reference --dataset rlmrec-amazon-book --text-dim 1536 --epochs 5
step bench_lmmrec_reference_ab_ops python ci/bench_lmmrec.py --device cuda --forms reference --dataset rlmrec-amazon-book --text-dim 1536 --profile
for nb in 20_graph 22_train 32_lmmrec; do step "nbdev_test_$nb" nbdev_test --flags cuda --path "nbs/$nb.ipynb" --do_print; done
step pytest_cuda python -m pytest -q -p no:cacheprovider tests/test_graph_paths.py tests/test_train_resume.py
step bench_lmmrec_yelp python ci/bench_lmmrec.py --device cuda --dataset xrec-yelp-profiled --epochs 10 --terms
step bench_lmmrec_mi python ci/bench_lmmrec.py --device cuda --dataset amazon-musical-instruments-2014 --epochs 10 --terms
step bench_graph python ci/bench_graph.py --device cuda
grep -h '^{' "$OUT"/bench_*.log > "$OUT/bench.jsonl"
echo "== gpu_check: $fails step(s) failed"; exit $((fails > 0))
