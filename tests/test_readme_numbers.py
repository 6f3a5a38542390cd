"""The README's result tables are the committed full runs, number for number.

The committed files hold the runs (with the command that made them); a new user's `bash ci/main.sh` reproduces the
main table's file bit for bit on this kind of machine (the text vectors are shipped, see 30_text_encoder), and CI's
short runs are checked against the same files within the seed band (test_experiments.py). Here: README == files.
"""
import sys
import numpy as np, pytest
from conftest import ROOT

README = (ROOT / 'README.md').read_text()
sys.path.insert(0, str(ROOT / 'ci'))
from readme_tables import committed_rows, tables  # noqa: E402  (what the README's e02 tables were pasted from)


def table_after(heading, then=''):
    "{first cell: [cells]} of the first Markdown table after `heading` (and after `then`, if given, below it)."
    rest = README[README.index(heading):]
    rest = rest[rest.index(then):]
    lines = [l for l in rest[rest.index('\n|'):].split('\n\n')[0].strip().splitlines() if l.startswith('|')]
    return {cells[0]: cells for cells in ([c.strip() for c in l.strip('|').split('|')] for l in lines[2:])}


def fmt(x): return f'{x:.4f}'.lstrip('0')


def section(heading):
    "The README from `heading` to the next paragraph that starts in bold."
    at = README.index(heading)
    return README[at:README.index('\n**', at + len(heading))]


@pytest.mark.parametrize('heading,pattern,dataset,per_seed', [
    ('**Main job**', 'e02_lmmrec_full_amazon-mi.json', 'amazon-musical-instruments-2014', False),
    ('**LMMRec vs its backbone on real LLM text**', 'e02_lmmrec_full_yelp_s*.json', 'xrec-yelp-profiled', True)])
def test_lmmrec_tables_are_the_committed_runs(heading, pattern, dataset, per_seed):
    "Both tables of the section (variants; paired differences with their t intervals) are those of the committed files."
    rows = committed_rows(pattern, dataset)
    assert rows, f'no committed full run {pattern}'
    variants, paired = tables(rows, per_seed).split('\n\n')
    text = section(heading)
    assert variants in text, f'{heading}: the variant table is not ci/readme_tables.py {pattern} {dataset}'
    assert paired in text, f'{heading}: the paired table is not ci/readme_tables.py {pattern} {dataset}'


@pytest.mark.parametrize('label,dataset', [('Amazon-book', 'rlmrec-amazon-book'), ('Yelp', 'rlmrec-yelp')])
def test_lightgcn_table_is_the_committed_run(label, dataset):
    rows = [r for r in committed_rows('e01_lightgcn_full_*.json', dataset) if r['model'] == 'LightGCN']
    rec = np.array([r['recall@20'] for r in sorted(rows, key=lambda r: r['seed'])])
    cells = table_after('**LightGCN at paper scale**')[label]
    assert cells[1].startswith(f'{fmt(rec.mean())} ± {fmt(rec.std())}')
    assert cells[4] == ', '.join(f"{fmt(r['recall@20'])} ({r['best_epoch']})" for r in sorted(rows, key=lambda r: r['seed']))


def test_model_agnostic_table_is_the_committed_runs():
    "The README's backbone table is `backbone_table` of the committed LightGCN, SGL and SimGCL runs (those that exist)."
    from readme_tables import backbone_table
    globs = {'LightGCN': 'e02_lmmrec_full_yelp_s*.json', 'SGL': 'e02_lmmrec_full_yelp-sgl_s*.json',
             'SimGCL': 'e02_lmmrec_full_yelp-simgcl_s*.json'}
    runs = {n: committed_rows(g, 'xrec-yelp-profiled') for n, g in globs.items()}
    runs = {n: rows for n, rows in runs.items() if rows}
    assert set(runs) >= {'LightGCN', 'SGL'}, sorted(runs)
    assert backbone_table(runs) in section('**Model-agnostic?**')


@pytest.mark.parametrize('printer,result,heading', [
    ('scale_table', 'bench_scale.json', '**How cost grows**'),
    ('fleet_table', 'bench_fleet.json', '**Extraction over a fleet of servers**'),
    ('forecast_table', 'forecast.json', '**A forecast**'),
    ('speed_table', 'bench_lmmrec_kit_yelp.json', "**LMMRec's training cost in the kit's forms**"),
    ('speed_table', 'bench_lmmrec_reference_yelp.json', "**The reference forms' cost**"),
    ('speed_table', 'bench_lmmrec_reference_ab.json', '**At paper scale: Amazon-book with 1536-d text**'),
    ('ops_table', 'bench_lmmrec_reference_ab_ops.json', '**Launches per step on a GPU.**')])
def test_benchmark_tables_are_the_committed_results(printer, result, heading):
    "Each benchmark table of the README is its printer's output on the committed JSON under ci/results/."
    import json, readme_tables
    summary = json.loads((ROOT / 'ci' / 'results' / result).read_text())
    assert getattr(readme_tables, printer)(summary) in section(heading), f'{heading}: not ci/readme_tables.py on {result}'


@pytest.mark.parametrize('printer,pattern,heading', [
    ('e03_table', 'e03_noise_full_s*.json', '**Noise robustness**'),
    ('e04_table', 'e04_correspondence_weights_full_s*.json', '**Do the correspondence terms matter at any weight?**')])
def test_sweep_tables_are_the_committed_runs(printer, pattern, heading):
    "The noise and correspondence-weight tables are their printers' output on the committed full runs (2+ seeds)."
    import readme_tables
    rows = committed_rows(pattern, 'xrec-yelp-profiled')
    assert len({r['seed'] for r in rows if r['seed'] is not None}) >= 2, f'{pattern}: a paired table needs two seeds'
    assert getattr(readme_tables, printer)(rows) in section(heading), f'{heading}: not ci/readme_tables.py {pattern}'


@pytest.mark.parametrize('pattern,at_e02', [
    ('e04_correspondence_weights_full_s*.json', lambda r: r['w'] == 1e-7),  # e02's correspondence weights
    ('e03_noise_full_s*.json', lambda r: r['noise'] == 0.0)], ids=['e04 at 1e-7', 'e03 on clean text'])
def test_sweep_points_at_e02_settings_are_the_e02_runs(pattern, at_e02):
    "A sweep's point with e02's settings gives e02's test metrics for the same variant and seed, number for number."
    e02 = {(r['model'], r['seed']): r for r in committed_rows('e02_lmmrec_full_yelp_s*.json', 'xrec-yelp-profiled')}
    rows = [r for r in committed_rows(pattern, 'xrec-yelp-profiled') if r['seed'] is not None and at_e02(r)]
    assert rows and {(r['model'], r['seed']) for r in rows} <= set(e02), sorted((r['model'], r['seed']) for r in rows)
    for r in rows:
        o = e02[r['model'], r['seed']]
        assert (r['best_epoch'], r['recall@20'], r['ndcg@20']) == (o['best_epoch'], o['recall@20'], o['ndcg@20']), (r['model'], r['seed'])


def test_precision_table_is_the_committed_runs():
    "The bf16 quality table is `precision_table` of the committed bf16 runs against e02's float32 runs of the same seeds."
    from readme_tables import precision_table
    bf16 = committed_rows('e02_lmmrec_bf16_yelp_s*.json', 'xrec-yelp-profiled')
    assert len({r['seed'] for r in bf16 if r['seed'] is not None}) >= 2, 'a paired table needs two seeds'
    assert precision_table(committed_rows('e02_lmmrec_full_yelp_s*.json', 'xrec-yelp-profiled'), bf16) in section('**Does bfloat16 train as well?**')
