"""LMMRec's loss terms against a plain re-implementation of DESIGN.md §1b (the reference forms) and of the kit's forms.

The reference side below is written from the equations only: dense matrices, explicit loops, float64, and no
code from `lmmrec_nb.losses` or `lmmrec_nb.lmmrec`. The package is imported only to build the toy model and to
call the things under test (`LMMRec.loss`, its prototypes, `before_step`, `fit`). Select with `pytest -k reference`.
"""
import math
import numpy as np, pandas as pd, pytest, torch
import torch.nn.functional as F
from lmmrec_nb.data import from_pairs
from lmmrec_nb.backbones import make_backbone
from lmmrec_nb.core import seed_everything
from lmmrec_nb.lmmrec import FORMS, LMMREC_HPARAMS, LMMRec, LMMRecForms, reference_settings
from lmmrec_nb.losses import distillation
from lmmrec_nb.train import Interrupted, NegativeSampler, TrainConfig, fit, train_epoch

TOL = 1e-6
WEIGHTS = dict(kd=0.5, pair=2.0, ta=3.0, itc=0.7, kd_tau=0.3, pair_tau=0.25, n_proto=3)  # large: differences show
OPTIONS = dict(  # option: (reference form, kit form)
    reduction=('sum/B', 'mean-of-means'), user_candidates=('all', 'batch'), dedup=(False, True),
    prototypes=('separate', 'shared'), proto_layers=('0..L-1', '0..L'), ta_nodes=('all', 'batch'),
    itc_form=('reference', 'kit'), keep_rate=(1.0, None), reg_scope=('all', 'embeddings'))


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1); yield; torch.set_num_threads(n)


# ---------------------------------------------------------------- toy inputs: 5 users, 6 items, 15 training edges
TRAIN = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 3), (1, 4), (2, 0), (2, 5),
         (3, 2), (3, 3), (3, 5), (4, 0), (4, 4), (4, 5), (2, 3)]
NU, NI, DT = 5, 6, 7  # users, items, text dimension


@pytest.fixture(scope='module')
def toy():
    tr = pd.DataFrame(TRAIN, columns=['user', 'item'])
    va = pd.DataFrame([(0, 3), (1, 0), (2, 1)], columns=['user', 'item'])
    te = pd.DataFrame([(3, 0), (4, 1)], columns=['user', 'item'])
    return from_pairs('toy', list(range(NU)), list(range(NI)), {'train': tr, 'val': va, 'test': te})


def text(has_all=True):
    g = torch.Generator().manual_seed(5); S = torch.randn(NU + NI, DT, generator=g, dtype=torch.float64)
    has = torch.ones(NU + NI, dtype=torch.bool)
    if not has_all: has[[1, NU + 2]] = False; S[[1, NU + 2]] = 0  # user 1 and item 2 have no text
    return S, has


BATCH = (torch.tensor([0, 0, 1, 3, 4, 2, 0]), torch.tensor([1, 2, 3, 5, 4, 5, 1]), torch.tensor([3, 4, 0, 1, 2, 0, 4]))


def build(toy, forms, backbone='lightgcn', has_all=True, **kw):
    "A float64 LMMRec on the toy graph with fixed weights, a teacher that differs from the student, exact edge weights."
    S, has = text(has_all); seed_everything(3, dgl=False)
    bb = make_backbone(backbone, toy, dim=4, seed=11, reg=0.1, **({'n_layers': 2} if backbone == 'lightgcn' else {}))
    m = LMMRec(bb, S.float(), has, forms=forms, **{**WEIGHTS, **kw}).double()
    m.S = S  # the exact float64 text
    src, dst = bb.g.edges(); deg = torch.bincount(dst, minlength=NU + NI).double()
    bb.adj.w = 1 / torch.sqrt(deg[src] * deg[dst])  # exact float64 symmetric normalisation (the graph stores float32)
    with torch.no_grad():
        for p in m.teacher.parameters(): p.add_(0.3 * torch.randn(p.shape, dtype=torch.float64))
    m.train(); return m


def params(m):
    "Every parameter as a plain float64 tensor (detached), by name."
    return {k: v.detach().clone() for k, v in m.named_parameters()}


