"""Data-parallel training (`lmmrec_nb.distributed`) on 2 gloo processes is the one-process run, to rounding.

Two CPU processes on 127.0.0.1, float64, the toy of 32_lmmrec (40 users, 30 items, 160 training pairs):
(a) one optimiser step (one global batch of 160, slices of 80) and one epoch of uneven batches (45, 45, 45, 25:
slices of 23 / 22 and 13 / 12) leave LightGCN and LMMRec (reference forms; in-batch user candidates too) with
the one-process parameters and loss parts; an in-batch InfoNCE with `gather_rows` has the one-process gradient;
(b) three epochs of `fit` give the one-process validation and test metrics; (c) a rank killed mid-epoch makes
the other fail (gloo reports the closed connection; a timeout is the backstop), and the run resumes from rank
0's last checkpoint with 2 ranks and with 1, to the uninterrupted run's result.
"""
import os, shutil, signal
from dataclasses import replace
import numpy as np, pandas as pd, pytest, torch
import torch.distributed as tdist, torch.multiprocessing as mp
from lmmrec_nb.core import seed_everything
from lmmrec_nb.data import reviews_to_recdata
from lmmrec_nb.backbones import info_nce, make_backbone
from lmmrec_nb.lmmrec import LMMRec, text_table
from lmmrec_nb.train import NegativeSampler, TrainConfig, fit, train_epoch
from lmmrec_nb.distributed import DistConfig, _rank_main, free_port, gather_rows, launch

_rng = np.random.default_rng(0)
TOY = reviews_to_recdata('toy', pd.DataFrame({'user_raw': np.repeat(np.arange(40), 6), 'item_raw': np.concatenate(
    [_rng.choice(30, 6, replace=False) for _ in range(40)])}))
S, HAS = text_table(TOY, {u: _rng.normal(size=16) for u in range(40)}, {i: _rng.normal(size=16) for i in range(20)})
KINDS = ('lightgcn', 'lmmrec', 'lmmrec-batch-users')
CFG = TrainConfig(batch_size=45, max_epochs=3, eval_every=1, lr=1e-2, progress=False, seed=1)
FIT_KINDS = ('lightgcn', 'lmmrec')


def build(kind, seed=1):
    "A float64 model of `kind` on the toy (LMMRec: reference forms, weights large enough to matter)."
    torch.set_default_dtype(torch.float64); seed_everything(seed, dgl=False)
    bb = make_backbone('lightgcn', TOY, dim=8, seed=seed); bb.adj.w = bb.adj.w.double()
    if kind == 'lightgcn': return bb
    users = dict(user_candidates='batch') if kind == 'lmmrec-batch-users' else {}
    return LMMRec(bb, S.double(), HAS, 'reference', kd=0.5, pair=0.5, ta=0.1, itc=0.1, **users)


def same_on_every_rank(dist, state):
    "Raise on a rank whose weights differ from rank 0's."
    sums = [v.sum().item() for v in state.values() if v.is_floating_point()]
    if dist.broadcast(sums) != sums: raise AssertionError(f'rank {dist.rank} differs from rank 0')


def one_epoch(dist, kind, batch_size):
    "Weights and loss parts after one `train_epoch` of `kind` (as rank `dist`, or alone with None)."
    m = build(kind); u, i = TOY.pairs('train'); opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    parts = train_epoch(m, opt, (torch.as_tensor(u), torch.as_tensor(i)), NegativeSampler(u, i, TOY.n_users, TOY.n_items),
                        np.random.default_rng(3), batch_size, 0, None, dist)
    state = {k: v.detach().clone() for k, v in m.state_dict().items()}
    if dist is not None: same_on_every_rank(dist, state)
    return state, parts


def nce_grads(dist):
    "Gradient of an in-batch InfoNCE (11 rows; 6 / 5 per rank) whose candidates are gathered with `gather_rows`."
    torch.set_default_dtype(torch.float64); g = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(4, 4); x, y = torch.randn(11, 4, generator=g), torch.randn(11, 4, generator=g)
    with torch.no_grad(): lin.weight.copy_(torch.randn(4, 4, generator=g))
    if dist is not None: x, y = x.tensor_split(2)[dist.rank], y.tensor_split(2)[dist.rank]
    a, b = lin(x), lin(y)
    (info_nce(a, b, candidates=gather_rows(b), reduction='sum') / 11).backward()
    grads = torch.cat([p.grad.flatten() for p in lin.parameters()])
    if dist is not None: tdist.all_reduce(grads)
    return grads


def fit_worker(dist, kinds, cfg):
    return {k: fit(build(k), TOY, cfg, dist) for k in kinds}


