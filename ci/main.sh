#!/usr/bin/env bash
# The main job (README): the end-to-end experiment on the default real dataset, executed with papermill.
# Prints the results table and writes the executed notebook and figure under runs/.
source "$(dirname "$0")/env.sh"
out=runs/e00_popularity
mkdir -p "$out"
papermill -k python3 --language python --log-level WARNING nbs/experiments/e00_popularity.ipynb "$out/e00_popularity.ipynb" -p OUT_DIR "$out" "$@"
echo; echo "Most-popular floor, test split, full ranking:"; cat "$out/results.txt"
echo; echo "executed notebook: $out/e00_popularity.ipynb   figure: $out/floor.png"
