"""Experiment notebooks: one `parameters` cell each, executed with papermill at CI size, recorded metrics checked.

What is compared with what, and why (no number here is a value copied from a run and compared to 1e-4):
- The most-popular floor is a closed form of the data: it is recomputed here by an independent per-user
  reference (`reference_metrics`, numpy, float64) and must agree to float32's precision (relative 1e-6).
- A training run is deterministic on one machine (checked: two runs in this job, bit for bit), but float
  trajectories are not the same across CPUs, library builds and thread counts, so a CI-size run is compared
  with the committed full run (same seed) at its last evaluated epoch only within a band: three times the
  spread across seeds of the full run at that epoch (population std of the seeds' validation Recall@20,
  pooled over the variants). Runs of another machine are, for this purpose, like another seed: what the
  seeds' spread allows is what a change of machine may move, and a real regression moves more.
"""
import ast, json, math, re
import numpy as np, pytest
from lmmrec_nb.core import full_run_results
from conftest import EXPERIMENTS, ROOT, is_finite, parameters_cells, run_notebook

METRICS = ('recall@20', 'ndcg@20')
# CI runs: each notebook on its committed (CI-sized) defaults, plus these extra parameter sets.
EXTRA_RUNS = {'e02_lmmrec': [{'DATASET': 'xrec-yelp-profiled', 'MAX_EPOCHS': 4}]}
DEFAULTS = {'BACKBONE': 'lightgcn', 'FORMS': 'reference', 'TEXTS': 'two'}  # the notebooks' defaults (test_two_texts.py checks the last two)
RUNS = [(nb, {}) for nb in EXPERIMENTS] + [(nb, p) for nb in EXPERIMENTS for p in EXTRA_RUNS.get(nb.stem, [])]
IDS = [nb.stem + ''.join(f'-{v}' for v in p.values()) for nb, p in RUNS]
BAND_SIGMAS = 3  # the band: this many seed standard deviations of the full run at the compared epoch
_RECORDS = {}


def records(nb, params, tmp_path_factory):
    "Records of one CI-size papermill run (each run once per session, shared by the tests below)."
    key = (nb.stem, json.dumps(params, sort_keys=True))
    if key not in _RECORDS:
        out = tmp_path_factory.mktemp(nb.stem)
        _RECORDS[key] = run_notebook(nb, out, OUT_DIR=str(out / 'out'), **params)
    return _RECORDS[key]


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


# Where a variant is known to sit at the most-popular floor, not above it: LMMRec with Motivation Coordination in the
# reference forms on the default dataset's toy motivations (README, main job; the tour, section 8, shows why). There
# it must stay within AT_FLOOR of the floor: if the text or the term changes, this test says the README must too.
AT_THE_FLOOR = {('amazon-musical-instruments-2014', 'reference', 'lmmrec'),
                ('amazon-musical-instruments-2014', 'reference', 'lmmrec w/o correspondence')}
AT_FLOOR = 0.01  # Recall@20


@pytest.mark.parametrize('nb,params', RUNS, ids=IDS)
def test_experiment_runs_and_beats_the_floor(nb, params, tmp_path_factory):
    rows = records(nb, params, tmp_path_factory)['results']
    assert rows, 'no results recorded'
    floors = {r['dataset']: r for r in rows if r['model'] == 'MostPop'}
    forms = made_as(nb, params).get('forms')
    for r in rows:
        assert all(is_finite(r[m]) and 0 <= r[m] <= 1 for m in METRICS), r
        if r['model'] == 'MostPop' or r['dataset'] not in floors: continue
        floor = floors[r['dataset']]['recall@20']
        if (r['dataset'], forms, r['model']) in AT_THE_FLOOR:
            assert abs(r['recall@20'] - floor) < AT_FLOOR, f"{r['model']} on {r['dataset']}: {r['recall@20']:.4f}, floor {floor:.4f}"
        else: assert r['recall@20'] > floor, f"{r['model']} on {r['dataset']} is below the most-popular floor"


@pytest.mark.parametrize('nb,params', RUNS, ids=IDS)
def test_most_popular_floor_equals_an_independent_reference(nb, params, tmp_path_factory):
    "The floor is a closed form of the data: a plain numpy per-user computation must give the same numbers."
    from lmmrec_nb.data import load
    from lmmrec_nb.eval import reference_metrics
    floors = [r for r in records(nb, params, tmp_path_factory)['results'] if r['model'] == 'MostPop']
    if not floors: pytest.skip(f'{nb.stem} records no most-popular floor')
    for r in floors:
        d = load(r['dataset'])
        pop = np.bincount(d.pairs('train')[1], minlength=d.n_items).astype(float)
        order = np.argsort(-pop, kind='stable'); scores = np.empty(d.n_items); scores[order] = -np.arange(d.n_items)  # ties: lower id first
        train, held = ([set() for _ in range(d.n_users)] for _ in range(2))
        for sets, split in ((train, 'train'), (held, 'test')):
            for u, i in zip(*d.pairs(split)): sets[u].add(int(i))
        rec, ndcg = reference_metrics((scores for _ in range(d.n_users)), train, held, 20)
        # the evaluator sums per-user metrics in float32 batches, the reference in float64: equal to float32's precision
        assert (r['recall@20'], r['ndcg@20']) == pytest.approx((rec, ndcg), rel=1e-6), r['dataset']


