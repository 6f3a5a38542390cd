"""Experiment notebooks: one `parameters` cell each, executed with papermill at CI size, recorded metrics checked."""
import ast, json
import pytest
from lmmrec_nb.core import full_run_results
from conftest import EXPERIMENTS, is_finite, parameters_cells, run_notebook


METRICS = ('recall@20', 'ndcg@20')
# CI runs: each notebook on its committed (CI-sized) defaults, plus these extra parameter sets.
EXTRA_RUNS = {'e02_lmmrec': [{'DATASET': 'xrec-yelp-profiled', 'MAX_EPOCHS': 4}]}
RUNS = [(nb, {}) for nb in EXPERIMENTS] + [(nb, p) for nb in EXPERIMENTS for p in EXTRA_RUNS.get(nb.stem, [])]
# Deterministic expectations: (dataset, model) -> metrics on the test split, from the committed protocol.
EXPECTED = {
    'e00_popularity': {('amazon-musical-instruments-2014', 'MostPop'): {'recall@20': 0.1586, 'ndcg@20': 0.0706},
                       ('rlmrec-amazon-book', 'MostPop'): {'recall@20': 0.0318, 'ndcg@20': 0.0182}},
    # CI size (4 epochs, seed 2023, 1 thread): deterministic on the CPU, the same at 1 and 2 threads.
    'e01_lightgcn': {('rlmrec-amazon-book', 'LightGCN'): {'recall@20': 0.0596, 'ndcg@20': 0.0348},
                     ('rlmrec-yelp', 'LightGCN'): {'recall@20': 0.0829, 'ndcg@20': 0.0529},
                     ('rlmrec-yelp', 'MostPop'): {'recall@20': 0.0238, 'ndcg@20': 0.0148}},
}


def test_there_are_experiments():
    assert any(p.stem == 'e00_popularity' for p in EXPERIMENTS)


@pytest.mark.parametrize('nb', EXPERIMENTS, ids=lambda p: p.stem)
def test_exactly_one_parameters_cell_of_literals(nb):
    cells = parameters_cells(nb)
    assert len(cells) == 1, f'{nb.name}: {len(cells)} cells tagged parameters (nbdev_clean must keep the tag)'
    for stmt in ast.parse(''.join(cells[0]['source'])).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and stmt.targets[0].id.isupper(), ast.unparse(stmt)
        ast.literal_eval(stmt.value)


@pytest.mark.parametrize('nb', EXPERIMENTS, ids=lambda p: p.stem)
def test_no_nbdev_directives_in_experiments(nb):
    src = json.loads(nb.read_text())
    code = [''.join(c['source']) for c in src['cells'] if c['cell_type'] == 'code']
    assert not any('#| export' in c or 'nbdev_export' in c or '#| default_exp' in c for c in code)


@pytest.mark.parametrize('nb,params', RUNS, ids=[nb.stem + ''.join(f'-{v}' for v in p.values()) for nb, p in RUNS])
def test_experiment_runs_and_beats_the_floor(nb, params, tmp_path):
    rec = run_notebook(nb, tmp_path, OUT_DIR=str(tmp_path / 'out'), **params)
    rows = rec['results']
    assert rows, 'no results recorded'
    floors = {r['dataset']: r for r in rows if r['model'] == 'MostPop'}
    for r in rows:
        assert all(is_finite(r[m]) and 0 <= r[m] <= 1 for m in METRICS), r
        if r['model'] != 'MostPop' and r['dataset'] in floors:
            assert r['recall@20'] > floors[r['dataset']]['recall@20'], f"{r['model']} on {r['dataset']} is below the most-popular floor"
    datasets = {r['dataset'] for r in rows}
    if 'histories' in rec and any(full_runs(nb.stem, ds) for ds in datasets):
        assert sum(same_as_full_run(nb.stem, ds, rec['histories']) for ds in datasets) > 0, 'no epoch in common with the committed full run'
    for (ds, model), exp in EXPECTED.get(nb.stem, {}).items():
        got = next(r for r in rows if r['dataset'] == ds and r['model'] == model)
        assert {m: got[m] for m in exp} == pytest.approx(exp, abs=1e-4)


def full_runs(stem, dataset):
    "The committed full-run files of notebook `stem` on `dataset` (a full run may be split: {stem}_full*.json)."
    return full_run_results(f'{stem}_full*.json', dataset)


def same_as_full_run(stem, dataset, histories):
    """Validation Recall@20 of this (short) run at each evaluated epoch equals the committed full run's, same seed.

    Full runs record `histories` as {"<variant>|<seed>[|<setting>]": [{"epoch", "val_recall@20"}, ...]}.
    Returns the number of (run, epoch) points compared."""
    full, n = {}, 0
    for run in full_runs(stem, dataset): full.update(run.get('histories', {}))
    for key, hist in histories.items():
        ref = {h['epoch']: h['val_recall@20'] for h in full.get(key, [])}
        for h in hist:
            if h['epoch'] in ref:
                assert h['val_recall@20'] == pytest.approx(ref[h['epoch']], rel=1e-3, abs=1e-5), f'{stem} {key} epoch {h["epoch"]}'
                n += 1
    return n
