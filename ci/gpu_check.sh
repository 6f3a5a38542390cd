#!/usr/bin/env bash
# GPU checks (not part of CI: CI has no GPU). Run on a machine with CUDA and the project installed:
#     LMMREC_DATA_MIRROR=../shared/data bash ci/gpu_check.sh [OUT_DIR]
# 1. the notebooks' `#| cuda` cells (graph paths agree on CUDA; LightGCN and LMMRec, eager and compiled, train on CUDA through the same trainer),
# 2. the tests with a CUDA branch,
# 3. the benchmarks on CUDA: LMMRec's epoch vs its backbone's (both datasets, per term), the reference forms on Amazon-book
#    (1536-d text; float32 and bf16 against the plain baseline; then CUDA kernels per training step) and the graph benchmark.
# Every step runs even if one before it fails; the exit status says whether all passed. Logs and the benchmarks'
# JSON lines go to OUT_DIR (default runs/gpu_check).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:-runs/gpu_check}"; mkdir -p "$OUT"; fails=0
step() { # step NAME COMMAND...: run, log to OUT/NAME.log, count failures
  local name=$1; shift; echo "== $name: $*"
  local t=$SECONDS; "$@" > "$OUT/$name.log" 2>&1; local rc=$?
  tail -n 25 "$OUT/$name.log"; echo "== $name: rc=$rc, $((SECONDS - t)) s"; [ $rc -eq 0 ] || fails=$((fails + 1))
}
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA on this machine'; print('torch', torch.__version__, torch.cuda.get_device_name())" || exit 1
for nb in 20_graph 22_train 32_lmmrec; do step "nbdev_test_$nb" nbdev_test --flags cuda --path "nbs/$nb.ipynb" --do_print; done
step pytest_cuda python -m pytest -q -p no:cacheprovider tests/test_graph_paths.py tests/test_train_resume.py
step bench_lmmrec_yelp python ci/bench_lmmrec.py --device cuda --dataset xrec-yelp-profiled --epochs 10 --terms
step bench_lmmrec_mi python ci/bench_lmmrec.py --device cuda --dataset amazon-musical-instruments-2014 --epochs 10 --terms
step bench_lmmrec_reference_ab python ci/bench_lmmrec.py --device cuda --forms reference --dataset rlmrec-amazon-book --text-dim 1536 --epochs 5
step bench_lmmrec_reference_ab_ops python ci/bench_lmmrec.py --device cuda --forms reference --dataset rlmrec-amazon-book --text-dim 1536 --profile
step bench_graph python ci/bench_graph.py --device cuda
grep -h '^{' "$OUT"/bench_*.log > "$OUT/bench.jsonl"
echo "== gpu_check: $fails step(s) failed"; exit $((fails > 0))
