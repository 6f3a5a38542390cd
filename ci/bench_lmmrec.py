"""Benchmark (not a test): LMMRec's training-epoch cost against its backbone's, on the same data and device.

Usage: LMMREC_DATA_MIRROR=../shared/data python ci/bench_lmmrec.py [--dataset xrec-yelp-profiled] [--backbone lightgcn]
       [--epochs 5] [--threads 1] [--device cpu] [--terms] [--profile] [--compile] [--forms kit|reference] [--text-dim N]
       [--out FILE.json]   (the figures and the command, for ci/readme_tables.py --speed)
Prints a table of median epoch times and ratios; the last line is one JSON object with every figure.
--forms kit (the default) times LightGCN, + RLMRec-Con and + LMMRec in the kit's forms (issue 5's target: LMMRec's
epoch <= 1.5x the backbone's). --profile counts, with torch.profiler, the operators (and CUDA kernels) of one
training epoch per batch and lists the operators that take the most CPU time; --compile also times LMMRec with its
loss under torch.compile, as TrainConfig(compile=True) runs it.

--forms reference (issue 14) times LightGCN, + RLMRec-Con and + LMMRec in the reference forms (DESIGN.md §1b, the
reference's per-dataset weights) against `PlainReference` below: the same forms written plainly, as the public
reference computes them (every node's text through both projectors each batch, dense [B, N] InfoNCE matrices,
an all-nodes x all-nodes one for the translation term). It also counts the FLOPs of the alignment terms the package
performs per epoch, measures torch.mm's throughput at the same shapes in the same run, and prints achieved / peak,
plus the peak RSS of each run. Targets: RLMRec-Con's and LMMRec's epochs <= 0.3x their plain ones; achieved >= 50% of
peak. The floor of each is LightGCN's epoch plus its alignment products at that peak: the lowest ratio to its plain
baseline that the products it must compute allow on this machine. It times both in float32 and with
precision='bf16' (projector and InfoNCE products in bfloat16, on AMX where the CPU has it); the roofline of each is
measured against torch.mm's throughput in its own dtype.
Datasets without shipped texts (rlmrec-amazon-book) get random text vectors of --text-dim columns (1536 or 384).
--forms reference --profile counts instead of timing: the compute operators of one training step (aten calls that
are not views; on CUDA also its kernels) for LightGCN and LMMRec, and on a CPU LMMRec's again with lse_sum's GPU
block size (losses.LSE_BLOCK_GPU): the launches a GPU run pays for, the issue's 'launch-bound' measure.
"""
import argparse, contextlib, json, platform, resource, statistics, sys, threading, time
from pathlib import Path
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from lmmrec_nb.backbones import make_backbone
from lmmrec_nb.core import resolve_device, seed_everything
from lmmrec_nb.data import load
from lmmrec_nb.extract import motivation_texts
from lmmrec_nb.lmmrec import VARIANTS, LMMRec, reference_settings, text_vectors
import lmmrec_nb.losses as losses
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


VIEWS = {f'aten::{k}' for k in ('as_strided', 'view', '_unsafe_view', 'reshape', 'slice', 'select', 'narrow', 't', 'transpose',
         'permute', 'expand', 'unsqueeze', 'squeeze', 'alias', 'detach', 'unbind', 'split', 'chunk', 'to', 'lift_fresh',
         'empty', 'empty_strided', 'empty_like', 'new_empty', 'resolve_conj', 'resolve_neg')}  # no kernel of their own

def step_ops(model, d, dev):
    "Compute operators (leaf aten calls, views left out) and CUDA kernels of one training step, after a first one."
    from torch.profiler import ProfilerActivity, profile
    u, i = d.pairs('train'); neg = NegativeSampler(u, i, d.n_users, d.n_items)(np.random.default_rng(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def step(k):
        batch = tuple(torch.as_tensor(x[k * BATCH:(k + 1) * BATCH], device=dev) for x in (u, i, neg))
        getattr(model, 'before_step', lambda: None)(); opt.zero_grad(); model.loss(batch)[0].backward(); opt.step()
    step(0)
    with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == 'cuda' else [])) as prof: step(1)
    ev = prof.events()
    leaf = lambda e: e.name.startswith('aten::') and e.name not in VIEWS and not any(c.name.startswith('aten::') for c in e.cpu_children)
    return {'ops_per_step': sum(map(leaf, ev)), 'kernels_per_step': sum(1 for e in ev if e.device_type.name == 'CUDA')}


