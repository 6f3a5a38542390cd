"""Benchmark (not a test): LMMRec's training-epoch cost against its backbone's, on the same data and device.

Usage: LMMREC_DATA_MIRROR=../shared/data python ci/bench_lmmrec.py [--dataset xrec-yelp-profiled] [--backbone lightgcn]
       [--epochs 5] [--threads 1] [--device cpu] [--terms]
Prints a table of median epoch times and ratios; the last line is one JSON object with every figure.
Target (issue 5): LMMRec epoch <= 1.5x the backbone's epoch.
"""
import argparse, json, platform, statistics, time
import numpy as np, torch
from lmmrec_nb.backbones import make_backbone
from lmmrec_nb.core import resolve_device, seed_everything
from lmmrec_nb.data import load
from lmmrec_nb.extract import motivation_texts
from lmmrec_nb.lmmrec import VARIANTS, LMMRec, text_vectors
from lmmrec_nb.train import NegativeSampler, train_epoch


def epoch_times(model, d, epochs, dev):
    "Median wall time of `epochs` training epochs (after one warm-up epoch)."
    u, i = d.pairs('train'); sampler = NegativeSampler(u, i, d.n_users, d.n_items)
    pairs = (torch.as_tensor(u, device=dev), torch.as_tensor(i, device=dev))
    opt, rng, ts = torch.optim.Adam(model.parameters(), lr=1e-3), np.random.default_rng(0), []
    for e in range(epochs + 1):
        if dev.type == 'cuda': torch.cuda.synchronize(dev)
        t = time.perf_counter(); train_epoch(model, opt, pairs, sampler, rng, 4096, e)
        if dev.type == 'cuda': torch.cuda.synchronize(dev)
        if e: ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dataset', default='xrec-yelp-profiled'); ap.add_argument('--backbone', default='lightgcn')
    ap.add_argument('--epochs', type=int, default=5); ap.add_argument('--threads', type=int, default=1); ap.add_argument('--device', default='cpu')
    ap.add_argument('--terms', action='store_true', help='also time the backbone with each alignment term alone')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = resolve_device(a.device); d = load(a.dataset)
    S, has = text_vectors(d, motivation_texts(d))
    fig = {'dataset': a.dataset, 'backbone': a.backbone, 'device': str(dev), 'threads': torch.get_num_threads(),
           'machine': platform.machine(), 'torch': torch.__version__}
    for v in ('backbone', 'rlmrec-con', 'lmmrec'):
        seed_everything(0, dgl=False); bb = make_backbone(a.backbone, d, device=a.device, seed=0)
        m = bb if VARIANTS[v] is None else LMMRec(bb, S, has, **VARIANTS[v])
        fig[f'epoch_s_{v}'] = epoch_times(m, d, a.epochs, dev)
        print(f'{v:12s} median epoch {fig[f"epoch_s_{v}"]:.3f} s')
    for v in ('rlmrec-con', 'lmmrec'):
        fig[f'ratio_{v}_vs_backbone'] = fig[f'epoch_s_{v}'] / fig['epoch_s_backbone']
        print(f'{v:12s} / backbone: {fig[f"ratio_{v}_vs_backbone"]:.2f}x' + ('   (target <= 1.5x)' if v == 'lmmrec' else ''))
    if a.terms:  # where LMMRec's time goes: the backbone plus one alignment term at a time
        terms = ('kd', 'pair', 'ta', 'itc')
        for t in terms:
            seed_everything(0, dgl=False); bb = make_backbone(a.backbone, d, device=a.device, seed=0)
            fig[f'epoch_s_only_{t}'] = epoch_times(LMMRec(bb, S, has, **{o: 0 for o in terms if o != t}), d, a.epochs, dev)
            print(f'backbone + {t:5s} only: {fig[f"epoch_s_only_{t}"]:.3f} s ({fig[f"epoch_s_only_{t}"] / fig["epoch_s_backbone"]:.1f}x)')
    print(json.dumps(fig))


if __name__ == '__main__':
    main()
