"""Print the README's result tables of an e02 full run from its committed files (the tables are pasted, never typed).

Usage: python ci/readme_tables.py 'e02_lmmrec_full_yelp_s*.json' xrec-yelp-profiled [--per-seed]
       python ci/readme_tables.py ci/results/bench_scale.json --scale      (the "Scaling out" cost table)
       python ci/readme_tables.py 'e04_correspondence_weights_full_s*.json' xrec-yelp-profiled --e04
       python ci/readme_tables.py 'e03_noise_full_s*.json' xrec-yelp-profiled --e03
       python ci/readme_tables.py ci/results/bench_fleet.json --fleet        (the extraction fleet's throughput)
       python ci/readme_tables.py ci/results/forecast.json --forecast        (the cost forecast per catalogue)
       python ci/readme_tables.py ci/results/bench_lmmrec_reference_yelp.json --speed   (the reference forms' cost)
       python ci/readme_tables.py ci/results/bench_lmmrec_kit_yelp.json --speed         (the kit forms' cost)
       python ci/readme_tables.py ci/results/bench_lmmrec_reference_ab_ops.json --ops   (operators / kernels per step)
       python ci/readme_tables.py 'e02_lmmrec_bf16_yelp_s*.json' xrec-yelp-profiled --precision   (bf16 vs float32 LMMRec)
       python ci/readme_tables.py 'LightGCN=e02_lmmrec_full_yelp_s*.json,SGL=e02_lmmrec_full_yelp-sgl_s*.json' xrec-yelp-profiled --backbones
Prints the variant table (mean ± population std over seeds, change vs the backbone, seeds above it, best epochs,
and s / epoch or the per-seed Recall@20) and the paired table (`lmmrec_nb.eval.paired_comparison`: mean
difference of test Recall@20 per seed, its 95% t interval, seeds ahead). tests/test_readme_numbers.py checks
that the README's tables equal what this prints.
"""
import argparse, json
import numpy as np
from lmmrec_nb.core import full_run_results
from lmmrec_nb.eval import paired_comparison

NAMES = {'backbone': 'LightGCN', 'rlmrec-con': '+ RLMRec-Con', 'lmmrec': '+ LMMRec',
         'lmmrec w/o coordination': 'LMMRec w/o coordination', 'lmmrec w/o correspondence': 'LMMRec w/o correspondence'}
PAIRS = {'+ RLMRec-Con − LightGCN': ('rlmrec-con', 'backbone'), '+ LMMRec − LightGCN': ('lmmrec', 'backbone'),
         'LMMRec − RLMRec-Con': ('lmmrec', 'rlmrec-con'), 'LMMRec − LMMRec w/o coordination': ('lmmrec', 'lmmrec w/o coordination'),
         'LMMRec − LMMRec w/o correspondence': ('lmmrec', 'lmmrec w/o correspondence')}


def committed_rows(pattern:str, dataset:str|None=None):
    "Every row of the committed full-run files matching `pattern` (of `dataset`), one list."
    return [r for f in full_run_results(pattern, dataset) for r in f['rows']]


def fmt(x): return f'{x:.4f}'.lstrip('0')
def signed(x): return f'{x:+.4f}'.replace('0.', '.', 1).replace('-', '−')
def row(*cells): return '| ' + ' | '.join(map(str, cells)) + ' |' if all(cells) else '|' + '|'.join(f' {c} ' if c else ' ' for c in cells) + '|'


