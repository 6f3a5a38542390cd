"""The README's result tables are the committed full runs, number for number.

The committed files hold the runs (with the command that made them); a new user's `bash ci/main.sh` reproduces the
main table's file bit for bit on this kind of machine (the text vectors are shipped, see 30_text_encoder), and CI's
short runs are checked against the same files within the seed band (test_experiments.py). Here: README == files.
"""
import re
import numpy as np, pytest
from lmmrec_nb.core import full_run_results
from conftest import ROOT

README = (ROOT / 'README.md').read_text()
NAMES = {'LightGCN': 'backbone', '+ RLMRec-Con': 'rlmrec-con', '+ LMMRec': 'lmmrec',
         'LMMRec w/o coordination': 'lmmrec w/o coordination', 'LMMRec w/o correspondence': 'lmmrec w/o correspondence'}


def table_after(heading, then=''):
    "{first cell: [cells]} of the first Markdown table after `heading` (and after `then`, if given, below it)."
    rest = README[README.index(heading):]
    rest = rest[rest.index(then):]
    lines = [l for l in rest[rest.index('\n|'):].split('\n\n')[0].strip().splitlines() if l.startswith('|')]
    return {cells[0]: cells for cells in ([c.strip() for c in l.strip('|').split('|')] for l in lines[2:])}


def fmt(x): return f'{x:.4f}'.lstrip('0')


def expected_rows(rows):
    "README cells of each variant from the full-run rows: R@20 and N@20 mean ± std, change, seeds above, best epochs."
    by = {}
    for r in rows:
        if r['model'] != 'MostPop': by.setdefault(r['model'], []).append(r)
    base = {r['seed']: r['recall@20'] for r in by['backbone']}
    out = {}
    for v, rs in by.items():
        rs = sorted(rs, key=lambda r: r['seed']); rec = np.array([r['recall@20'] for r in rs]); nd = np.array([r['ndcg@20'] for r in rs])
        change = rec.mean() / np.mean(list(base.values())) - 1
        out[v] = dict(recall=f'{fmt(rec.mean())} ± {fmt(rec.std())}', ndcg=f'{fmt(nd.mean())} ± {fmt(nd.std())}',
                      change='±0.0%' if round(change * 100, 1) == 0 else f'{change * 100:+.1f}%',
                      above=f"{sum(r['recall@20'] > base[r['seed']] for r in rs)}/{len(rs)}",
                      epochs=', '.join(str(r['best_epoch']) for r in rs))
    return out


@pytest.mark.parametrize('heading,pattern,dataset', [
    ('**Main job**', 'e02_lmmrec_full_amazon-mi.json', 'amazon-musical-instruments-2014'),
    ('**LMMRec vs its backbone on real LLM text**', 'e02_lmmrec_full_yelp_s*.json', 'xrec-yelp-profiled')])
def test_lmmrec_tables_are_the_committed_runs(heading, pattern, dataset):
    rows = [r for f in full_run_results(pattern, dataset) for r in f['rows']]
    assert rows, f'no committed full run {pattern}'
    table, want = table_after(heading), expected_rows(rows)
    for name, v in NAMES.items():
        cells = table[name]
        got = dict(recall=cells[2], ndcg=cells[3], change=cells[4] or '±0.0%', above=cells[5] or f'{len(rows) // 6}/{len(rows) // 6}', epochs=cells[6])
        exp = want[v] if v != 'backbone' else {**want[v], 'change': '±0.0%', 'above': got['above']}
        assert got == exp, f'{heading} {name}'
    floor = next(r for r in rows if r['model'] == 'MostPop')
    assert table['MostPop'][2:4] == [fmt(floor['recall@20']), fmt(floor['ndcg@20'])]


@pytest.mark.parametrize('label,dataset', [('Amazon-book', 'rlmrec-amazon-book'), ('Yelp', 'rlmrec-yelp')])
def test_lightgcn_table_is_the_committed_run(label, dataset):
    rows = [r for f in full_run_results('e01_lightgcn_full_*.json', dataset) for r in f['rows'] if r['model'] == 'LightGCN']
    rec = np.array([r['recall@20'] for r in sorted(rows, key=lambda r: r['seed'])])
    cells = table_after('**LightGCN at paper scale**')[label]
    assert cells[1].startswith(f'{fmt(rec.mean())} ± {fmt(rec.std())}')
    assert cells[4] == ', '.join(f"{fmt(r['recall@20'])} ({r['best_epoch']})" for r in sorted(rows, key=lambda r: r['seed']))


COMPARISONS = {'+ RLMRec-Con − LightGCN': ('rlmrec-con', 'backbone'), '+ LMMRec − LightGCN': ('lmmrec', 'backbone'),
               'LMMRec − RLMRec-Con': ('lmmrec', 'rlmrec-con'), 'LMMRec − LMMRec w/o coordination': ('lmmrec', 'lmmrec w/o coordination'),
               'LMMRec − LMMRec w/o correspondence': ('lmmrec', 'lmmrec w/o correspondence')}


def signed(x): return f'{x:+.4f}'.replace('0.', '.', 1).replace('-', '−')


@pytest.mark.parametrize('heading,pattern,dataset', [
    ('**Main job**', 'e02_lmmrec_full_amazon-mi.json', 'amazon-musical-instruments-2014'),
    ('**LMMRec vs its backbone on real LLM text**', 'e02_lmmrec_full_yelp_s*.json', 'xrec-yelp-profiled')])
def test_paired_intervals_are_computed_from_the_committed_runs(heading, pattern, dataset):
    "The README's paired tables are `paired_comparison` of the committed per-seed results."
    from lmmrec_nb.eval import paired_comparison
    rows = [r for f in full_run_results(pattern, dataset) for r in f['rows'] if r['model'] != 'MostPop']
    by = {}
    for r in rows: by.setdefault(r['model'], {})[r['seed']] = r['recall@20']
    table = table_after(heading, then='Paired over the three seeds')
    for label, (a, b) in COMPARISONS.items():
        c = paired_comparison(by[a], by[b])
        assert table[label][1:] == [signed(c['mean']), f"[{signed(c['lo'])}, {signed(c['hi'])}]", f"{c['ahead']}/{c['n']}"], label
