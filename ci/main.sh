#!/usr/bin/env bash
# The main job (README): the end-to-end experiment on the default real dataset (Amazon Musical Instruments 5-core),
# executed with papermill: the most-popular floor (also on RLMRec's Amazon-book split), then LightGCN alone,
# + RLMRec-Con, + LMMRec and LMMRec's two ablations, with the committed SmolLM2 motivations replayed (no model is
# loaded), 5 seeds each, trained to early stopping on validation Recall@20 and tested once at the best epoch.
# Prints the tables and whether this run is the committed one (the README's); executed notebooks and figures go to runs/main.
source "$(dirname "$0")/env.sh"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
run() { local nb=$1 out=$2; shift 2; mkdir -p "$out"
  papermill -k python3 --language python --log-level WARNING "nbs/experiments/$nb.ipynb" "$out/$nb.ipynb" -p OUT_DIR "$out" "$@"; }
run e00_popularity runs/main/e00
run e02_lmmrec runs/main/e02 -p DATASET amazon-musical-instruments-2014 -p MAX_EPOCHS 3000 -p PATIENCE 20 -y "SEEDS: [2023, 2024, 2025, 2026, 2027]" \
  -p RESULTS_JSON runs/main/e02/full_run.json -p COMMAND "bash ci/main.sh"
echo; echo "== Most-popular floor (test split, full ranking over all items, training items masked)"; cat runs/main/e00/results.txt
echo; echo "== LightGCN, + RLMRec-Con, + LMMRec and its ablations on the default dataset (5 seeds, early stopping on validation Recall@20, test at the best epoch)"
cat runs/main/e02/results.txt
echo; echo "== This run against the committed one (nbs/experiments/results/e02_lmmrec_full_amazon-mi.json, the README's table)"
python ci/compare_runs.py runs/main/e02/full_run.json nbs/experiments/results/e02_lmmrec_full_amazon-mi.json
echo; echo "executed notebooks and figures: runs/main/e00 (floor.png), runs/main/e02 (variants.png)"