def tables(rows, per_seed=False):
    "The two Markdown tables of these full-run rows."
    by = {}
    for r in sorted(rows, key=lambda r: (r['seed'] or 0)):
        if r['model'] != 'MostPop': by.setdefault(r['model'], []).append(r)
    floor = next(r for r in rows if r['model'] == 'MostPop')
    base = {r['seed']: r['recall@20'] for r in by['backbone']}
    last = 'per seed R@20' if per_seed else 's / epoch'
    out = [f'| variant | seeds | Recall@20 | NDCG@20 | R@20 vs LightGCN | above LightGCN | best epochs | {last} |',
           '|---|---|---|---|---|---|---|---|', row('MostPop', '', fmt(floor['recall@20']), fmt(floor['ndcg@20']), '', '', '', '')]
    for v, name in NAMES.items():
        rs = by[v]; rec, nd = (np.array([r[m] for r in rs]) for m in ('recall@20', 'ndcg@20'))
        change = rec.mean() / np.mean(list(base.values())) - 1
        ch = '' if v == 'backbone' else ('±0.0%' if round(change * 100, 1) == 0 else f'{change * 100:+.1f}%'.replace('-', '−'))
        above = '' if v == 'backbone' else f"{sum(r['recall@20'] > base[r['seed']] for r in rs)}/{len(rs)}"
        tail = ', '.join(fmt(r['recall@20']) for r in rs) if per_seed else f"{np.mean([r['s_per_epoch'] for r in rs]):.2f}"
        out.append(row(name, len(rs), f'{fmt(rec.mean())} ± {fmt(rec.std())}', f'{fmt(nd.mean())} ± {fmt(nd.std())}', ch, above,
                       ', '.join(str(r['best_epoch']) for r in rs), tail))
    rec = {v: {r['seed']: r['recall@20'] for r in rs} for v, rs in by.items()}
    out += ['', '| comparison | mean difference | 95% interval | seeds ahead |', '|---|---|---|---|']
    for name, (a, b) in PAIRS.items():
        c = paired_comparison(rec[a], rec[b])
        out.append(row(name, signed(c['mean']), f"[{signed(c['lo'])}, {signed(c['hi'])}]", f"{c['ahead']}/{c['n']}"))
    return '\n'.join(out)


def backbone_table(runs):
    "One row per backbone: its Recall@20, and each variant's change with its paired 95% t interval and seeds ahead."
    head = ['| backbone | seeds | backbone R@20 | + RLMRec-Con | its 95% interval | + LMMRec | its 95% interval | LMMRec − RLMRec-Con | its 95% interval |',
            '|---|---|---|---|---|---|---|---|---|']
    out = []
    for name, rows in runs.items():
        rec = {}
        for r in rows:
            if r['model'] != 'MostPop': rec.setdefault(r['model'], {})[r['seed']] = r['recall@20']
        base = np.array(list(rec['backbone'].values()))
        cells = [name, len(base), f'{fmt(base.mean())} ± {fmt(base.std())}']
        for a, b in (('rlmrec-con', 'backbone'), ('lmmrec', 'backbone'), ('lmmrec', 'rlmrec-con')):
            c = paired_comparison(rec[a], rec[b])
            cells += [f"{signed(c['mean'])} ({c['ahead']}/{c['n']})", f"[{signed(c['lo'])}, {signed(c['hi'])}]"]
        out.append(row(*cells))
    return '\n'.join(head + out)


