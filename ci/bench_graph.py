"""Benchmark (not a test): LightGCN epoch and full-ranking evaluation time on RLMRec's Amazon-book split.

Compares, in one run on one machine:
- our LightGCN (`lmmrec_nb.backbones` + `lmmrec_nb.train.train_epoch`, `lmmrec_nb.eval.evaluate`),
- a minimal plain-PyTorch LightGCN written below (COO `torch.sparse.mm` with autograd, per-batch edge
  dropout by masking the COO entries, a dense training mask in evaluation) as the baseline,
- one LightGCN forward + backward through the DGL message-passing path and through the fast CSR path,
and reports peak memory. Both models use the same sampler, batch size, optimiser and settings (DESIGN.md §1).
The last line printed is one JSON object holding every figure and ratio.

    LMMREC_DATA_MIRROR=../shared/data python ci/bench_graph.py [--device cpu|cuda|cuda:N] [--threads N]
"""
import argparse, json, platform, resource, statistics, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F


def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


def timed(f, n, dev, warmup=1):
    "Median wall time of n calls of f (after warm-up calls)."
    for _ in range(warmup): f()
    ts = []
    for _ in range(n):
        sync(dev); t = time.perf_counter(); f(); sync(dev); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def peak_mib(dev):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return round(rss, 1), (round(torch.cuda.max_memory_allocated(dev) / 2**20, 1) if dev.type == 'cuda' else None)


class PlainLightGCN(nn.Module):
    "The baseline: LightGCN as one would first write it with torch.sparse (COO, autograd through sparse.mm)."
    def __init__(self, users, items, n_users, n_items, dim=32, n_layers=3, reg=1e-7, keep_rate=0.8, device='cpu'):
        super().__init__()
        self.nu, self.ni, self.L, self.reg, self.keep = n_users, n_items, n_layers, reg, keep_rate
        n = n_users + n_items
        r = np.concatenate([users, items + n_users]); c = np.concatenate([items + n_users, users])
        deg = np.bincount(r, minlength=n).astype(np.float32)
        v = 1 / np.sqrt(deg[r] * deg[c])
        self.idx = torch.as_tensor(np.stack([r, c]), device=device); self.val = torch.as_tensor(v, device=device); self.n = n
        self.user = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_users, dim, device=device)))
        self.item = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_items, dim, device=device)))

    def forward(self, keep_rate=1.0):
        if keep_rate < 1:
            m = torch.rand(len(self.val), device=self.val.device) < keep_rate
            adj = torch.sparse_coo_tensor(self.idx[:, m], self.val[m], (self.n, self.n))
        else: adj = torch.sparse_coo_tensor(self.idx, self.val, (self.n, self.n))
        e = torch.cat([self.user, self.item]); out = e
        for _ in range(self.L):
            e = torch.sparse.mm(adj, e); out = out + e
        return out[:self.nu], out[self.nu:]

    def loss(self, u, p, n):
        U, I = self.forward(self.keep)
        bpr = F.softplus((U[u] * I[n]).sum(-1) - (U[u] * I[p]).sum(-1)).mean()
        return bpr + self.reg * (self.user.square().sum() + self.item.square().sum())


def plain_epoch(model, opt, u, i, neg, batch_size, dev):
    perm = torch.randperm(len(u), device=dev)
    for idx in perm.split(batch_size):
        loss = model.loss(u[idx], i[idx], neg[idx]); opt.zero_grad(); loss.backward(); opt.step()