# ---------------------------------------------------------------- the reference side, written from the equations
def project(P, prefix, s):
    "Linear -> LeakyReLU(0.01) -> Linear."
    h = s @ P[f'{prefix}.net.0.weight'].T + P[f'{prefix}.net.0.bias']
    h = torch.where(h > 0, h, 0.01 * h)
    return h @ P[f'{prefix}.net.2.weight'].T + P[f'{prefix}.net.2.bias']


def cos(a, b): return float(a @ b / (a.norm() * b.norm()))


def nce_rows(a, b, C, tau):
    "Per-row -log( exp(cos(a_k, b_k)/tau) / sum_{c in C} exp(cos(a_k, c)/tau) ), as a list."
    out = []
    for k in range(len(a)):
        num = math.exp(cos(a[k], b[k]) / tau)
        den = sum(math.exp(cos(a[k], c) / tau) for c in C)
        out.append(-math.log(num / den))
    return out


def directed_edges(nu, pairs, self_loop):
    "The package's edge-id order: user -> item for every pair, then item -> user, then self-loops."
    n = nu + NI
    src = [u for u, _ in pairs] + [nu + i for _, i in pairs]
    dst = [nu + i for _, i in pairs] + [u for u, _ in pairs]
    if self_loop: src, dst = src + list(range(n)), dst + list(range(n))
    return src, dst


def layers_of(P, src, dst, n_layers, keep):
    "E_0..E_L of LightGCN propagation: E_{l+1}[h] = sum over edges t -> h of w_ht E_l[t], w = 1/sqrt(deg_h deg_t)."
    n = NU + NI; deg = [dst.count(x) for x in range(n)]
    A = torch.zeros(n, n, dtype=torch.float64)
    for k, (t, h) in enumerate(zip(src, dst)):
        if keep[k]: A[h, t] += 1 / math.sqrt(deg[h] * deg[t])
    E = [torch.cat([P['backbone.user_emb'], P['backbone.item_emb']])]
    for _ in range(n_layers): E.append(A @ E[-1])
    return E


def mixture(E, x, P, separate):
    "m_x = softmax(E_x C) C^T with the node's own prototypes."
    if separate and 'protos.C_u' not in P: raise LookupError('the model has one shared prototype matrix, not C_u / C_i')
    C = (P['protos.C_u'] if x < NU else P['protos.C_i']) if separate else P['protos.C']
    return torch.softmax(E[x] @ C, -1) @ C.T


def edge_weights(E, src, dst, P, separate):
    "a_ht = (cos(m_h, m_t) + 1) / 2 for every directed edge t -> h, divided by the sum over the head's edges."
    m = [mixture(E, x, P, separate) for x in range(NU + NI)]
    raw = [(cos(m[h], m[t]) + 1) / 2 for t, h in zip(src, dst)]
    head_sum = {h: sum(a for a, hh in zip(raw, dst) if hh == h) for h in set(dst)}
    return [a / head_sum[h] for a, h in zip(raw, dst)]


def interaction_motivations(E, src, dst, P, separate, layer_range):
    "r = mean over the chosen layers l of r_l, r_l[h] = sum over edges t -> h of a_ht E_l[t]."
    used = E[:-1] if layer_range == '0..L-1' else E
    rs = []
    for El in used:
        a, r = edge_weights(El, src, dst, P, separate), torch.zeros_like(El)
        for k, (t, h) in enumerate(zip(src, dst)): r[h] += a[k] * El[t]
        rs.append(r)
    return sum(rs) / len(rs)


def grouped_nce(views, texts, rows, user_cands, o, tau, B):
    "Groups (users, pos, neg): 'sum/B' = (sum of the three NCE sums) / B; 'mean-of-means' = mean of group means."
    per = []
    for k, g in enumerate(rows):
        C = user_cands if (k == 0 and o['user_candidates'] == 'all') else texts[g]
        per.append(nce_rows(views[g], texts[g], C, tau))
    if o['reduction'] == 'sum/B': return sum(sum(p) for p in per) / B
    return sum(sum(p) / len(p) for p in per) / 3


def cross_entropy_dims(zt, zs, tau):
    "-sum_j softmax(zt/tau)_j log softmax(zs/tau)_j for one row."
    pt, ls = torch.softmax(zt / tau, -1), torch.log_softmax(zs / tau, -1)
    return float(-(pt * ls).sum())


