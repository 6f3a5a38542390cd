#!/usr/bin/env bash
# The test command (README): installs what it needs, then runs the CI checks in nbdev's order.
source "$(dirname "$0")/env.sh"
# One OpenMP thread per process: nbdev_test runs notebooks side by side on 2 cores, and oversubscribed torch
# threads run 10-20x slower there. Set OMP_NUM_THREADS to override.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
t0=$SECONDS
step() { echo; echo "== [$((SECONDS - t0))s] $*"; }
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT

step "1/4 nbdev_clean leaves no diff"
cp -r nbs "$scratch/nbs"
nbdev_clean
if ! diff -r "$scratch/nbs" nbs >/dev/null; then diff -r "$scratch/nbs" nbs | head -40; echo "FAIL: run nbdev_clean and commit the notebooks"; exit 1; fi

step "2/4 nbdev_export leaves no diff"
cp -r lmmrec_nb "$scratch/lib"
nbdev_export
if ! diff -r -x __pycache__ "$scratch/lib" lmmrec_nb >/dev/null; then diff -r -x __pycache__ "$scratch/lib" lmmrec_nb | head -40; echo "FAIL: run nbdev_export and commit lmmrec_nb/"; exit 1; fi

step "3/4 nbdev_test"
nbdev_test --n_workers 2 --timing

step "4/4 pytest (unit tests, data cards, papermill runs of every experiment notebook)"
python -m pytest -q tests "$@"
step "done"
