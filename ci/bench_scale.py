"""Benchmark (not a test): how training and full-ranking cost grow with the number of interactions (issue 15).

Usage: python ci/bench_scale.py [--sizes 1e5 3e5 1e6 3e6 1e7] [--batches 5] [--threads 1] [--device cpu] [--out ci/results]
       [--timeout 600]

For each size R (training interactions) it draws a seeded synthetic bipartite graph with a realistic degree
distribution: U = R / 10 users whose activity is log-normal, I = R / 12 items whose popularity follows a Zipf law
(exponent 1), pairs drawn from both and de-duplicated (so a size's actual R is printed). In a fresh subprocess per
(size, model) -- so that the peak RSS is that run's alone -- it times:
- a training batch (4,096 triples: forward, loss, backward, Adam step; the mean of --batches after one warm-up) of
  LightGCN and of LMMRec in the reference forms (random 384-d text vectors for every node, the reference's weights);
  an epoch is R / 4,096 batches, so epoch time = batches x time per batch (printed);
- full-ranking scores and top-20 for a fixed block of 1,024 users (scores against every item, training items
  masked as `lmmrec_nb.eval` does), and the time one full evaluation of all U users would take at that rate.
A run over --timeout seconds is recorded as not feasible on this machine, and larger sizes of that model are
skipped (LMMRec's reference forms contrast every node's text each batch: that is where they stop).
It prints a table, fits the growth exponent of each time (slope of log time on log R), writes
`<out>/bench_scale.json` and a log-log plot `<out>/bench_scale.png`; its last line is one JSON object of every figure.
The baseline of each ratio is the smallest size, run in the same invocation.
"""
import argparse, json, platform, resource, subprocess, sys, time
from pathlib import Path
import numpy as np

BATCH, BLOCK, TEXT_DIM = 4096, 1024, 384


