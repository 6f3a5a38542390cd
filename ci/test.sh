#!/usr/bin/env bash
# The test command (README): installs what it needs, then runs the CI checks in nbdev's order.
source "$(dirname "$0")/env.sh"
# One OpenMP thread per process: nbdev_test runs notebooks side by side on 2 cores, and oversubscribed torch
# threads run 10-20x slower there. Set OMP_NUM_THREADS to override.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
t0=$SECONDS
step() { echo; echo "== [$((SECONDS - t0))s] $*"; }
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT

step "1/6 nbdev_clean leaves no diff"
cp -r nbs "$scratch/nbs"
nbdev_clean
if ! diff -r "$scratch/nbs" nbs >/dev/null; then diff -r "$scratch/nbs" nbs | head -40; echo "FAIL: run nbdev_clean and commit the notebooks"; exit 1; fi

step "2/6 nbdev_export leaves no diff"
cp -r lmmrec_nb "$scratch/lib"
nbdev_export
if ! diff -r -x __pycache__ "$scratch/lib" lmmrec_nb >/dev/null; then diff -r -x __pycache__ "$scratch/lib" lmmrec_nb | head -40; echo "FAIL: run nbdev_export and commit lmmrec_nb/"; exit 1; fi

# The kit writes only under $LMMREC_CACHE and the folders it is given: run the tests with an empty HOME, and check
# at the end that nothing of ours landed there (the state of Jupyter, Chromium, npm and rustup, which JupyterLab and pip's wheel build call, is allowed).
export HOME="$scratch/home" MPLCONFIGDIR="$scratch/mpl"; mkdir -p "$HOME"

step "3/6 nbdev_test"
nbdev_test --n_workers 2 --timing

step "4/6 pytest (unit tests, data cards, papermill runs of every experiment notebook)"
python -m pytest -q tests "$@"

step "5/6 the tour in JupyterLab, in a real browser (headless Chromium): Run All, no cell fails"
if ! command -v chromium >/dev/null; then
  echo "installing Debian's chromium"; (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
fi
python ci/browser_check.py nbs/index.ipynb --shot "$scratch/browser_tour.png"

step "6/6 nothing written under \$HOME"
theirs='^\./(\.local/share/jupyter|\.jupyter|\.ipython|\.cache/matplotlib|\.config/matplotlib|\.config/chromium|\.cache/dconf|\.npm|\.rustup|\.cargo)(/|$)'
ours="$(cd "$HOME" && find . -mindepth 1 -type f | grep -Ev "$theirs" || true)"
if [ -n "$ours" ]; then echo "FAIL: files written under \$HOME (the kit must use \$LMMREC_CACHE):"; echo "$ours" | head -20; exit 1; fi
echo "ok: $(cd "$HOME" && find . -type f | wc -l) file(s) of third-party tools, none of ours"
step "done"