def e03_table(rows):
    "The noise-robustness table: per fraction of texts replaced, each variant's test Recall@20 and the paired gap."
    rec = {}
    for r in rows:
        if r['model'] != 'MostPop': rec.setdefault((r['model'], r['noise']), {})[r['seed']] = r['recall@20']
    noises = sorted({n for _, n in rec})
    out = ['| texts replaced | + RLMRec-Con | vs clean | + LMMRec | vs clean | LMMRec − RLMRec-Con | its 95% interval | seeds LMMRec ahead |',
           '|---|---|---|---|---|---|---|---|']
    for n in noises:
        cells = [f'{n:.0%}']
        for v in ('rlmrec-con', 'lmmrec'):
            x = np.array(list(rec[(v, n)].values())); clean = np.mean(list(rec[(v, 0.0)].values()))
            change = '' if n == 0 else f'{(x.mean() / clean - 1) * 100:+.1f}%'.replace('-', '−')
            cells += [f'{fmt(x.mean())} ± {fmt(x.std())}', change]
        c = paired_comparison(rec[('lmmrec', n)], rec[('rlmrec-con', n)])
        cells += [signed(c['mean']), f"[{signed(c['lo'])}, {signed(c['hi'])}]", f"{c['ahead']}/{c['n']}"]
        out.append(row(*cells))
    out += ['', '| noisy − clean test R@20, paired over seeds | + RLMRec-Con | + LMMRec | LMMRec\'s change − RLMRec-Con\'s | its 95% interval |',
            '|---|---|---|---|---|']
    drop = {v: {n: {s: x - rec[(v, 0.0)][s] for s, x in rec[(v, n)].items()} for n in noises if n} for v in ('rlmrec-con', 'lmmrec')}
    interval = lambda c: f"{signed(c['mean'])} [{signed(c['lo'])}, {signed(c['hi'])}]"
    for n in noises[1:]:
        zero = dict.fromkeys(drop['lmmrec'][n], 0.0)
        c = paired_comparison(drop['lmmrec'][n], drop['rlmrec-con'][n])
        out.append(row(f'{n:.0%}', interval(paired_comparison(drop['rlmrec-con'][n], zero)),
                       interval(paired_comparison(drop['lmmrec'][n], zero)), signed(c['mean']), f"[{signed(c['lo'])}, {signed(c['hi'])}]"))
    return '\n'.join(out)


def e04_table(rows):
    "The correspondence-weight sweep: per w2 = w3, validation (which picks) and test Recall@20, then paired tests vs 1e-7."
    by = {}
    for r in rows: by.setdefault(r['w'], []).append(r)
    mean_val = {w: np.mean([r['val_recall@20'] for r in rs]) for w, rs in by.items()}
    pick, ref = max(mean_val, key=mean_val.get), min(by)
    out = ['| w2 = w3 | seeds | validation R@20 | test R@20 | share of the loss (ta + itc) | best epochs | |',
           '|---|---|---|---|---|---|---|']
    for w in sorted(by):
        rs = sorted(by[w], key=lambda r: r['seed'])
        val, test = (np.array([r[k] for r in rs]) for k in ('val_recall@20', 'recall@20'))
        out.append(row(f'{w:g}', len(rs), f'{fmt(val.mean())} ± {fmt(val.std())}', f'{fmt(test.mean())} ± {fmt(test.std())}',
                       f"{np.mean([r['share'] for r in rs]):.1e}", ', '.join(str(r['best_epoch']) for r in rs),
                       'picked on validation' if w == pick else ''))
    out += ['', '| test R@20, paired over seeds | mean difference | 95% interval | seeds ahead |', '|---|---|---|---|']
    test = {w: {r['seed']: r['recall@20'] for r in rs} for w, rs in by.items()}
    for w in sorted(by):
        if w == ref: continue
        c = paired_comparison(test[w], test[ref])
        label = f"{w:g} − {ref:g}" + (' (the pick)' if w == pick else ' (not picked; for information)')
        out.append(row(label, signed(c['mean']), f"[{signed(c['lo'])}, {signed(c['hi'])}]", f"{c['ahead']}/{c['n']}"))
    return '\n'.join(out)