def synthetic(R:int, seed:int=0):
    "(users, items, n_users, n_items) of a seeded power-law bipartite graph with about R distinct interactions."
    rng = np.random.default_rng(seed)
    nu, ni = max(R // 10, 10), max(R // 12, 10)
    act = rng.lognormal(0, 1, nu); act /= act.sum()
    pop = 1 / np.arange(1, ni + 1); pop = rng.permutation(pop / pop.sum())
    draw = int(R * 1.15)  # a few pairs repeat; drawing 15% more lands near R distinct pairs
    keys = np.unique(rng.choice(nu, draw, p=act).astype(np.int64) * ni + rng.choice(ni, draw, p=pop))
    keys = rng.permutation(keys)[:R]
    (uu, u), (ii, i) = (np.unique(x, return_inverse=True) for x in (keys // ni, keys % ni))  # drop ids never drawn
    return u, i, len(uu), len(ii)


def recdata(R:int):
    "A `RecData` whose training split is the synthetic graph (validation and test: one pair each, never read here)."
    import pandas as pd
    from lmmrec_nb.data import RecData, _table
    u, i, nu, ni = synthetic(R)
    tr = pd.DataFrame({'user': u, 'item': i})
    one = tr.iloc[:1]
    splits = {'train': _table(tr), 'val': _table(one), 'test': _table(one)}
    return RecData(f'synthetic-{R}', list(range(nu)), list(range(ni)), splits)


def one_run(R:int, model:str, batches:int, device:str, threads:int):
    "Time per training batch and per full-ranking block of one (size, model); runs in its own process."
    import torch
    from lmmrec_nb.backbones import make_backbone
    from lmmrec_nb.lmmrec import LMMRec, reference_settings
    from lmmrec_nb.train import NegativeSampler
    torch.set_num_threads(threads)
    t0 = time.perf_counter(); d = recdata(R); build_s = time.perf_counter() - t0
    bb = make_backbone('lightgcn', d, device=device, seed=0)
    if model == 'lmmrec':
        g = torch.Generator().manual_seed(0)
        S = torch.nn.functional.normalize(torch.randn(d.n_users + d.n_items, TEXT_DIM, generator=g), dim=1)
        net = LMMRec(bb, S, torch.ones(len(S), dtype=torch.bool), 'reference', **reference_settings('rlmrec-amazon-book')[1])
    else: net = bb
    u, i = d.pairs('train')
    neg = NegativeSampler(u, i, d.n_users, d.n_items)(np.random.default_rng(0))
    opt, rng = torch.optim.Adam(net.parameters(), lr=1e-3), np.random.default_rng(0)
    net.train(); times = []
    for b in range(batches + 1):
        idx = rng.integers(0, len(u), BATCH)
        batch = tuple(torch.as_tensor(a[idx], device=device) for a in (u, i, neg))
        t = time.perf_counter()
        if hasattr(net, 'before_step'): net.before_step()
        total, _ = net.loss(batch); opt.zero_grad(); total.backward(); opt.step()
        if device.startswith('cuda'): torch.cuda.synchronize()
        if b: times.append(time.perf_counter() - t)  # the first batch is a warm-up
    net.eval(); csr = d.csr('train')
    users = torch.arange(min(BLOCK, d.n_users), device=device)
    with torch.no_grad():
        t = time.perf_counter()
        s = net.score(users)
        rows = np.repeat(np.arange(len(users)), np.diff(csr.indptr[:len(users) + 1]))
        s[torch.as_tensor(rows, device=device), torch.as_tensor(csr.indices[:csr.indptr[len(users)]], device=device)] = -float('inf')
        s.topk(20, dim=1)
        if device.startswith('cuda'): torch.cuda.synchronize()
        eval_s = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(R=len(u), users=d.n_users, items=d.n_items, model=model, batch_s=float(np.mean(times)),
                epoch_s=float(np.mean(times)) * len(u) / BATCH, eval_block_s=eval_s,
                eval_all_users_s=eval_s * d.n_users / len(users), peak_rss_mib=rss, build_s=build_s)


def slope(xs, ys):
    "Least-squares slope of log y on log x (the growth exponent)."
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', nargs='+', type=float, default=[1e5, 3e5, 1e6, 3e6, 1e7])
    ap.add_argument('--batches', type=int, default=5); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--out', default='ci/results')
    ap.add_argument('--timeout', type=int, default=600, help='seconds per (size, model) run before it counts as not feasible')
    ap.add_argument('--one', nargs=2, help=argparse.SUPPRESS)  # internal: R model, in a subprocess
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one_run(int(float(a.one[0])), a.one[1], a.batches, a.device, a.threads))); return
    rows = []
    for R in a.sizes:
        for model in ('lightgcn', 'lmmrec'):
            if any(r['model'] == model and 'timed_out' in r for r in rows): continue  # a smaller size already did not fit
            cmd = [sys.executable, __file__, '--one', str(int(R)), model, '--batches', str(a.batches),
                   '--threads', str(a.threads), '--device', a.device]
            try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
            except subprocess.TimeoutExpired:  # where one machine stops being enough: say so, and skip larger sizes
                print(f'R={R:.0e} {model}: over {a.timeout} s (data, model and {a.batches + 1} batches): not feasible here')
                rows.append(dict(R=int(R), model=model, timed_out=a.timeout)); continue
            if r.returncode: print(f'R={R:.0e} {model}: failed\n{r.stderr[-1500:]}'); continue
            rows.append(json.loads(r.stdout.strip().splitlines()[-1])); x = rows[-1]
            print(f"R={x['R']:>10,} {model:8s} batch {x['batch_s']:7.3f} s  epoch {x['epoch_s']:8.1f} s  "
                  f"eval 1,024 users {x['eval_block_s']:6.3f} s (all {x['users']:,}: {x['eval_all_users_s']:8.1f} s)  "
                  f"peak {x['peak_rss_mib']:7.0f} MiB", flush=True)
    fits = {}
    for model in ('lightgcn', 'lmmrec'):
        rs = [r for r in rows if r['model'] == model and 'timed_out' not in r]
        if len(rs) < 2: continue
        base = rs[0]
        for k in ('batch_s', 'epoch_s', 'eval_all_users_s', 'peak_rss_mib'):
            fits[f'{model}_{k}_exponent'] = slope([r['R'] for r in rs], [r[k] for r in rs])
        for r in rs: r['batch_vs_smallest'] = r['batch_s'] / base['batch_s']
    print('\ngrowth exponents (time ~ R^k):', ', '.join(f'{k} {v:.2f}' for k, v in fits.items()))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for model, ls in (('lightgcn', '-'), ('lmmrec', '--')):
        rs = [r for r in rows if r['model'] == model and 'timed_out' not in r]
        for k, c in (('epoch_s', 'C0'), ('eval_all_users_s', 'C1')):
            ax.loglog([r['R'] for r in rs], [r[k] for r in rs], ls, color=c, marker='o', label=f'{model}: {k[:-2].replace("_", " ")}')
    ax.set(xlabel='training interactions R', ylabel='seconds', title=f'cost against size ({a.device}, {a.threads} thread(s))')
    ax.legend(fontsize=7); fig.tight_layout(); fig.savefig(out / 'bench_scale.png', dpi=100)
    summary = dict(machine=f'{platform.machine()}, {a.threads} thread(s), {a.device}', batch=BATCH, block=BLOCK,
                   text_dim=TEXT_DIM, rows=rows, **fits)
    (out / 'bench_scale.json').write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