@contextlib.contextmanager
def gpu_blocks():
    "lse_sum with a GPU's block size, on any device (to count the operators a GPU run launches)."
    cpu, losses.LSE_BLOCK = losses.LSE_BLOCK, losses.LSE_BLOCK_GPU
    try: yield
    finally: losses.LSE_BLOCK = cpu


# ---------------------------------------------------------------- --forms reference (issue 14)
class PlainReference(nn.Module):
    "The baseline: LMMRec's reference forms as the public reference computes them, on the parameters of an LMMRec `m`."
    def __init__(self, m):
        super().__init__(); self.m = m
        assert bool(m.has.all()), 'the plain baseline assumes text for every node (as the reference has)'
    def before_step(self): self.m.before_step()  # the same EMA teacher step
    @staticmethod
    def nce(a, b, c, tau):  # sum over rows of -cos(a_k, b_k)/tau + log sum_c exp(cos(a_k, c)/tau): one dense [B, N] matrix
        a, b, c = (F.normalize(x, dim=-1, eps=1e-4) for x in (a, b, c))
        return (-(a * b).sum(-1) / tau + torch.logsumexp(a @ c.T / tau, -1)).sum()
    def motivations(self, layers):  # r = mean over l < L of A_a(E_l) E_l, every node's prototype mixture per layer
        P, nu, rs = self.m.protos, self.m.backbone.n_users, []
        for E in layers[:-1]:
            mix = torch.cat([F.softmax(E[:nu] @ P.C_u, -1) @ P.C_u.T, F.softmax(E[nu:] @ P.C_i, -1) @ P.C_i.T])
            a = (F.cosine_similarity(mix[P.dst], mix[P.src], dim=-1, eps=1e-8) + 1) / 2
            a = a / torch.zeros(len(E), dtype=a.dtype, device=a.device).index_add(0, P.dst, a)[P.dst]
            rs.append(torch.zeros_like(E).index_add(0, P.dst, a[:, None] * E[P.src]))
        return torch.stack(rs).mean(0)
    def loss(self, batch):
        m, w, (u, p, n) = self.m, self.m.w, batch; bb, nu, B = m.backbone, m.backbone.n_users, len(u)
        out = bb.embed(); _, parts = bb.loss(batch, out)
        parts['reg'] = parts['reg'] + bb.hp['reg'] * sum(q.square().sum() for k, q in m.named_parameters() if not k.startswith('backbone.'))
        e, ids = torch.cat([out.user, out.item]), (u, p + nu, n + nu)
        def grouped(V, Z, tau): return (self.nce(V[ids[0]], Z[ids[0]], Z[:nu], tau)
                                        + self.nce(V[ids[1]], Z[ids[1]], Z[ids[1]], tau) + self.nce(V[ids[2]], Z[ids[2]], Z[ids[2]], tau)) / B
        Zkd = m.proj_kd(m.S)  # every node's text through the projectors its terms use, every batch
        Z = m.proj(m.S) if w['pair'] or w['ta'] or w['itc'] else None
        if w['kd']: parts['kd'] = w['kd'] * grouped(e, Zkd, w['kd_tau'])
        if w['pair']: parts['pair'] = w['pair'] * grouped(self.motivations(out.layers), Z, w['pair_tau'])
        if w['ta'] or w['itc']:
            e1, e2 = (torch.randn(Z.shape, generator=m.gen, device=Z.device) for _ in range(2))
            za, eb = Z * (1 + e1), e[:, :Z.shape[1]] * (1 + e2)
            ta = self.nce(za, eb, eb, 1.0) / len(Z)  # all nodes x all nodes
            if w['ta']: parts['ta'] = w['ta'] * ta
            if w['itc']:
                with torch.no_grad(): T = m.teacher(m.S)
                distill = -(F.softmax(T, -1) * F.log_softmax(Z, -1)).sum(-1).mean()
                parts['itc'] = w['itc'] * (0.4 * ta + 0.6 * distill)
        return sum(parts.values()), parts


