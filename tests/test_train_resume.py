"""Training: an interrupted run resumed from its checkpoint equals an uninterrupted one; NaN keeps the last good checkpoint."""
import math
import numpy as np, pandas as pd, pytest, torch
from lmmrec_nb.data import from_pairs
from lmmrec_nb.backbones import BACKBONES, make_backbone
from lmmrec_nb.core import seed_everything
from lmmrec_nb.train import Interrupted, NegativeSampler, TrainConfig, TrainingDiverged, fit, train


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    "One torch thread: on a shared 2-core machine oversubscribed OpenMP threads slow these kernels 10-20x."
    n = torch.get_num_threads(); torch.set_num_threads(1); yield; torch.set_num_threads(n)


@pytest.fixture(scope='module')
def data():
    rng = np.random.default_rng(0); nu, ni = 120, 80
    rows = [(u, i) for u in range(nu) for i in rng.choice(np.arange(40) + 40 * (u % 2), 10, replace=False)]
    df = pd.DataFrame(rows, columns=['user', 'item']); lab = np.tile([0] * 6 + [1, 1, 2, 2], nu)
    return from_pairs('planted', list(range(nu)), list(range(ni)), {s: df[lab == k] for k, s in enumerate(['train', 'val', 'test'])})


def cfg(tmp_path, **kw):
    return TrainConfig(**{**dict(batch_size=128, lr=1e-2, max_epochs=14, eval_every=3, patience=2, progress=False, seed=7, ckpt=str(tmp_path / 'ck.pt')), **kw})


def strip_times(h): return [{k: v for k, v in r.items() if not k.endswith('_s')} for r in h]


@pytest.mark.parametrize('name,stop_after', [('lightgcn', 1), ('lightgcn', 5)] + [(n, 5) for n in BACKBONES if n != 'lightgcn'])
def test_resume_equals_uninterrupted(data, tmp_path, name, stop_after):
    ref_model, ref = train(name, data, cfg(tmp_path / 'ref', ckpt=None), dim=8)
    with pytest.raises(Interrupted):
        train(name, data, cfg(tmp_path / 'run', stop_after=stop_after), dim=8)
    model, res = train(name, data, cfg(tmp_path / 'run'), dim=8)
    assert res['test'] == ref['test'] and res['best_epoch'] == ref['best_epoch'] and res['epochs'] == ref['epochs']
    assert strip_times(res['history']) == strip_times(ref['history'])
    for a, b in zip(model.parameters(), ref_model.parameters()): assert torch.equal(a, b)


def test_resume_in_several_pieces(data, tmp_path):
    _, ref = train('lightgcn', data, cfg(tmp_path / 'ref', ckpt=None, patience=100), dim=8)
    for _ in range(10):
        try: _, res = train('lightgcn', data, cfg(tmp_path, stop_after=4, patience=100), dim=8); break
        except Interrupted: pass
    assert res['test'] == ref['test'] and strip_times(res['history']) == strip_times(ref['history'])


def test_finished_checkpoint_returns_same_result(data, tmp_path):
    _, a = train('lightgcn', data, cfg(tmp_path), dim=8)
    _, b = train('lightgcn', data, cfg(tmp_path), dim=8)  # resumes a finished run: only re-evaluates test
    assert a['test'] == b['test'] and a['best_epoch'] == b['best_epoch']


def test_checkpoint_of_another_model_is_refused(data, tmp_path):
    with pytest.raises(Interrupted): train('lightgcn', data, cfg(tmp_path, stop_after=1), dim=8)
    with pytest.raises(ValueError, match="checkpoint .* is for another run .*model: 'lightgcn' in the checkpoint, 'sgl' now"): train('sgl', data, cfg(tmp_path), dim=8)


def test_nan_stops_and_keeps_last_good_checkpoint(data, tmp_path):
    c = cfg(tmp_path, patience=100); seed_everything(c.seed, dgl=False); m = make_backbone('lightgcn', data, dim=8, seed=c.seed)
    orig, calls = m.loss, [0]; per_epoch = math.ceil(len(data.splits['train']) / c.batch_size)
    def nan_after_epoch_7(batch, out=None):
        calls[0] += 1; total, parts = orig(batch, out)
        return (total * float('nan'), parts) if calls[0] > 7 * per_epoch else (total, parts)
    m.loss = nan_after_epoch_7
    with pytest.raises(TrainingDiverged, match='loss is nan at epoch 7, batch 0'): fit(m, data, c)
    ck = torch.load(c.ckpt, weights_only=True)
    assert ck['state']['history'][-1]['epoch'] == 6 and ck['state']['epoch'] == 7
    assert all(torch.isfinite(v).all() for v in ck['model'].values())


def test_sampler_is_vectorised_and_correct():
    rng = np.random.default_rng(0); u = np.repeat(np.arange(500), 30); i = np.concatenate([rng.choice(40, 30, replace=False) for _ in range(500)])
    s = NegativeSampler(u, i, 500, 40); neg = s(np.random.default_rng(1))
    assert not s._hits(u, neg).any() and neg.min() >= 0 and neg.max() < 40
    counts = np.bincount(neg, minlength=40); assert (counts > 0).sum() == 40  # every item can be drawn


def test_device_mismatch_is_an_error(data):
    m = make_backbone('lightgcn', data, dim=8)
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match='model is on cpu'): fit(m, data, TrainConfig(device='cuda', progress=False))
    else:
        with pytest.raises(RuntimeError, match='CUDA is not available'): fit(m, data, TrainConfig(device='cuda', progress=False))