def both_worker(dist):
    "(a) and (b) in one launch: processes take seconds to start."
    steps = {(k, bs): one_epoch(dist, k, bs) for k in KINDS for bs in (160, 45)}
    return steps, nce_grads(dist), fit_worker(dist, FIT_KINDS, CFG)


def doomed(dist, cfg, kill_at):
    "`fit` LightGCN; rank 1 kills itself (SIGKILL) at its `kill_at`-th loss call."
    m = build('lightgcn'); orig, calls = m.loss, [0]
    def loss(batch, out=None):
        calls[0] += 1
        if dist.rank == 1 and calls[0] == kill_at: os.kill(os.getpid(), signal.SIGKILL)
        return orig(batch, out)
    m.loss = loss
    return fit(m, TOY, cfg, dist)


@pytest.fixture
def float64():
    old = torch.get_default_dtype(); yield; torch.set_default_dtype(old)


@pytest.fixture(scope='module')
def two_ranks():
    "What 2 ranks computed for (a) and (b)."
    old = torch.get_default_dtype()
    try: return launch(both_worker, 2, timeout_s=120)
    finally: torch.set_default_dtype(old)


def close(a, b, eps=1e-6):
    assert abs(a - b) <= eps, (a, b)


def same_run(a, b, eps=1e-6):
    "Two `fit` results agree: every evaluation's loss parts and validation metrics, the best epoch, the test metrics."
    assert [h['epoch'] for h in a['history']] == [h['epoch'] for h in b['history']] and a['best_epoch'] == b['best_epoch']
    for ha, hb in zip(a['history'], b['history']):
        for k in ha:
            if not k.endswith('_s'): close(ha[k], hb[k], eps)
    for k in a['test']: close(a['test'][k], b['test'][k], eps)


def test_one_step_and_one_epoch_match_one_process(two_ranks, float64):
    two, g2, _ = two_ranks
    for (kind, bs), (state, parts) in two.items():
        ref_state, ref_parts = one_epoch(None, kind, bs)
        assert set(parts) == set(ref_parts), (kind, parts)
        if kind != 'lightgcn': assert {'kd', 'pair', 'ta', 'itc'} <= set(parts)
        for k in parts: close(parts[k], ref_parts[k], 1e-9)
        for k in ref_state: assert torch.allclose(state[k], ref_state[k], rtol=0, atol=1e-6), (kind, bs, k)
        assert any(not torch.equal(state[k], build(kind).state_dict()[k]) for k in state)  # the step moved something
    assert torch.allclose(g2, nce_grads(None), rtol=0, atol=1e-12)


def test_three_epochs_match_one_process(two_ranks, float64):
    two, one = two_ranks[2], fit_worker(None, FIT_KINDS, CFG)
    for k in FIT_KINDS:
        assert [h['epoch'] for h in one[k]['history']] == [0, 1, 2]
        same_run(two[k], one[k])


def test_a_dead_rank_fails_the_run_and_it_resumes(tmp_path, float64):
    cfg = replace(CFG, max_epochs=4, ckpt=str(tmp_path / 'ck.pt'))
    ctx, port, out = mp.get_context('spawn'), free_port(), str(tmp_path / 'rank0.pkl')
    procs = [ctx.Process(target=_rank_main, args=(r, 2, port, doomed, (cfg, 10), out, 30)) for r in range(2)]
    for p in procs: p.start()
    for p in procs: p.join(timeout=60)  # rank 1 dies in its 3rd epoch (batch 2 of 4); rank 0 must fail, not hang
    alive = [p for p in procs if p.is_alive()]
    for p in alive: p.kill()
    assert not alive, 'a rank hung after its peer died'
    assert procs[1].exitcode == -signal.SIGKILL and procs[0].exitcode not in (0, None), [p.exitcode for p in procs]
    ck = torch.load(cfg.ckpt, weights_only=True)
    assert ck['state']['epoch'] == 2 and not os.path.exists(out)  # checkpoints of epochs 0 and 1; no result
    shutil.copy(cfg.ckpt, tmp_path / 'ck1.pt')
    whole = fit(build('lightgcn'), TOY, replace(cfg, ckpt=None))
    same_run(launch(fit_worker, 2, ('lightgcn',), cfg, timeout_s=60)['lightgcn'], whole)  # resumed with 2 ranks
    same_run(fit(build('lightgcn'), TOY, replace(cfg, ckpt=str(tmp_path / 'ck1.pt'))), whole)  # and with 1


def test_refusals(float64):
    m = build('lmmrec'); kit = LMMRec(build('lightgcn'), S.double(), HAS, 'kit')
    with pytest.raises(ValueError, match='reference forms only'): DistConfig(0, 2).start(kit, 160, 45)
    with pytest.raises(ValueError, match='leaves one of 2 ranks without rows'): DistConfig(0, 2).start(m, 161, 80)
    assert DistConfig(0, 1).start(m, 161, 80) is None