def reference(m, batch, o, gen, backbone='lightgcn'):
    "Every loss part (weighted) and the intermediate r, from the equations; `gen` replays the model's noise draws."
    P, w, S, has = params(m), {**m.w}, m.S, m.has.tolist()
    n_layers, nu = 2, NU  # both toy backbones propagate twice
    src, dst = directed_edges(nu, TRAIN, backbone == 'gccf')
    keep_rate = {'lightgcn': 0.8, 'gccf': 1.0}[backbone] if o['keep_rate'] is None else o['keep_rate']
    keep = (torch.rand(len(src), generator=gen) < keep_rate).tolist() if keep_rate < 1 else [True] * len(src)
    E = layers_of(P, src, dst, n_layers, keep)
    e = sum(E) if backbone == 'lightgcn' else torch.cat(E, 1)
    u, p, n = batch; B = len(u); parts = {}
    sigmoid = lambda x: 1 / (1 + math.exp(-x))
    score = lambda a, b: float(e[a] @ e[nu + b])
    parts['bpr'] = sum(-math.log(sigmoid(score(a, b) - score(a, c))) for a, b, c in zip(u, p, n)) / B
    reg_params = [k for k in P if o['reg_scope'] == 'all' or k.startswith('backbone.')]
    parts['reg'] = m.backbone.hp['reg'] * sum(float((P[k] ** 2).sum()) for k in reg_params)
    ids = [u.tolist(), [nu + x for x in p.tolist()], [nu + x for x in n.tolist()]]
    rows = [[x for x in g if has[x]] for g in ids]
    if o['dedup']: rows = [sorted(set(g)) for g in rows]
    users_with_text = [x for x in range(nu) if has[x]]
    Zkd, Z = project(P, 'proj_kd', S), project(P, 'proj', S)
    parts['kd'] = w['kd'] * grouped_nce(e, Zkd, rows, Zkd[users_with_text], o, w['kd_tau'], B)
    r = interaction_motivations(E, src, dst, P, o['prototypes'] == 'separate', o['proto_layers'])
    parts['pair'] = w['pair'] * grouped_nce(r, Z, rows, Z[users_with_text], o, w['pair_tau'], B)
    d = Z.shape[1]; nodes = [x for x in range(NU + NI) if has[x]]
    def translation(g):  # noise: eps1 for the text view, then eps2 for the graph view
        eps1 = torch.randn((len(g), d), generator=gen).double()
        eps2 = torch.randn((len(g), d), generator=gen).double()
        a, b = Z[g] * (1 + eps1), e[g][:, :d] * (1 + eps2)
        return sum(nce_rows(a, b, b, 1.0)) / len(g)
    ta = translation(nodes) if o['ta_nodes'] == 'all' else sum(translation(g) for g in rows) / 3
    parts['ta'] = w['ta'] * ta
    T = project(P, 'teacher', S)
    if o['itc_form'] == 'reference':
        distill = sum(cross_entropy_dims(T[x], Z[x], 1.0) for x in nodes) / len(nodes)
        itc = 0.4 * ta + 0.6 * distill
    else:
        itc = sum(0.4 * sum(cross_entropy_dims(T[x], Z[x], 0.2) for x in g) / len(g)
                  + 0.6 * sum(nce_rows(Z[g], e[g][:, :d], e[g][:, :d], 0.2)) / len(g) for g in rows) / 3
    parts['itc'] = w['itc'] * itc
    return parts, dict(E=E, r=r, src=src, dst=dst, P=P)


def package_and_reference(toy, o, backbone='lightgcn', has_all=True):
    m = build(toy, LMMRecForms(**o), backbone, has_all)
    state = m.gen.get_state()
    _, got = m.loss(BATCH)
    want, inner = reference(m, BATCH, o, torch.Generator().set_state(state), backbone)
    return {k: v.item() for k, v in got.items()}, want, m, inner


def kit_with(**kw): return {**{k: v[1] for k, v in OPTIONS.items()}, **kw}
def reference_with(**kw): return {**{k: v[0] for k, v in OPTIONS.items()}, **kw}


def assert_parts_equal(got, want):
    assert set(got) == set(want), (sorted(got), sorted(want))
    bad = {k: (got[k], want[k]) for k in want if abs(got[k] - want[k]) > TOL}
    assert not bad, bad


