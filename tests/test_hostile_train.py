"""Checkpoints and evaluation under hostile or mistaken input: nothing runs code, nothing is silently wrong.

Each test is one thing that was tried; the name says what, the docstring what must happen."""
import io, math, pickle
import numpy as np, pandas as pd, pytest, torch
from lmmrec_nb.data import from_pairs
from lmmrec_nb.backbones import make_backbone
from lmmrec_nb.core import seed_everything
from lmmrec_nb.train import CheckpointMismatch, Interrupted, TrainConfig, TrainingDiverged, fit, train
from conftest import Boom


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1); yield; torch.set_num_threads(n)


def planted(seed=0, nu=60, ni=40):
    "Two planted communities of users and items, split 6:2:2 per user (same shape for every seed)."
    rng = np.random.default_rng(seed)
    rows = [(u, i) for u in range(nu) for i in rng.choice(np.arange(ni // 2) + ni // 2 * (u % 2), 10, replace=False)]
    df = pd.DataFrame(rows, columns=['user', 'item']); lab = np.tile([0] * 6 + [1, 1, 2, 2], nu)
    return from_pairs('planted', list(range(nu)), list(range(ni)), {s: df[lab == k] for k, s in enumerate(['train', 'val', 'test'])})


@pytest.fixture(scope='module')
def data(): return planted()


def cfg(tmp_path, **kw):
    base = dict(batch_size=64, lr=1e-2, max_epochs=9, eval_every=3, patience=5, progress=False, seed=7, ckpt=str(tmp_path / 'ck.pt'))
    return TrainConfig(**{**base, **kw})



def test_crafted_checkpoint_does_not_run_code(data, tmp_path):
    """A checkpoint whose pickle calls os.system is refused on resume, and the command never runs."""
    marker = tmp_path / 'pwned'
    buf = io.BytesIO(); torch.save({'model': Boom(marker)}, buf); (tmp_path / 'ck.pt').write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match='not a loadable weights-only checkpoint'): train('lightgcn', data, cfg(tmp_path), dim=8)
    assert not marker.exists()


def test_plain_pickle_checkpoint_does_not_run_code(data, tmp_path):
    """A checkpoint written with plain pickle (no torch zip container) is refused too."""
    marker = tmp_path / 'pwned'
    (tmp_path / 'ck.pt').write_bytes(pickle.dumps(Boom(marker)))
    with pytest.raises(ValueError, match='not a loadable weights-only checkpoint'): train('lightgcn', data, cfg(tmp_path), dim=8)
    assert not marker.exists()


def test_genuine_checkpoint_loads_weights_only(data, tmp_path):
    """What `fit` writes loads with weights_only=True (no allow-listed globals needed)."""
    with pytest.raises(Interrupted): train('lightgcn', data, cfg(tmp_path, stop_after=1), dim=8)
    ck = torch.load(tmp_path / 'ck.pt', weights_only=True)
    assert ck['state']['epoch'] == 1 and ck['fingerprint']['lr'] == 1e-2


@pytest.mark.parametrize('change,needle', [(dict(lr=1e-3), 'lr: 0.01 in the checkpoint, 0.001 now'),
                                           (dict(batch_size=32), 'batch_size: 64 in the checkpoint, 32 now'),
                                           (dict(seed=8), 'seed: 7 in the checkpoint, 8 now')])
def test_resume_with_other_settings_is_refused(data, tmp_path, change, needle):
    """Resuming with another learning rate (or batch size, seed) is refused, naming what differs."""
    with pytest.raises(Interrupted): train('lightgcn', data, cfg(tmp_path, stop_after=1), dim=8)
    with pytest.raises(CheckpointMismatch, match=needle): train('lightgcn', data, cfg(tmp_path, **change), dim=8)


def test_resume_on_another_split_of_the_same_shape_is_refused(data, tmp_path):
    """A checkpoint made on a differently seeded split with the same numbers of users and items is refused."""
    other = planted(seed=1)
    assert (other.n_users, other.n_items) == (data.n_users, data.n_items) and len(other.splits['train']) == len(data.splits['train'])
    with pytest.raises(Interrupted): train('lightgcn', data, cfg(tmp_path, stop_after=1), dim=8)
    with pytest.raises(CheckpointMismatch, match='data: '): train('lightgcn', other, cfg(tmp_path), dim=8)


def test_resume_with_more_epochs_is_allowed(data, tmp_path):
    """Extending max_epochs is not a different run: the checkpoint is resumed."""
    with pytest.raises(Interrupted): train('lightgcn', data, cfg(tmp_path, stop_after=3), dim=8)
    _, res = train('lightgcn', data, cfg(tmp_path, max_epochs=12), dim=8)
    assert res['epochs'] == 12


class InfGrad(torch.autograd.Function):
    "Zero in the forward pass, an infinite gradient in the backward pass: a finite loss that would wreck the weights."
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.sum() * 0
    @staticmethod
    def backward(ctx, g): return torch.full(ctx.shape, float('inf'))


def test_infinite_gradient_with_finite_loss_stops_before_the_step(data, tmp_path):
    """A finite loss with an infinite gradient raises before the optimiser step: weights and checkpoint stay finite."""
    c = cfg(tmp_path, patience=100); seed_everything(c.seed, dgl=False)
    m = make_backbone('lightgcn', data, dim=8, seed=c.seed); orig, calls = m.loss, [0]
    per_epoch = math.ceil(len(data.splits['train']) / c.batch_size)
    def inf_grad_late(batch, out=None):
        calls[0] += 1; total, parts = orig(batch, out)
        return (total + InfGrad.apply(m.user_emb), parts) if calls[0] > 4 * per_epoch else (total, parts)
    m.loss = inf_grad_late
    with pytest.raises(TrainingDiverged, match=r'gradient of user_emb is not finite at epoch 4, batch 0'):
        fit(m, data, c)
    assert all(torch.isfinite(p).all() for p in m.parameters())
    ck = torch.load(c.ckpt, weights_only=True)
    assert ck['state']['epoch'] == 4 and all(torch.isfinite(v).all() for v in ck['model'].values())


def test_stale_checkpoint_temporaries_are_cleaned(data, tmp_path):
    """A kill during a checkpoint write leaves `.ck.pt.*.tmp`; the next run removes it."""
    stale = tmp_path / '.ck.pt.x1y2z3.tmp'; tmp_path.mkdir(exist_ok=True); stale.write_bytes(b'half a checkpoint')
    train('lightgcn', data, cfg(tmp_path, max_epochs=3), dim=8)
    assert not stale.exists() and (tmp_path / 'ck.pt').exists()


def test_metric_not_among_cutoffs_is_refused(data):
    """Early stopping on recall@20 while reporting only ks=(5, 10) is an error before any training."""
    with pytest.raises(ValueError, match="metric 'recall@20' is not reported with ks=\\(5, 10\\)"):
        train('lightgcn', data, TrainConfig(ks=(5, 10), progress=False, max_epochs=1), dim=8)


def test_default_cutoffs_on_a_dataset_with_fewer_items(tmp_path):
    """A dataset with 12 items trains with the default ks=(5, 10, 20): @20 ranks all items."""
    rng = np.random.default_rng(0)
    rows = [(u, i) for u in range(20) for i in rng.choice(12, 6, replace=False)]
    df = pd.DataFrame(rows, columns=['user', 'item']); lab = np.tile([0, 0, 0, 0, 1, 2], 20)
    small = from_pairs('tiny', list(range(20)), list(range(12)), {s: df[lab == k] for k, s in enumerate(['train', 'val', 'test'])})
    _, res = train('lightgcn', small, TrainConfig(batch_size=64, max_epochs=3, progress=False), dim=8)
    assert res['test']['recall@20'] >= res['test']['recall@10']


@pytest.mark.parametrize('kw,needle', [(dict(split='train'), "'train' would score 0"), (dict(ks=()), 'ks is empty'),
                                       (dict(ks=(0,)), 'positive integer'), (dict(ks=(-5, 10)), 'positive integer'),
                                       (dict(split='valid'), "split must be 'val' or 'test'")])
def test_evaluate_refuses_meaningless_requests(data, kw, needle):
    """evaluate on the (masked) training split, with no cut-off, or with a cut-off below 1 gives a clear error."""
    from lmmrec_nb.eval import evaluate, popularity_scorer
    with pytest.raises(ValueError, match=needle): evaluate(popularity_scorer(data), data, **{'split': 'test', **kw})


def test_cutoff_above_item_count_ranks_everything(data):
    """k larger than the number of items means 'all items': recall is then 1 for every evaluated user."""
    from lmmrec_nb.eval import evaluate, popularity_scorer
    m = evaluate(popularity_scorer(data), data, 'test', ks=(data.n_items + 10,))
    assert m[f'recall@{data.n_items + 10}'] == pytest.approx(1.0)