class RssPeak:
    "Peak resident memory (MiB) while the block runs, sampled every 2 ms from /proc/self/statm."
    def __enter__(self):
        self.page, self.peak, self.done = resource.getpagesize() / 2**20, 0.0, False
        self.t = threading.Thread(target=self._watch, daemon=True); self.t.start(); return self
    def _watch(self):
        while not self.done:
            with open('/proc/self/statm') as f: self.peak = max(self.peak, int(f.read().split()[1]) * self.page)
            time.sleep(0.002)
    def __exit__(self, *exc): self.done = True; self.t.join()


def mm_rate(m, k, n, dtype=torch.float32, dev=torch.device('cpu'), reps=5):
    "GFLOP/s of torch.mm at [m, k] @ [k, n] in `dtype` on `dev` (best of `reps` after a warm-up)."
    x, y = torch.randn(m, k, dtype=dtype, device=dev), torch.randn(k, n, dtype=dtype, device=dev); torch.mm(x, y); best = float('inf')
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    for _ in range(reps):
        sync(); t = time.perf_counter(); torch.mm(x, y); sync(); best = min(best, time.perf_counter() - t)
    return 2 * m * k * n / best / 1e9


def alignment_flops(m, d):
    "FLOPs of the alignment terms `m` computes in one epoch of the reference forms (its non-zero weights), per kind of product."
    S, nu, N = m.S, m.backbone.n_users, len(m.S); dt, dim = S.shape[1], m.proj.net[-1].out_features
    h, K, L = m.proj.net[0].out_features, m.w['n_proto'], m.backbone.hp['n_layers']
    kd, pair, ta, itc = (m.w[k] > 0 for k in ('kd', 'pair', 'ta', 'itc'))
    n_users_text = int(m.has[:nu].sum())
    mlp = lambda rows, passes: 2 * rows * (dt * h + h * dim) * passes  # fwd = 1 pass; bwd = the weights' gradients (S is frozen)
    lse = lambda U, C: 3 * 2 * U * C * dim  # the block product, then d/dq and d/dc in the same pass
    u, i = d.pairs('train'); rng = np.random.default_rng(0)
    neg = NegativeSampler(u, i, d.n_users, d.n_items)(rng); perm = rng.permutation(len(neg))
    fl = {'projections': 0, 'infonce': 0, 'mixtures': 0}
    for idx in np.array_split(perm, -(-len(perm) // BATCH)):
        groups = [np.unique(u[idx]), np.unique(i[idx]) + nu, np.unique(neg[idx]) + nu]
        kd_rows = len(np.unique(np.concatenate(groups + [np.arange(nu)])))  # P_kd: only the rows the step reads
        # P_kd; P_int over every node; the teacher (no gradient)
        fl['projections'] += kd * mlp(kd_rows, 2) + (pair or ta or itc) * mlp(N, 2) + itc * mlp(N, 1)
        sizes = [(len(groups[0]), n_users_text), (len(groups[1]), len(groups[1])), (len(groups[2]), len(groups[2]))]
        fl['infonce'] += (kd + pair) * sum(lse(a, b) for a, b in sizes) + (ta or itc) * lse(N, N)  # distinct rows; all nodes
        fl['mixtures'] += pair * 3 * L * 2 * (2 * N * dim * K)  # (L layers) x (E C, softmax C^T) x (fwd + 2 bwd)
    return fl


def mm_rates(m, dtype=torch.float32, dev=torch.device('cpu')):
    "torch.mm's GFLOP/s at the shapes of each kind of product in `alignment_flops` (the prototype mixtures stay float32)."
    N, dt, dim = len(m.S), m.S.shape[1], m.proj.net[-1].out_features
    h, K, rows = m.proj.net[0].out_features, m.w['n_proto'], losses.lse_rows(N, dev)  # rows: one lse_sum block's
    return {'projections': mm_rate(N, dt, h, dtype, dev), 'infonce': mm_rate(rows, dim, N, dtype, dev),
            'mixtures': mm_rate(N, dim, K, dev=dev)}


def main_reference(a, d, dev):
    "Issue 14: the reference forms, per term, against the plain in-script baseline; FLOPs, achieved / peak, RSS."
    if a.text_dim or a.dataset.startswith('rlmrec-'):  # no shipped texts: random vectors stand in
        g = torch.Generator().manual_seed(0); n = d.n_users + d.n_items
        S, has, texts = torch.randn(n, a.text_dim or 1536, generator=g), torch.ones(n, dtype=torch.bool), f'random {a.text_dim or 1536}-d'
    else: (S, has), texts = text_vectors(d, motivation_texts(d)), 'shipped motivations'
    bkw, lkw = reference_settings(a.dataset if a.dataset.startswith('rlmrec-') else 'rlmrec-yelp')
    fig = {'dataset': a.dataset, 'forms': 'reference', 'texts': texts, 'text_dim': S.shape[1], 'nodes': len(S),
           'device': str(dev), 'threads': torch.get_num_threads(), 'machine': platform.machine(), 'torch': torch.__version__}
    def build(**w):
        seed_everything(0, dgl=False); bb = make_backbone(a.backbone, d, device=a.device, seed=0, **bkw)
        return LMMRec(bb, S, has, 'reference', **{**lkw, **w})
    def lightgcn(): seed_everything(0, dgl=False); return make_backbone(a.backbone, d, device=a.device, seed=0, **bkw, keep_rate=1.0)
    con = dict(pair=0, ta=0, itc=0)  # RLMRec-Con: the backbone and kd only
    runs = {'lightgcn': lightgcn, 'rlmrec-con': lambda: build(**con), 'lmmrec': build}
    if a.profile: return reference_ops(a, d, fig, {**runs, 'lmmrec bf16': lambda: build(precision='bf16')}, dev)
    if a.terms: runs.update({f'+{t} only': (lambda t=t: build(**{o: 0 for o in ('kd', 'pair', 'ta', 'itc') if o != t}))
                             for t in ('kd', 'pair', 'ta', 'itc')})
    runs.update({'rlmrec-con bf16': lambda: build(**con, precision='bf16'), 'lmmrec bf16': lambda: build(precision='bf16'),
                 'plain rlmrec-con': lambda: PlainReference(build(**con)), 'plain': lambda: PlainReference(build())})
    # the plain baseline computes the same loss: every part on the first batch, same parameters, same noise
    u, i = d.pairs('train'); batch = (torch.as_tensor(u[:BATCH]), torch.as_tensor(i[:BATCH]), torch.as_tensor(i[::-1][:BATCH].copy()))
    pk, pp, p16 = build(), PlainReference(build()), build(precision='bf16')
    _, got = pk.loss(batch); _, want = pp.loss(batch); _, lo = p16.loss(batch)
    rel = lambda x, ref: max(abs(x[k].item() - ref[k].item()) / abs(ref[k].item()) for k in ref)
    fig['plain_vs_package_max_rel_diff'], fig['plain_vs_bf16_max_rel_diff'] = rel(got, want), rel(lo, want)
    del pk, pp, p16, got, want, lo
    print(f"{fig['dataset']}, reference forms, {texts} text, {fig['nodes']} nodes, {fig['threads']} thread(s); "
          f"plain vs package, first batch, max relative difference of the loss parts: {fig['plain_vs_package_max_rel_diff']:.1e} "
          f"(precision='bf16': {fig['plain_vs_bf16_max_rel_diff']:.1e})")
    print(f"{'run':16s} {'epoch s':>8s} {'x lightgcn':>10s} {'peak RSS MiB':>13s}")
    for name, make in runs.items():
        model = make()
        with RssPeak() as rss: t = epoch_times(model, d, a.epochs, dev)
        fig[f'epoch_s_{name}'], fig[f'peak_rss_mib_{name}'] = t, round(rss.peak, 1)
        print(f"{name:16s} {t:8.3f} {t / fig['epoch_s_lightgcn']:10.2f} {rss.peak:13.0f}")
        del model
    for run, plain in (('rlmrec-con', 'plain rlmrec-con'), ('lmmrec', 'plain')):
        for sfx in ('', ' bf16'):
            key = f"ratio_{run}{sfx.replace(' ', '_')}_vs_plain"; fig[key] = fig[f'epoch_s_{run}{sfx}'] / fig[f'epoch_s_{plain}']
            print(f"{run + sfx:16s} / its plain baseline (float32): {fig[key]:.3f}x   (target <= 0.3x)")
    m = build(); rates = {dtype: mm_rates(m, dtype, dev) for dtype in (torch.float32, torch.bfloat16)}; del m  # each precision's peak
    for run, plain, w in (('lmmrec', 'plain', {}), ('rlmrec-con', 'plain rlmrec-con', con)):
        fl, pre = alignment_flops(build(**w), d), ('' if run == 'lmmrec' else f'{run}_')  # the same products in both precisions
        fig.update({f'{pre}gflop_{k}': fl[k] / 1e9 for k in fl})
        for sfx, dtype in (('', torch.float32), (' bf16', torch.bfloat16)):
            rate, tag = rates[dtype], sfx.replace(' ', '_')
            align_s = fig[f'epoch_s_{run}{sfx}'] - fig['epoch_s_lightgcn']  # the alignment terms' share of the epoch
            ideal_s = sum(fl[k] / (rate[k] * 1e9) for k in fl)  # the same products at torch.mm's measured throughput
            fig.update({f'mm_gflops_{k}{tag}': rate[k] for k in rate})
            fig.update({f'{pre}alignment_s{tag}': align_s, f'{pre}alignment_gflops{tag}': sum(fl.values()) / align_s / 1e9,
                        f'{pre}peak_gflops{tag}': sum(fl.values()) / ideal_s / 1e9, f'{pre}achieved_over_peak{tag}': ideal_s / align_s,
                        f'{pre}floor_ratio{tag}': (fig['epoch_s_lightgcn'] + ideal_s) / fig[f'epoch_s_{plain}']})
            print(f"{run}{sfx}:" + ''.join(f"  {k} {fl[k] / 1e9:.1f} GFLOP/epoch at {rate[k]:.1f} GFLOP/s;" for k in fl if fl[k]))
            print(f"  alignment terms: {sum(fl.values()) / 1e9:.1f} GFLOP in {align_s:.2f} s = {fig[f'{pre}alignment_gflops{tag}']:.1f} GFLOP/s; "
                  f"peak at these shapes {fig[f'{pre}peak_gflops{tag}']:.1f} GFLOP/s: achieved / peak {fig[f'{pre}achieved_over_peak{tag}']:.0%}   (target >= 50%)")
            print(f"  floor: LightGCN's epoch plus these products at that peak = {fig[f'{pre}floor_ratio{tag}']:.3f}x its plain baseline")
    fig['peak_rss_mib_process'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    fig = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in fig.items()}
    write_out(a, fig)  # the README's tables are printed from --out's file (ci/readme_tables.py --speed)


def reference_ops(a, d, fig, runs, dev):
    "--forms reference --profile: compute operators (and CUDA kernels) per training step of each run, no timing."
    counted = [(name, make, contextlib.nullcontext) for name, make in runs.items()]
    if dev.type == 'cpu': counted.append(('lmmrec gpu blocks', runs['lmmrec'], gpu_blocks))  # a GPU's blocks, counted here
    print(f"{fig['dataset']}, reference forms, {fig['texts']} text, {fig['nodes']} nodes, one training step of {BATCH} pairs")
    for name, make, blocks in counted:
        with blocks(): got = step_ops(make(), d, dev)
        fig.update({f'{k}_{name}': v for k, v in got.items()})
        print(f"{name:18s} {got['ops_per_step']:6d} compute operators" + (f", {got['kernels_per_step']} CUDA kernels" if dev.type == 'cuda' else ''))
    write_out(a, fig)


def write_out(a, fig):
    "Print the figures as the last line and, with --out, write them with this command (for ci/readme_tables.py)."
    if a.out: Path(a.out).write_text(json.dumps({'command': 'python ci/bench_lmmrec.py ' + ' '.join(sys.argv[1:]), **fig}, indent=1) + '\n')
    print(json.dumps(fig))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dataset', default='xrec-yelp-profiled'); ap.add_argument('--backbone', default='lightgcn')
    ap.add_argument('--epochs', type=int, default=5); ap.add_argument('--threads', type=int, default=1); ap.add_argument('--device', default='cpu')
    ap.add_argument('--terms', action='store_true', help='also time the backbone with each alignment term alone')
    ap.add_argument('--profile', action='store_true', help='count operators / kernels per batch of one epoch')
    ap.add_argument('--compile', action='store_true', help="also time LMMRec with its loss compiled (TrainConfig(compile=True))")
    ap.add_argument('--forms', default='kit', choices=('kit', 'reference'), help='the forms LMMRec computes (reference: issue 14)')
    ap.add_argument('--text-dim', type=int, default=None, help='random text vectors of this size (datasets without shipped texts)')
    ap.add_argument('--out', help='also write the figures (and this command) to this JSON file')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = resolve_device(a.device); d = load(a.dataset)
    if a.forms == 'reference': return main_reference(a, d, dev)
    S, has = text_vectors(d, motivation_texts(d))
    fig = {'dataset': a.dataset, 'backbone': a.backbone, 'forms': 'kit', 'device': str(dev), 'threads': torch.get_num_threads(),
           'machine': platform.machine(), 'torch': torch.__version__}
    for v in ('backbone', 'rlmrec-con', 'lmmrec'):
        seed_everything(0, dgl=False); bb = make_backbone(a.backbone, d, device=a.device, seed=0)
        m = bb if VARIANTS[v] is None else LMMRec(bb, S, has, 'kit', **VARIANTS[v])
        fig[f'epoch_s_{v}'] = epoch_times(m, d, a.epochs, dev)
        print(f'{v:12s} median epoch {fig[f"epoch_s_{v}"]:.3f} s')
    for v in ('rlmrec-con', 'lmmrec'):
        fig[f'ratio_{v}_vs_backbone'] = fig[f'epoch_s_{v}'] / fig['epoch_s_backbone']
        print(f'{v:12s} / backbone: {fig[f"ratio_{v}_vs_backbone"]:.2f}x' + ('   (target <= 1.5x)' if v == 'lmmrec' else ''))
    if a.terms:  # where LMMRec's time goes: the backbone plus one alignment term at a time
        terms = ('kd', 'pair', 'ta', 'itc')
        for t in terms:
            seed_everything(0, dgl=False); bb = make_backbone(a.backbone, d, device=a.device, seed=0)
            fig[f'epoch_s_only_{t}'] = epoch_times(LMMRec(bb, S, has, 'kit', **{o: 0 for o in terms if o != t}), d, a.epochs, dev)
            print(f'backbone + {t:5s} only: {fig[f"epoch_s_only_{t}"]:.3f} s ({fig[f"epoch_s_only_{t}"] / fig["epoch_s_backbone"]:.1f}x)')
    if a.profile:
        for v in ('backbone', 'lmmrec'):
            seed_everything(0, dgl=False); bb = make_backbone(a.backbone, d, device=a.device, seed=0)
            counts, table = profile_epoch(bb if v == 'backbone' else LMMRec(bb, S, has, 'kit'), d, dev)
            fig.update({f'{k}_{v}': c for k, c in counts.items()})
            print(f'{v}: {counts["ops_per_batch"]:.0f} operators, {counts["kernels_per_batch"]:.0f} CUDA kernels per batch\n{table}')
    if a.compile:  # TrainConfig(compile=True): fewer, fused kernels (the first epochs pay for compiling)
        seed_everything(0, dgl=False); m = LMMRec(make_backbone(a.backbone, d, device=a.device, seed=0), S, has, 'kit')
        try: fig['epoch_s_lmmrec_compiled'] = epoch_times(m, d, a.epochs, dev, warmup=3, compile=True)
        except Exception as e: fig['compile_error'] = f'{type(e).__name__}: {str(e)[:300]}'; print('torch.compile failed:', fig['compile_error'])
        else: print(f'lmmrec, compiled loss: {fig["epoch_s_lmmrec_compiled"]:.3f} s ({fig["epoch_s_lmmrec_compiled"] / fig["epoch_s_backbone"]:.1f}x)')
    write_out(a, fig)


if __name__ == '__main__':
    main()