# ---------------------------------------------------------------- equivalence tests
CASES = ([('reference', reference_with()), ('kit', kit_with())]
         + [(f'reference, {k}={v[1]!r}', reference_with(**{k: v[1]})) for k, v in OPTIONS.items()]
         + [(f'kit, {k}={v[0]!r}', kit_with(**{k: v[0]})) for k, v in OPTIONS.items()])


def test_reference_presets_match_the_options():
    assert FORMS['reference'] == LMMRecForms(**reference_with()) and FORMS['kit'] == LMMRecForms(**kit_with())
    assert FORMS['kit'] == LMMRecForms()  # the default stays the kit's forms


@pytest.mark.parametrize('name,o', CASES, ids=[c[0] for c in CASES])
def test_reference_every_term(toy, name, o):
    "bpr, reg, kd, pair, ta, itc of `LMMRec.loss` equal the plain equations, for the reference forms and each flip."
    got, want, _, _ = package_and_reference(toy, o)
    assert_parts_equal(got, want)


@pytest.mark.parametrize('which', ['reference', 'kit'])
def test_reference_rows_without_text(toy, which):
    "Rows without text are left out of every term and candidate set, in both forms."
    o = reference_with() if which == 'reference' else kit_with()
    got, want, _, _ = package_and_reference(toy, o, has_all=False)
    assert_parts_equal(got, want)


@pytest.mark.parametrize('which', ['reference', 'kit'])
def test_reference_gccf_aligns_the_first_d_columns(toy, which):
    "GCCF: concatenated layers for kd, the first d columns (layer 0) for translation and correspondence."
    o = reference_with() if which == 'reference' else kit_with()
    got, want, m, _ = package_and_reference(toy, o, 'gccf')
    assert m.backbone.forward()[0].shape[1] == 3 * 4  # d (L + 1) columns
    assert_parts_equal(got, want)


@pytest.mark.parametrize('separate', [True, False])
def test_reference_edge_weights_and_r(toy, separate):
    "Prototype edge weights a_ht on every layer, and the aggregated r over 0..L-1 and 0..L."
    o = reference_with(prototypes='separate' if separate else 'shared')
    _, _, m, inner = package_and_reference(toy, o)
    E, src, dst, P = inner['E'], inner['src'], inner['dst'], inner['P']
    assert m.protos.src.tolist() == src and m.protos.dst.tolist() == dst  # the same directed edges, in the same order
    for El in E:
        want = torch.tensor(edge_weights(El, src, dst, P, separate), dtype=torch.float64)
        assert (m.protos.weights(El).detach() - want).abs().max() < TOL
    for rng in ('0..L-1', '0..L'):
        m.protos.layer_range = rng
        want = interaction_motivations(E, src, dst, P, separate, rng)
        assert (m.protos(E).detach() - want).abs().max() < TOL


def test_reference_distillation_alone(toy):
    "distill = mean over every node of -sum_dim softmax(teacher(s)) log_softmax(P s), no temperature."
    m = build(toy, 'reference'); P = params(m)
    Z, T = project(P, 'proj', m.S), project(P, 'teacher', m.S)
    want = sum(cross_entropy_dims(T[x], Z[x], 1.0) for x in range(NU + NI)) / (NU + NI)
    assert abs(distillation(m.proj(m.S), m.teacher(m.S)).item() - want) < TOL


@pytest.mark.parametrize('option', list(OPTIONS))
def test_reference_detects_every_flip(toy, option):
    "Flipping any one option on the package while the equations keep the reference forms changes some term."
    m = build(toy, LMMRecForms(**reference_with(**{option: OPTIONS[option][1]})))
    state = m.gen.get_state(); _, got = m.loss(BATCH)
    try: want, _ = reference(m, BATCH, reference_with(), torch.Generator().set_state(state))
    except LookupError: assert option == 'prototypes'; return  # shared C: the equations' C_u / C_i do not exist
    got = {k: v.item() for k, v in got.items()}
    assert any(abs(got[k] - want[k]) > TOL for k in want), (option, got, want)