def precision_table(fp32:list, bf16:list):
    "LMMRec trained with precision='bf16' against e02's float32 LMMRec runs of the same seeds: means, then paired tests."
    runs = {'float32 (the e02 runs)': fp32, "precision='bf16'": bf16}
    by = {k: {r['seed']: r for r in rs if r['model'] == 'lmmrec'} for k, rs in runs.items()}
    seeds = sorted(set(by["precision='bf16'"]) & set(by['float32 (the e02 runs)']))
    out = ['| LMMRec, reference forms | seeds | test Recall@20 | test NDCG@20 | best epochs |', '|---|---|---|---|---|']
    for k, rs in by.items():
        rec, ndcg = (np.array([rs[s][m] for s in seeds]) for m in ('recall@20', 'ndcg@20'))
        out.append(row(k, len(seeds), f'{fmt(rec.mean())} ± {fmt(rec.std())}', f'{fmt(ndcg.mean())} ± {fmt(ndcg.std())}',
                       ', '.join(str(rs[s]['best_epoch']) for s in seeds)))
    out += ['', '| bf16 − float32, paired over seeds | mean difference | 95% interval | seeds bf16 ahead |', '|---|---|---|---|']
    for m in ('recall@20', 'ndcg@20'):
        c = paired_comparison(*({s: by[k][s][m] for s in seeds} for k in ("precision='bf16'", 'float32 (the e02 runs)')))
        out.append(row(f'test {m.replace("recall", "Recall").replace("ndcg", "NDCG")}', signed(c['mean']),
                       f"[{signed(c['lo'])}, {signed(c['hi'])}]", f"{c['ahead']}/{c['n']}"))
    return '\n'.join(out)


def fleet_table(summary:dict):
    "Requests per second of the fleet client against 1..k local servers (`ci/bench_fleet.py`'s JSON)."
    ks = sorted({int(k.split('_')[1]) for k in summary if k.startswith('real_') and k.endswith('_requests_per_s')})
    out = [f"| servers | llama.cpp SmolLM2, 1 thread each: requests/s | answers per server | "
           f"stub, {summary['stub_latency_s']} s per request, one at a time: requests/s | answers per server |",
           '|---|---|---|---|---|']
    for k in ks:
        cells = [str(k)]
        for kind in ('real', 'stub'):
            x = f'{kind}_{k}_servers_'
            cells += [f"{summary[x + 'requests_per_s']:.2f} ({summary[x + 'speedup']:.2f}x)",
                      ', '.join(map(str, summary[x + 'answers_per_server']))]
        out.append(row(*cells))
    return '\n'.join(out)


def _dur(h): # hours
    "A duration in the unit a reader takes in: seconds, minutes, hours or days."
    for unit, size in (('days', 24), ('h', 1), ('min', 1 / 60), ('s', 1 / 3600)):
        if h >= size or unit == 's': return f'{_num(h / size)} {unit}'


def _num(x): return f'{x:,.0f}' if x >= 10 else f'{x:.2g}'  # whole numbers from 10 up, else two digits
def _count(x): return _num(x / 1e9) + 'B' if x >= 1e9 else _num(x / 1e6) + 'M' if x >= 1e6 else f'{x:,.0f}'


def forecast_table(summary:dict):
    "The forecast of `ci/forecast.py`: one row per catalogue (extraction tokens and GPU-hours, training, ranking)."
    rates = summary['assumed_gen_tok_s']
    out = ['| catalogue | users | items | interactions | LLM prompts | tokens in / out | GPU-hours at '
           + ' / '.join(f'{g:,.0f}' for g in rates) + ' output tok/s (assumed) | training memory | LightGCN epoch, 1 CPU thread | '
           'full ranking, 1 CPU thread |', '|---|---|---|---|---|---|---|---|---|---|']
    for name, x in summary['catalogues'].items():
        ext = ' (extrapolated)' if x['extrapolated'] else ''
        gpu = ' / '.join(_num(x[f'gpu_hours_at_{g}_tok_s']) for g in rates)
        out.append(row(name, f"{x['U']:,}", f"{x['I']:,}", f"{x['R']:,}", f"{x['prompts']:,}",
                       f"{_count(x['input_tokens'])} / {_count(x['output_tokens'])}", gpu,
                       f"{x['train_memory_gib']:,.1f} GiB{ext}", _dur(x['cpu_epoch_h']) + ext, _dur(x['cpu_full_ranking_h'])))
    return '\n'.join(out)


