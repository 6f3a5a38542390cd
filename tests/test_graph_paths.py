"""The DGL message-passing path and the fast CSR path agree (embeddings and gradients) on random graphs and for every backbone."""
import numpy as np, pandas as pd, pytest, torch
from lmmrec_nb.data import from_pairs
from lmmrec_nb.graph import bipartite_graph, compare_paths, check_pairs, FastAdj, edge_weights, lightgcn_layers
from lmmrec_nb.backbones import BACKBONES, compare_impls, make_backbone


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    "One torch thread: on a shared 2-core machine oversubscribed OpenMP threads slow these kernels 10-20x."
    n = torch.get_num_threads(); torch.set_num_threads(1); yield; torch.set_num_threads(n)


def random_pairs(seed, nu=60, ni=45, per_user=5):
    rng = np.random.default_rng(seed)
    rows = [(u, i) for u in range(nu) for i in rng.choice(ni, per_user, replace=False)]
    return np.array(rows).T


def random_data(seed=0, nu=60, ni=45):
    u, i = random_pairs(seed, nu, ni)
    df = pd.DataFrame({'user': u, 'item': i}); lab = np.tile([0, 0, 0, 1, 2], nu)
    return from_pairs('rand', list(range(nu)), list(range(ni)), {s: df[lab == k] for k, s in enumerate(['train', 'val', 'test'])})


@pytest.mark.parametrize('self_loop', [False, True])
@pytest.mark.parametrize('keep', [1.0, 0.8, 0.3])
def test_paths_agree_on_random_graphs(self_loop, keep):
    u, i = random_pairs(1)
    g = bipartite_graph(u, i, 60, 45, self_loop=self_loop)
    d_emb, d_grad = compare_paths(g, dim=16, n_layers=3, keep_rate=keep, seed=3)
    assert d_emb < 1e-5 and d_grad < 1e-5


def test_backward_uses_the_transpose():
    "With dropped edges A is not symmetric: the fast path's gradient must be A^T g, as autograd on dense A gives."
    u, i = random_pairs(2)
    g = bipartite_graph(u, i, 60, 45); fa = FastAdj(g)
    w = edge_weights(g, 0.5, torch.Generator().manual_seed(0)); A, At = fa.pair(w)
    dense = A.to_dense(); assert (dense - dense.T).abs().max() > 0.01
    x = torch.randn(105, 8, requires_grad=True); c = torch.randn(105, 8)
    (sum(lightgcn_layers(x, 2, A=(A, At))) * c).sum().backward(); g_fast = x.grad.clone(); x.grad = None
    (sum([x, dense @ x, dense @ (dense @ x)]) * c).sum().backward()
    assert torch.allclose(g_fast, x.grad, atol=1e-5)


@pytest.mark.parametrize('name', list(BACKBONES))
def test_backbone_impls_agree(name):
    d = random_data()
    u, i = (torch.as_tensor(x) for x in d.pairs('train'))
    batch = (u[:50], i[:50], torch.randint(0, d.n_items, (50,), generator=torch.Generator().manual_seed(0)))
    assert compare_impls(BACKBONES[name], d, seed=1, batch=batch) < 1e-5


def test_graph_bad_input():
    with pytest.raises(ValueError, match='has no interactions'): bipartite_graph([], [], 3, 3)
    with pytest.raises(ValueError, match=r'item id\(s\) out of range 0..2'): bipartite_graph([0], [3], 3, 3)
    with pytest.raises(ValueError, match='duplicate'): bipartite_graph([0, 0], [1, 1], 3, 3)
    with pytest.raises(ValueError, match='users but'): check_pairs([0, 1], [0], 3, 3)


def test_dgl_path_refuses_cuda_tensors_clearly():
    g = bipartite_graph([0], [0], 1, 1)
    if not torch.cuda.is_available(): pytest.skip('no CUDA here')
    from lmmrec_nb.graph import propagate_dgl
    with pytest.raises(RuntimeError, match='CPU only'): propagate_dgl(g, torch.zeros(2, 2, device='cuda'))


def test_backbone_bad_input():
    d = random_data()
    with pytest.raises(ValueError, match='unknown backbone'): make_backbone('mf', d)
    with pytest.raises(ValueError, match="impl must be 'fast' or 'dgl'"): make_backbone('lightgcn', d, impl='sparse')
    m = make_backbone('lightgcn', d).eval()
    with pytest.raises(IndexError, match='user ids must be in'): m.score(torch.tensor([-1]))