# ---------------------------------------------------------------- the EMA step hook, defaults, settings
def test_reference_ema_moves_only_in_before_step(toy):
    m = build(toy, 'kit'); t0 = [p.clone() for p in m.teacher.parameters()]
    m.loss(BATCH); m.loss(BATCH)  # extra calls (logging, torch.compile tracing) move nothing
    assert all(torch.equal(a, b) for a, b in zip(t0, m.teacher.parameters()))
    m.before_step()
    for a, b, s in zip(t0, m.teacher.parameters(), m.proj.parameters()):
        assert torch.allclose(b, 0.999 * a + 0.001 * s, atol=1e-12)
    t1 = [p.clone() for p in m.teacher.parameters()]; m.eval(); m.before_step(); m.train()  # not in eval mode
    assert all(torch.equal(a, b) for a, b in zip(t1, m.teacher.parameters()))
    m2 = build(toy, 'kit', itc=0)
    t2 = [p.clone() for p in m2.teacher.parameters()]
    m2.before_step()  # not without an itc term
    assert all(torch.equal(a, b) for a, b in zip(t2, m2.teacher.parameters()))


def test_reference_train_epoch_calls_the_hook_once_per_batch(toy):
    S, has = text(); m = LMMRec(make_backbone('lightgcn', toy, dim=4), S.float(), has); calls = []
    hook = m.before_step; m.before_step = lambda: (calls.append(1), hook())
    u, i = toy.pairs('train'); opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    pairs, sampler = (torch.as_tensor(u), torch.as_tensor(i)), NegativeSampler(u, i, NU, NI)
    train_epoch(m, opt, pairs, sampler, np.random.default_rng(0), batch_size=4)
    assert len(calls) == math.ceil(len(u) / 4)


def test_reference_defaults_and_settings(toy):
    S, has = text(); bb = make_backbone('lightgcn', toy, dim=4)
    k = LMMRec(bb, S.float(), has, forms='kit')
    assert k.forms == FORMS['kit'] and 'forms' not in k.hp and k.backbone.hp['keep_rate'] == 0.8
    r = LMMRec(make_backbone('lightgcn', toy, dim=4), S.float(), has)  # the reference forms are the default
    assert r.forms == FORMS['reference'] and r.backbone.hp['keep_rate'] == 1.0 and r.hp['forms'] == FORMS['reference'].changed()
    assert sorted(n for n, _ in r.protos.named_parameters()) == ['C_i', 'C_u']
    with pytest.raises(ValueError, match='sgl trains BPR on the full graph'):
        LMMRec(make_backbone('sgl', toy, dim=4), S.float(), has, keep_rate=0.5)
    sgl = LMMRec(make_backbone('sgl', toy, dim=4), S.float(), has)  # keep_rate 1.0: SGL's BPR is on the full graph already
    assert sgl.backbone.hp['keep_rate'] == 0.8  # SGL's views keep their own edge dropout
    with pytest.raises(ValueError, match='forms must be one of'): LMMRec(bb, S.float(), has, forms='paper')
    pair = {k: LMMREC_HPARAMS[k]['pair'] for k in LMMREC_HPARAMS}
    assert pair == {'rlmrec-amazon-book': 2e-2, 'rlmrec-yelp': 1e-2, 'movie': 3e-2}
    assert LMMREC_HPARAMS['movie']['reg'] == 1e-6 and LMMREC_HPARAMS['movie']['kd'] == 1e-3
    for hp in LMMREC_HPARAMS.values():
        assert [hp[k] for k in ('n_layers', 'kd_tau', 'pair_tau', 'ta', 'itc', 'keep_rate')] == [3, 0.2, 0.2, 1e-7, 1e-7, 1.0]
    assert reference_settings('xrec-yelp-profiled') == reference_settings('rlmrec-yelp')  # the same Yelp source
    bb, rest = reference_settings('rlmrec-amazon-book')
    assert bb == dict(n_layers=3, reg=1e-7) and rest == dict(kd=1e-2, kd_tau=0.2, pair=2e-2, pair_tau=0.2, ta=1e-7, itc=1e-7,
                                                             keep_rate=1.0)


# ---------------------------------------------------------------- resume of an LMMRec run
@pytest.fixture(scope='module')
def planted():
    rng = np.random.default_rng(0); nu, ni = 60, 40
    rows = [(u, i) for u in range(nu) for i in rng.choice(np.arange(20) + 20 * (u % 2), 10, replace=False)]
    df = pd.DataFrame(rows, columns=['user', 'item']); lab = np.tile([0] * 6 + [1, 1, 2, 2], nu)
    splits = {s: df[lab == k] for k, s in enumerate(['train', 'val', 'test'])}
    d = from_pairs('planted', list(range(nu)), list(range(ni)), splits)
    S = torch.as_tensor(rng.normal(size=(nu + ni, 16)), dtype=torch.float32)
    has = torch.ones(nu + ni, dtype=torch.bool)
    return d, S, has