def run_histories(rec):
    "{dataset: {'<variant>|<seed>[|<setting>]': [{'epoch', 'val_recall@20'}, ...]}} of a CI run."
    if 'histories_by_dataset' in rec: return rec['histories_by_dataset']
    datasets = {r['dataset'] for r in rec['results']}
    return {datasets.pop(): rec['histories']} if 'histories' in rec and len(datasets) == 1 else {}


def made_as(nb, params):
    "{'backbone': ..., 'forms': ..., 'texts': ...}: the settings of this run that a full run must share, for those `nb` has."
    src = ''.join(parameters_cells(nb)[0]['source'])
    return {k.lower(): params.get(k, v) for k, v in DEFAULTS.items() if re.search(rf'^{k} = ', src, re.M)}


def full_histories(nb, dataset, params):
    "The committed full runs' histories on `dataset` made with the same forms and texts, keyed like the CI run's."
    out = {}
    for run in full_run_results(f'{nb.stem}_full*.json', dataset, **made_as(nb, params)):
        out.update(run.get('histories') or {f'LightGCN|{s}': h for s, h in run.get('history', {}).items()})
    return out


def seed_sigma(full, epoch):
    "Population std across seeds of validation Recall@20 at `epoch`, pooled over the variants (and settings)."
    groups = {}
    for key, hist in full.items():
        parts = key.split('|'); group = '|'.join(parts[:1] + parts[2:])  # drop the seed
        val = {h['epoch']: h['val_recall@20'] for h in hist}.get(epoch)
        if val is not None: groups.setdefault(group, []).append(val)
    variances = [np.var(v) for v in groups.values() if len(v) >= 2]
    return math.sqrt(np.mean(variances)) if variances else None


@pytest.mark.parametrize('nb,params', RUNS, ids=IDS)
def test_agrees_with_the_committed_full_run_within_the_seed_band(nb, params, tmp_path_factory):
    "At the last epoch both evaluated, validation Recall@20 is within 3 seed stds of the full run (same seed)."
    runs = run_histories(records(nb, params, tmp_path_factory))
    fulls = {ds: full_histories(nb, ds, params) for ds in runs}
    if not any(fulls.values()): pytest.skip(f'{nb.stem}: no committed full run made as this one ({made_as(nb, params)})')
    compared = 0
    for ds, hists in runs.items():
        for key, hist in hists.items():
            ref = {h['epoch']: h['val_recall@20'] for h in fulls[ds].get(key, [])}
            common = [h for h in hist if h['epoch'] in ref]
            sigma = seed_sigma(fulls[ds], common[-1]['epoch']) if common else None
            if sigma is None: continue
            last, band = common[-1], BAND_SIGMAS * sigma
            assert abs(last['val_recall@20'] - ref[last['epoch']]) <= band, \
                f"{nb.stem} {ds} {key} epoch {last['epoch']}: {last['val_recall@20']:.4f} vs full run {ref[last['epoch']]:.4f}, band ±{band:.4f}"
            compared += 1
    assert compared, f'{nb.stem}: a committed full run exists, but no curve of this run could be compared with it'


def test_a_second_run_is_bit_identical(tmp_path_factory, monkeypatch):
    "The same CI-size LMMRec run twice in this job, the second from an empty cache: identical histories, bit for bit."
    nb = next(p for p in EXPERIMENTS if p.stem == 'e02_lmmrec')
    first = records(nb, {}, tmp_path_factory)['histories']
    fresh = tmp_path_factory.mktemp('fresh_cache')
    monkeypatch.setenv('LMMREC_CACHE', str(fresh))  # data, motivations and text vectors found anew
    out = tmp_path_factory.mktemp('second')
    second = run_notebook(nb, out, OUT_DIR=str(out / 'out'), MAX_EPOCHS=13)['histories']
    assert second.keys() == first.keys()
    for key in first:
        a = {h['epoch']: h['val_recall@20'] for h in first[key]}
        common = [h for h in second[key] if h['epoch'] in a]
        assert len(common) >= 4 and all(h['val_recall@20'] == a[h['epoch']] for h in common), key