@torch.no_grad()
def plain_evaluate(U, I, d, split='val', k=20, batch_size=1024):
    "Recall@k / NDCG@k the plain way: dense training mask and dense ground truth per batch of users."
    dev = U.device; train = d.csr('train'); test = d.csr(split)
    users = np.flatnonzero(np.diff(test.indptr) > 0); rec = ndcg = 0.0
    disc = 1 / torch.log2(torch.arange(2, k + 2, device=dev, dtype=torch.float32))
    for s in range(0, len(users), batch_size):
        b = users[s:s + batch_size]
        scores = U[torch.as_tensor(b, device=dev)] @ I.T
        scores[torch.as_tensor(train[b].toarray(), device=dev) > 0] = -torch.inf
        truth = torch.as_tensor(test[b].toarray(), device=dev) > 0
        hits = truth.gather(1, scores.topk(k, dim=1).indices).float(); n = truth.sum(1)
        rec += (hits.sum(1) / n).sum().item()
        idcg = torch.cumsum(disc, 0)[torch.clamp(n, max=k) - 1]
        ndcg += ((hits * disc).sum(1) / idcg).sum().item()
    return {'recall@20': rec / len(users), 'ndcg@20': ndcg / len(users)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    ap.add_argument('--dataset', default='rlmrec-amazon-book')
    ap.add_argument('--epochs', type=int, default=5, help='timed epochs per model (after one warm-up epoch)')
    ap.add_argument('--evals', type=int, default=3, help='timed full-ranking evaluations per model')
    ap.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: default)')
    ap.add_argument('--seed', type=int, default=2023)
    a = ap.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    from lmmrec_nb.core import resolve_device, seed_everything
    from lmmrec_nb.data import load
    from lmmrec_nb.eval import evaluate
    from lmmrec_nb.graph import FastAdj, edge_weights, lightgcn_layers, interaction_graph
    from lmmrec_nb.backbones import make_backbone
    from lmmrec_nb.train import NegativeSampler, TrainConfig, train_epoch
    dev = resolve_device(a.device); cfg = TrainConfig(device=str(dev))
    d = load(a.dataset); u, i = d.pairs('train')
    sampler = NegativeSampler(u, i, d.n_users, d.n_items); rng = np.random.default_rng(a.seed)
    res = {'dataset': a.dataset, 'device': str(dev), 'threads': torch.get_num_threads(), 'torch': torch.__version__,
           'machine': f'{platform.machine()} {platform.processor() or ""}'.strip(),
           'card': torch.cuda.get_device_name(dev) if dev.type == 'cuda' else None, 'epochs_timed': a.epochs, 'evals_timed': a.evals}

    # ours
    seed_everything(a.seed, dgl=False)
    ours = make_backbone('lightgcn', d, device=dev, seed=a.seed); opt = torch.optim.Adam(ours.parameters(), lr=cfg.lr)
    pairs = (torch.as_tensor(u, device=dev), torch.as_tensor(i, device=dev))
    res['ours_epoch_s'] = timed(lambda: train_epoch(ours, opt, pairs, sampler, rng, cfg.batch_size), a.epochs, dev)
    res['sampler_s'] = timed(lambda: sampler(rng), 5, dev)
    def our_eval(): ours.eval(); r = evaluate(ours.score, d, 'val', ks=(20,), device=dev); ours.train(); return r
    res['ours_eval_s'] = timed(our_eval, a.evals, dev)
    res['ours_peak_rss_mib'], res['ours_peak_cuda_mib'] = peak_mib(dev)

    # plain baseline (same sampler, same settings)
    torch.manual_seed(a.seed)
    plain = PlainLightGCN(u, i, d.n_users, d.n_items, device=dev); popt = torch.optim.Adam(plain.parameters(), lr=cfg.lr)
    pu, pi = (torch.as_tensor(x, device=dev) for x in (u, i))
    res['plain_epoch_s'] = timed(lambda: plain_epoch(plain, popt, pu, pi, torch.as_tensor(sampler(rng), device=dev), cfg.batch_size, dev), a.epochs, dev)
    def plain_eval():
        with torch.no_grad(): U, I = plain(1.0)
        return plain_evaluate(U, I, d)
    res['plain_eval_s'] = timed(plain_eval, a.evals, dev)
    res['total_peak_rss_mib'], res['total_peak_cuda_mib'] = peak_mib(dev)

    # both evaluators give the same numbers on the same embeddings
    ours.eval()
    with torch.no_grad(): U, I = ours()
    m_ours, m_plain = evaluate(ours.score, d, 'val', ks=(20,), device=dev), plain_evaluate(U, I, d)
    res['eval_max_abs_diff'] = max(abs(m_ours[k] - m_plain[k]) for k in m_plain)

    # DGL path vs fast path: one LightGCN forward + backward (3 layers, edges kept at 0.8), on the CPU
    g = interaction_graph(d); fa = FastAdj(g, 'cpu'); gen = torch.Generator().manual_seed(0)
    x = torch.randn(g.num_nodes(), 32, requires_grad=True)
    def step(**kw): x.grad = None; sum(lightgcn_layers(x, 3, **kw)).pow(2).sum().backward()
    res['dgl_prop_fwd_bwd_ms'] = 1e3 * timed(lambda: step(g=g, w=edge_weights(g, 0.8, gen)), 10, torch.device('cpu'))
    res['fast_prop_fwd_bwd_ms'] = 1e3 * timed(lambda: step(A=fa.pair(edge_weights(fa, 0.8, gen))), 10, torch.device('cpu'))

    res['epoch_ratio'] = res['ours_epoch_s'] / res['plain_epoch_s']
    res['eval_ratio'] = res['ours_eval_s'] / res['plain_eval_s']
    res['fast_vs_dgl_ratio'] = res['fast_prop_fwd_bwd_ms'] / res['dgl_prop_fwd_bwd_ms']
    res['targets'] = {'epoch_ratio<=0.65': res['epoch_ratio'] <= 0.65, 'eval_ratio<=1.0': res['eval_ratio'] <= 1.0}
    res = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}

    print(f"LightGCN on {a.dataset}, device {dev}{' (' + res['card'] + ')' if res['card'] else ''}, {res['threads']} thread(s)")
    print(f"{'':24}{'ours':>10}{'plain':>10}{'ratio':>8}")
    print(f"{'epoch (s)':24}{res['ours_epoch_s']:>10.3f}{res['plain_epoch_s']:>10.3f}{res['epoch_ratio']:>8.2f}   target <= 0.65")
    print(f"{'full-ranking eval (s)':24}{res['ours_eval_s']:>10.3f}{res['plain_eval_s']:>10.3f}{res['eval_ratio']:>8.2f}   target <= 1.00")
    print(f"{'propagation fwd+bwd (ms)':24}{res['fast_prop_fwd_bwd_ms']:>10.1f}{res['dgl_prop_fwd_bwd_ms']:>10.1f}{res['fast_vs_dgl_ratio']:>8.2f}   (fast path vs DGL path, CPU)")
    print(f"peak RSS: {res['ours_peak_rss_mib']} MiB after ours, {res['total_peak_rss_mib']} MiB after both"
          + (f"; peak CUDA {res['ours_peak_cuda_mib']} / {res['total_peak_cuda_mib']} MiB" if dev.type == 'cuda' else ''))
    print(f"sampler: {res['sampler_s']*1e3:.1f} ms per epoch; evaluators agree to {res['eval_max_abs_diff']:.1e}")
    print(json.dumps(res))
    return res


if __name__ == '__main__':
    main(sys.argv[1:])