def run(planted, cfg, forms):
    d, S, has = planted; seed_everything(cfg.seed, dgl=False)
    bb = make_backbone('lightgcn', d, dim=8, seed=cfg.seed)
    m = LMMRec(bb, S, has, forms=forms, ta=0.5, itc=0.5)  # large enough that the teacher and the noise matter
    return m, fit(m, d, cfg)


def strip_times(h): return [{k: v for k, v in r.items() if not k.endswith('_s')} for r in h]


@pytest.mark.parametrize('forms', ['kit', 'reference'])
def test_reference_resume_equals_uninterrupted(planted, tmp_path, forms):
    "Teacher (a submodule) and noise generator are in the checkpoint: a resumed run equals an uninterrupted one."
    base = dict(batch_size=64, lr=1e-2, max_epochs=8, eval_every=2, patience=10, progress=False, seed=7,
                ckpt=str(tmp_path / 'ck.pt'))
    cfg = lambda **kw: TrainConfig(**{**base, **kw})
    ref_model, ref = run(planted, cfg(ckpt=None), forms)
    with pytest.raises(Interrupted): run(planted, cfg(stop_after=3), forms)
    model, res = run(planted, cfg(), forms)
    assert res['test'] == ref['test'] and res['best_epoch'] == ref['best_epoch']
    assert strip_times(res['history']) == strip_times(ref['history'])
    for (k, a), (_, b) in zip(model.state_dict().items(), ref_model.state_dict().items()): assert torch.equal(a, b), k
    assert any(k.startswith('teacher.') for k in model.state_dict())


# ---------------------------------------------------------------- the all-node InfoNCE in blocks (issue 14)
def dense_translation(z, e, gen, tau=1.0):
    "The translation term with one dense all-rows x all-rows matrix: mean over rows of -log softmax(cos / tau)."
    a = F.normalize(z * (1 + torch.randn(z.shape, generator=gen)), dim=-1, eps=1e-4) / tau  # float32 noise, as the package draws it
    b = F.normalize(e * (1 + torch.randn(e.shape, generator=gen)), dim=-1, eps=1e-4)
    return (-(a * b).sum(-1) + torch.logsumexp(a @ b.T, -1)).mean()


def blocked_translation(z, e, block, tau=1.0):
    "The package's blocked translation term with `block` elements per lse_sum block: (loss, dz, de, each product's left shape)."
    import lmmrec_nb.losses as L
    calls, mm, cpu = [], torch.Tensor.__matmul__, L.LSE_BLOCK
    def spy(x, y): calls.append(tuple(x.shape)); return mm(x, y)
    try:
        L.LSE_BLOCK, torch.Tensor.__matmul__ = block, spy  # the [rows, N] logit blocks are `qa[r:r + rows] @ ca.T`
        loss = L.translation_alignment(z, e, torch.Generator().manual_seed(4), tau, blocked=True)
        dz, de = torch.autograd.grad(loss, (z, e))
    finally: L.LSE_BLOCK, torch.Tensor.__matmul__ = cpu, mm
    return loss, dz, de, calls


