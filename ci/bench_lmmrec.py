"""Benchmark (not a test): LMMRec's training-epoch cost against its backbone's, on the same data and device.

Usage: LMMREC_DATA_MIRROR=../shared/data python ci/bench_lmmrec.py [--dataset xrec-yelp-profiled] [--backbone lightgcn]
       [--epochs 5] [--threads 1] [--device cpu] [--terms] [--profile] [--compile]
Prints a table of median epoch times and ratios; the last line is one JSON object with every figure.
--profile counts, with torch.profiler, the operators (and CUDA kernels) of one training epoch per batch and lists
the operators that take the most CPU time; --compile also times LMMRec with its loss under torch.compile, as TrainConfig(compile=True) runs it.
Target (issue 5): LMMRec epoch <= 1.5x the backbone's epoch.
"""
import argparse, json, platform, statistics, time
import numpy as np, torch
from lmmrec_nb.backbones import make_backbone
from lmmrec_nb.core import resolve_device, seed_everything
from lmmrec_nb.data import load
from lmmrec_nb.extract import motivation_texts
from lmmrec_nb.lmmrec import VARIANTS, LMMRec, text_vectors
from lmmrec_nb.train import NegativeSampler, TrainConfig, train_epoch

BATCH = TrainConfig().batch_size  # training pairs per step, as fit uses by default


def epoch_runner(model, d, dev, compile=False):
    "A function that trains `model` for one epoch (same sampler, optimiser and batch size for every model)."
    u, i = d.pairs('train'); sampler = NegativeSampler(u, i, d.n_users, d.n_items)
    pairs = (torch.as_tensor(u, device=dev), torch.as_tensor(i, device=dev))
    opt, rng = torch.optim.Adam(model.parameters(), lr=1e-3), np.random.default_rng(0)
    loss_fn = torch.compile(model.loss, dynamic=True) if compile else None  # as fit does with TrainConfig(compile=True)
    return lambda e=0: train_epoch(model, opt, pairs, sampler, rng, BATCH, e, loss_fn)


def epoch_times(model, d, epochs, dev, warmup=1, compile=False):
    "Median wall time of `epochs` training epochs (after `warmup` epochs)."
    run, ts = epoch_runner(model, d, dev, compile), []
    for e in range(epochs + warmup):
        if dev.type == 'cuda': torch.cuda.synchronize(dev)
        t = time.perf_counter(); run(e)
        if dev.type == 'cuda': torch.cuda.synchronize(dev)
        if e >= warmup: ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def profile_epoch(model, d, dev, top=8):
    "Operators and CUDA kernels per batch of one profiled epoch (after a warm-up), and the top operators by CPU time."
    from torch.profiler import ProfilerActivity, profile
    run = epoch_runner(model, d, dev); run(0)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == 'cuda' else [])
    with profile(activities=acts) as prof: run(1)
    n_batches = -(-len(d.pairs('train')[0]) // BATCH); ev = prof.events()
    ops = sum(1 for e in ev if e.name.startswith('aten::') and e.cpu_parent is None)  # top-level operator calls
    kernels = sum(1 for e in ev if e.device_type.name == 'CUDA')
    table = prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=top)
    return {'ops_per_batch': ops / n_batches, 'kernels_per_batch': kernels / n_batches}, table


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dataset', default='xrec-yelp-profiled'); ap.add_argument('--backbone', default='lightgcn')
    ap.add_argument('--epochs', type=int, default=5); ap.add_argument('--threads', type=int, default=1); ap.add_argument('--device', default='cpu')
    ap.add_argument('--terms', action='store_true', help='also time the backbone with each alignment term alone')
    ap.add_argument('--profile', action='store_true', help='count operators / kernels per batch of one epoch')
    ap.add_argument('--compile', action='store_true', help="also time LMMRec with its loss compiled (TrainConfig(compile=True))")
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
    if a.profile:
        for v in ('backbone', 'lmmrec'):
            seed_everything(0, dgl=False); bb = make_backbone(a.backbone, d, device=a.device, seed=0)
            counts, table = profile_epoch(bb if v == 'backbone' else LMMRec(bb, S, has), d, dev)
            fig.update({f'{k}_{v}': c for k, c in counts.items()})
            print(f'{v}: {counts["ops_per_batch"]:.0f} operators, {counts["kernels_per_batch"]:.0f} CUDA kernels per batch\n{table}')
    if a.compile:  # TrainConfig(compile=True): fewer, fused kernels (the first epochs pay for compiling)
        seed_everything(0, dgl=False); m = LMMRec(make_backbone(a.backbone, d, device=a.device, seed=0), S, has)
        try: fig['epoch_s_lmmrec_compiled'] = epoch_times(m, d, a.epochs, dev, warmup=3, compile=True)
        except Exception as e: fig['compile_error'] = f'{type(e).__name__}: {str(e)[:300]}'; print('torch.compile failed:', fig['compile_error'])
        else: print(f'lmmrec, compiled loss: {fig["epoch_s_lmmrec_compiled"]:.3f} s ({fig["epoch_s_lmmrec_compiled"] / fig["epoch_s_backbone"]:.1f}x)')
    print(json.dumps(fig))


if __name__ == '__main__':
    main()