def scale_table(summary:dict):
    "The cost-growth table of `ci/bench_scale.py`'s JSON: one row per size and model, then the fitted exponents."
    out = ['| interactions | users | items | model | s / batch | s / epoch (batches × s / batch) | full ranking, all users, s | peak RSS, MiB |',
           '|---|---|---|---|---|---|---|---|']
    for r in summary['rows']:
        if r.get('timed_out'):
            out.append(row(f"{r['R']:,}", '', '', r['model'], f"over {r['timed_out']} s: not feasible here", '', '', ''))
            continue
        out.append(row(f"{r['R']:,}", f"{r['users']:,}", f"{r['items']:,}", r['model'], f"{r['batch_s']:.3g}",
                       f"{r['epoch_s']:,.1f}", f"{r['eval_all_users_s']:,.1f}", f"{r['peak_rss_mib']:,.0f}"))
    fits = {k[:-len('_exponent')].replace('_', ' ', 1): v for k, v in summary.items() if k.endswith('_exponent')}
    sizes = {m: sum(r['model'] == m and not r.get('timed_out') for r in summary['rows']) for m in ('lightgcn', 'lmmrec')}
    out += ['', f"growth exponents k in cost ~ R^k (least squares on log-log; LightGCN from {sizes['lightgcn']} sizes, "
            f"LMMRec from {sizes['lmmrec']}): " + ', '.join(f'{k} {v:.1f}' for k, v in fits.items())]
    return '\n'.join(out)


def run_label(run:str):
    "A benchmark run's column name: 'lmmrec bf16' -> '+ LMMRec bf16', 'plain rlmrec-con' -> 'plain RLMRec-Con'."
    label = {'lightgcn': 'LightGCN', 'plain': 'plain LMMRec'}.get(run, run if run.startswith('plain') else '+ ' + run.lstrip('+'))
    return label.replace('rlmrec-con', 'RLMRec-Con').replace('lmmrec', 'LMMRec').replace(' gpu blocks', ", a GPU's blocks")


def kit_speed_table(fig:dict):
    "The kit forms' cost table of `ci/bench_lmmrec.py --terms`'s JSON: epoch seconds per run and their ratio to the backbone's."
    runs = ['backbone', 'rlmrec-con', 'lmmrec'] + [f'only_{t}' for t in ('kd', 'pair', 'ta', 'itc')]
    names = ['LightGCN', '+ RLMRec-Con', '+ LMMRec'] + [f'+ {t} only' for t in ('kd', 'pair', 'ta', 'itc')]
    return '\n'.join(['| epoch | ' + ' | '.join(names) + ' |', '|---|' + '---|' * len(runs),
                      row('seconds', *(f"{fig[f'epoch_s_{r}']:.3g}" for r in runs)),
                      row('vs LightGCN', *(f"{fig[f'epoch_s_{r}'] / fig['epoch_s_backbone']:.1f}x" for r in runs))])


def speed_table(fig:dict):
    "The cost table of `ci/bench_lmmrec.py --forms reference`'s JSON (epoch and peak RSS per run, ratios, roofline), or the kit's."
    if fig.get('forms') == 'kit': return kit_speed_table(fig)
    runs = [k[len('epoch_s_'):] for k in fig if k.startswith('epoch_s_')]
    out = ['| epoch | ' + ' | '.join(map(run_label, runs)) + ' |',
           '|---|' + '---|' * len(runs), row('seconds', *(f"{fig[f'epoch_s_{r}']:.3g}" for r in runs)),
           row('vs LightGCN', *(f"{fig[f'epoch_s_{r}'] / fig['epoch_s_lightgcn']:.1f}x" for r in runs)),
           row('peak RSS, MiB', *(f"{fig[f'peak_rss_mib_{r}']:,.0f}" for r in runs)), '']
    aligned = (('rlmrec-con', 'rlmrec-con_', 'RLMRec-Con'), ('lmmrec', '', 'LMMRec'))  # run, its keys' prefix, its name
    precisions = (('', 'float32'), ('_bf16', "precision='bf16'"))
    for run, pre, name in aligned:
        for tag, what in precisions:
            out.append(f"- {name}{', ' + what if tag else ''} / its plain float32 baseline: **{fig[f'ratio_{run}{tag}_vs_plain']:.2f}x** "
                       f"(target ≤ 0.3x; floor {fig[f'{pre}floor_ratio{tag}']:.2f}x)")
    for run, pre, name in aligned:
        for tag, what in precisions:
            out.append(f"- achieved / peak, {name}'s alignment terms, {what}: **{fig[f'{pre}achieved_over_peak{tag}']:.0%}** "
                       f"({sum(fig[f'{pre}gflop_{k}'] for k in ('projections', 'infonce', 'mixtures')):.0f} GFLOP in "
                       f"{fig[f'{pre}alignment_s{tag}']:.1f} s = {fig[f'{pre}alignment_gflops{tag}']:.1f} GFLOP/s; torch.mm at the "
                       f"same shapes {fig[f'{pre}peak_gflops{tag}']:.0f} GFLOP/s; target ≥ 50%)")
    return '\n'.join(out)