@pytest.mark.parametrize('tau', [1.0, 0.2, 0.002])  # 0.002: too wide a range for one shift (float64), the row maxima take over
def test_blocked_all_node_infonce_equals_dense(tau):
    "Values and gradients of the blocked translation term equal the dense one (float64, 1e-9), 7 rows a block of 101."
    g = torch.Generator().manual_seed(0)
    z, e = (torch.randn(101, 8, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    want = dense_translation(z, e, torch.Generator().manual_seed(4), tau)
    gz, ge = torch.autograd.grad(want, (z, e))
    got, hz, he, calls = blocked_translation(z, e, 7 * 101 + 3, tau)  # 7 rows per block: 101 = 14 x 7 + 3
    assert [r for r, k in calls if k == 10] == [7] * 14 + [3]  # 8 columns + the bias and shift columns
    assert abs(got.item() - want.item()) < 1e-9
    assert (hz - gz).abs().max() < 1e-9 and (he - ge).abs().max() < 1e-9


def test_blocked_all_node_infonce_never_allocates_n_by_n():
    "Forward and backward over N = 4000 nodes allocate nothing near N x N (128 MB in float64): the largest is one block."
    from torch.profiler import ProfilerActivity, profile
    from lmmrec_nb.losses import LSE_BLOCK, translation_alignment
    n, g = 4000, torch.Generator().manual_seed(0)
    z, e = (torch.randn(n, 32, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        translation_alignment(z, e, g, blocked=True).backward()
    biggest = max(ev.cpu_memory_usage for ev in prof.events() if ev.cpu_memory_usage > 0)
    block_bytes = (LSE_BLOCK // n) * n * 8
    assert biggest <= block_bytes < n * n * 8 // 10, (biggest, block_bytes)
    assert z.grad is not None and e.grad is not None


def test_gpu_blocks_give_the_cpu_blocks_loss_in_fewer_products():
    """The all-node translation term with a GPU's block size (LSE_BLOCK_GPU) on N = 3000 nodes: the loss and gradients
    of the CPU's blocks (float32, 1e-5 relative), in one block instead of nine."""
    import lmmrec_nb.losses as L
    n, g = 3000, torch.Generator().manual_seed(0)
    z, e = (torch.randn(n, 32, generator=g, requires_grad=True) for _ in range(2))
    *cpu, cpu_calls = blocked_translation(z, e, L.LSE_BLOCK)
    *gpu, gpu_calls = blocked_translation(z, e, L.LSE_BLOCK_GPU)
    n_cpu, n_gpu = (sum(k == 34 for _, k in calls) for calls in (cpu_calls, gpu_calls))  # 32 columns + bias and shift
    assert (n_cpu, n_gpu) == (math.ceil(n / L.lse_rows(n, 'cpu')), 1) == (9, 1)
    for a, b in zip(gpu, cpu): assert ((a - b).norm() / b.norm()).item() < 1e-5


def test_reference_bf16_precision_stays_within_its_stated_tolerance():
    """precision='bf16' (projector and InfoNCE products in bfloat16) against float32, same weights and noise, on a
    synthetic graph of realistic widths (d 32, text 64): every loss part within 1% and every parameter's gradient
    within 10% (relative norm; measured: 0.5-8%, the most in P_kd's first layer, where rows' gradients cancel) and
    pointing the same way (cosine >= 0.995); the float32 weights and gradients keep their dtype."""
    rng = np.random.default_rng(0)
    pairs = pd.DataFrame({'user': rng.integers(0, 60, 600), 'item': rng.integers(0, 80, 600)}).drop_duplicates()
    d = from_pairs('synthetic', list(range(60)), list(range(80)), {'train': pairs[40:], 'val': pairs[:20], 'test': pairs[20:40]})
    S = torch.nn.functional.normalize(torch.randn(140, 64, generator=torch.Generator().manual_seed(1)), dim=1)
    has, batch = torch.ones(140, dtype=torch.bool), tuple(torch.as_tensor(x) for x in (pairs.user.to_numpy()[40:296].copy(), pairs.item.to_numpy()[40:296].copy(), rng.integers(0, 80, 256)))
    def run(precision):
        seed_everything(0, dgl=False); bb = make_backbone('lightgcn', d, dim=32, seed=0, n_layers=2)
        m = LMMRec(bb, S, has, precision=precision, kd=0.1, pair=0.1, ta=0.1, itc=0.1)
        if precision == 'bf16': m.load_state_dict(ref.state_dict())
        total, parts = m.loss(batch); total.backward()
        return m, {k: v.item() for k, v in parts.items()}, {k: p.grad for k, p in m.named_parameters() if p.grad is not None}
    ref, want, gw = run('fp32')
    m16, got, gg = run('bf16')
    assert m16.S.dtype == torch.bfloat16 and m16.proj.net[0].weight.dtype == torch.float32
    assert set(got) == set(want) and all(abs(got[k] - want[k]) <= 1e-2 * abs(want[k]) for k in want), (got, want)
    assert set(gg) == set(gw)
    for k in gw:
        assert gg[k].dtype == torch.float32 and (gg[k] - gw[k]).norm() <= 0.1 * gw[k].norm(), k
        assert F.cosine_similarity(gg[k].flatten(), gw[k].flatten(), dim=0) >= 0.995, k
