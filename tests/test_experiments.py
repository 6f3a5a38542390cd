"""Experiment notebooks: one `parameters` cell each, executed with papermill at CI size, recorded metrics checked."""
import ast, json
import pytest
from conftest import EXPERIMENTS, ROOT, is_finite, parameters_cells, run_notebook

METRICS = ('recall@20', 'ndcg@20')
# CI-sized overrides per notebook (most run on their committed defaults).
CI_PARAMS = {}
# Deterministic expectations: (dataset, model) -> metrics on the test split, from the committed protocol.
EXPECTED = {
    'e00_popularity': {('amazon-musical-instruments-2014', 'MostPop'): {'recall@20': 0.1586, 'ndcg@20': 0.0706},
                       ('rlmrec-amazon-book', 'MostPop'): {'recall@20': 0.0318, 'ndcg@20': 0.0182}},
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


@pytest.mark.parametrize('nb', EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_runs_and_beats_the_floor(nb, tmp_path):
    rec = run_notebook(nb, tmp_path, OUT_DIR=str(tmp_path / 'out'), **CI_PARAMS.get(nb.stem, {}))
    rows = rec['results']
    assert rows, 'no results recorded'
    floors = {r['dataset']: r for r in rows if r['model'] == 'MostPop'}
    for r in rows:
        assert all(is_finite(r[m]) and 0 <= r[m] <= 1 for m in METRICS), r
        if r['model'] != 'MostPop' and r['dataset'] in floors:
            assert r['recall@20'] > floors[r['dataset']]['recall@20'], f"{r['model']} on {r['dataset']} is below the most-popular floor"
    for (ds, model), exp in EXPECTED.get(nb.stem, {}).items():
        got = next(r for r in rows if r['dataset'] == ds and r['model'] == model)
        assert {m: got[m] for m in exp} == pytest.approx(exp, abs=1e-4)