def ops_table(fig:dict):
    "The launches table of `ci/bench_lmmrec.py --forms reference --profile`'s JSON: operators (CUDA kernels) per step."
    runs = [k[len('ops_per_step_'):] for k in fig if k.startswith('ops_per_step_')]
    out = ['| one training step | ' + ' | '.join(map(run_label, runs)) + ' |',
           '|---|' + '---|' * len(runs), row('compute operators', *(f"{fig[f'ops_per_step_{r}']:,}" for r in runs))]
    if any(fig[f'kernels_per_step_{r}'] for r in runs): out.append(row('CUDA kernels', *(f"{fig[f'kernels_per_step_{r}']:,}" for r in runs)))
    return '\n'.join(out)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('pattern', help="glob of result files; with --backbones, one glob per backbone: 'name=glob,name=glob'")
    ap.add_argument('dataset', nargs='?'); ap.add_argument('--per-seed', action='store_true')
    ap.add_argument('--backbones', action='store_true', help='the model-agnostic table: one row per backbone')
    ap.add_argument('--scale', action='store_true', help="pattern is ci/bench_scale.py's JSON: the cost-growth table")
    ap.add_argument('--e03', action='store_true', help='the noise-robustness (e03) table')
    ap.add_argument('--e04', action='store_true', help='the correspondence-weight sweep (e04) tables')
    ap.add_argument('--fleet', action='store_true', help="pattern is ci/bench_fleet.py's JSON: the fleet's throughput")
    ap.add_argument('--forecast', action='store_true', help="pattern is ci/forecast.py's JSON: the cost forecast")
    ap.add_argument('--speed', action='store_true', help="pattern is ci/bench_lmmrec.py --forms reference's JSON: its cost")
    ap.add_argument('--ops', action='store_true', help="pattern is ci/bench_lmmrec.py --forms reference --profile's JSON: launches")
    ap.add_argument('--precision', action='store_true', help="pattern: LMMRec runs with precision='bf16', against e02's float32 runs")
    a = ap.parse_args()
    if a.forecast or a.fleet or a.scale or a.speed or a.ops:  # a benchmark's JSON
        summary = json.loads(open(a.pattern).read())
        print((forecast_table if a.forecast else fleet_table if a.fleet else scale_table if a.scale else
               ops_table if a.ops else speed_table)(summary))
    elif a.backbones:
        globs = dict(x.split('=', 1) for x in a.pattern.split(','))
        print(backbone_table({n: committed_rows(g, a.dataset) for n, g in globs.items()}))
    elif a.precision:
        print(precision_table(committed_rows('e02_lmmrec_full_yelp_s*.json', a.dataset), committed_rows(a.pattern, a.dataset)))
    else:
        rows = committed_rows(a.pattern, a.dataset)
        print(e03_table(rows) if a.e03 else e04_table(rows) if a.e04 else tables(rows, a.per_seed))
