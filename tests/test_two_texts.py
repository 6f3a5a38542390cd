"""Two texts per entity (DESIGN.md §1b): the profile for RLMRec-Con (P_kd), the motivations for coordination (P_int).

- `motivation_texts(d, kind=...)` gives what each kind says on the default dataset, and the profile for every kind
  on XRec-profiled data;
- `LMMRec(..., S_int=, has_int=)` routes kd to `S` and pair / ta / itc (and the teacher) to `S_int`, in both forms;
  without `S_int` the loss is the one-table loss, bit for bit;
- every text of every kind of the datasets the experiments train on is in the shipped vectors: nothing is encoded.
"""
import re
import numpy as np, pandas as pd, pytest, torch
from lmmrec_nb.backbones import make_backbone
from lmmrec_nb.core import seed_everything
from lmmrec_nb.data import from_pairs, load
from lmmrec_nb.extract import TEXT_KINDS, load_motivations, motivation_texts
from lmmrec_nb.lmmrec import LMMRec
from lmmrec_nb.text_encoder import EmbeddingCache, SentenceEncoder, embed_texts, shipped_vectors, text_key
from conftest import parameters_cells, EXPERIMENTS

DEFAULT, YELP = 'amazon-musical-instruments-2014', 'xrec-yelp-profiled'


@pytest.fixture(scope='module')
def kinds():
    "{kind: {'user': DataFrame, 'item': DataFrame}} of the default dataset."
    d = load(DEFAULT)
    return {k: motivation_texts(d, kind=k) for k in TEXT_KINDS}


# ---------------------------------------------------------------- the texts
def test_every_kind_covers_the_same_entities(kinds):
    "Every validated answer has a summary and at least one motivation: each kind has text for the same entities."
    m = load_motivations(progress=False)
    ok = {e: int((t.to_pandas().status == 'ok').sum()) for e, t in (('item', m.items), ('user', m.users))}
    assert ok == {'item': 899, 'user': 1429}  # the committed extraction: 1 of 900 items failed, no user did
    for k in TEXT_KINDS:
        for e in ('user', 'item'):
            assert len(kinds[k][e]) == ok[e], (k, e)
            assert kinds[k][e].id.tolist() == kinds['combined'][e].id.tolist()
            assert (kinds[k][e].text.str.strip() != '').all()


def test_combined_is_the_summary_then_the_motivations(kinds):
    for e in ('user', 'item'):
        c, s, m = (kinds[k][e].text for k in ('combined', 'summary', 'motivations'))
        assert (c == s + ' ' + m).all()


def test_a_summary_holds_no_motivation_and_the_motivations_no_summary(kinds):
    """Against the structured answers: the motivations text is their 'category: label' parts, and no summary holds one.

    (A summary may still say 'functional: ...' in its own words, as three of the committed ones do.)"""
    m = load_motivations(progress=False)
    for e, t in (('item', m.items), ('user', m.users)):
        rows = {r['id']: r for r in t.to_pandas().to_dict('records') if r['status'] == 'ok'}
        for i, s, mt in zip(kinds['summary'][e].id, kinds['summary'][e].text, kinds['motivations'][e].text):
            parts = [f"{x['category']}: {x['label'].strip()}" for x in rows[i]['motivations']]
            assert mt == '; '.join(parts).strip() and s == rows[i]['summary'].strip()
            assert not any(p in s for p in parts) and s not in mt, (s, mt)


def test_xrec_profiles_are_the_text_of_every_kind():
    d = load(YELP); base = motivation_texts(d)
    for k in TEXT_KINDS:
        t = motivation_texts(d, kind=k)
        for e in ('user', 'item'): pd.testing.assert_frame_equal(t[e], base[e])
    assert (len(base['user']), len(base['item'])) == (2228, 2473)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match='kind must be one of'): motivation_texts(load(YELP), kind='profile')


# ---------------------------------------------------------------- the model: which term reads which table
NU, NI, DT = 6, 7, 5
TRAIN = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 3), (2, 4), (2, 5), (3, 2), (3, 6), (4, 0), (4, 5), (5, 3), (5, 6), (2, 0)]
BATCH = (torch.tensor([0, 1, 2, 3, 4, 5, 0]), torch.tensor([1, 3, 4, 6, 5, 3, 2]), torch.tensor([3, 0, 1, 2, 6, 4, 5]))
WEIGHTS = dict(kd=0.5, pair=2.0, ta=3.0, itc=0.7, n_proto=3)  # large: any difference shows


@pytest.fixture(scope='module')
def toy():
    tr = pd.DataFrame(TRAIN, columns=['user', 'item'])
    va, te = pd.DataFrame([(0, 3), (1, 0)], columns=['user', 'item']), pd.DataFrame([(2, 1)], columns=['user', 'item'])
    return from_pairs('toy', list(range(NU)), list(range(NI)), {'train': tr, 'val': va, 'test': te})


def table(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(NU + NI, DT, generator=g), torch.ones(NU + NI, dtype=torch.bool)


def parts(toy, forms, S, has, **two):
    "The loss parts of a freshly built model (same seed: same weights, same edge dropout and noise)."
    seed_everything(3, dgl=False)
    m = LMMRec(make_backbone('lightgcn', toy, dim=4, seed=11), S, has, forms, **two, **WEIGHTS)
    m.train(); m.before_step()
    return {k: v.item() for k, v in m.loss(BATCH)[1].items()}


@pytest.mark.parametrize('forms', ['kit', 'reference'])
def test_one_table_given_twice_is_the_one_table_loss(toy, forms):
    S, has = table(1)
    assert parts(toy, forms, S, has) == parts(toy, forms, S, has, S_int=S.clone(), has_int=has.clone())


@pytest.mark.parametrize('forms', ['kit', 'reference'])
def test_kd_reads_S_and_every_other_term_reads_S_int(toy, forms):
    (S, has), (S_int, has_int) = table(1), table(2)
    base = parts(toy, forms, S, has, S_int=S_int, has_int=has_int)
    assert set(base) >= {'kd', 'pair', 'ta', 'itc'}
    S_moved = S + 0.5 * table(3)[0]
    other_prf = parts(toy, forms, S_moved, has, S_int=S_int, has_int=has_int)
    other_int = parts(toy, forms, S, has, S_int=S_moved, has_int=has_int)
    assert other_prf['kd'] != base['kd'] and other_int['kd'] == base['kd']
    for k in ('pair', 'ta', 'itc'): assert other_prf[k] == base[k] and other_int[k] != base[k], k
    for k in ('bpr', 'reg'): assert other_prf[k] == base[k] == other_int[k]


def test_each_table_has_its_own_mask(toy):
    "A node without motivation text is out of the coordination terms; a group without any skips them (kit), never kd."
    (S, has), (S_int, has_int) = table(1), table(2)
    has_int = has_int.clone(); has_int[NU:] = False; S_int = S_int.clone(); S_int[NU:] = 0  # no item has motivations
    p = parts(toy, 'kit', S, has, S_int=S_int, has_int=has_int)
    assert 'kd' in p and not {'pair', 'ta', 'itc'} & set(p)
    assert p['kd'] == parts(toy, 'kit', S, has, S_int=table(2)[0], has_int=table(2)[1])['kd']
    S_int, mask = table(2); mask = mask.clone(); mask[0] = False  # user 0 has no motivation text
    hidden = S_int.clone(); hidden[0] += 5  # so a change of its row changes nothing
    ref = parts(toy, 'reference', S, has, S_int=S_int, has_int=mask)
    assert ref == parts(toy, 'reference', S, has, S_int=hidden, has_int=mask)
    assert ref != parts(toy, 'reference', S, has, S_int=hidden, has_int=table(2)[1])


def test_S_int_needs_its_mask_and_one_row_per_node(toy):
    S, has = table(1)
    with pytest.raises(ValueError, match='give S_int and has_int together'):
        LMMRec(make_backbone('lightgcn', toy, dim=4), S, has, S_int=S)
    with pytest.raises(ValueError, match='one row per node'):
        LMMRec(make_backbone('lightgcn', toy, dim=4), S, has, S_int=S[:-1], has_int=has[:-1])


def test_two_texts_show_in_the_fingerprint_one_text_does_not(toy):
    S, has = table(1)
    assert 'texts' not in LMMRec(make_backbone('lightgcn', toy, dim=4), S, has).hp
    assert LMMRec(make_backbone('lightgcn', toy, dim=4), S, has, S_int=S, has_int=has).hp['texts'] == 'two'


# ---------------------------------------------------------------- the shipped vectors
class NoEncoding(SentenceEncoder):
    def encode(self, texts): raise AssertionError(f'{len(texts)} texts were not shipped, e.g. {list(texts)[:1]}')


@pytest.mark.parametrize('name', [DEFAULT, YELP])
def test_every_text_of_every_kind_is_shipped(name, tmp_path):
    d, frozen = load(name), shipped_vectors()
    texts = sorted({t for k in TEXT_KINDS for tab in motivation_texts(d, kind=k).values() for t in tab.text})
    missing = [t for t in texts if text_key(SentenceEncoder().model_id, t) not in frozen]
    assert not missing, f'{len(missing)} of {len(texts)} texts of {name} are not shipped'
    v = embed_texts(texts, NoEncoding(), EmbeddingCache(tmp_path, frozen=frozen))  # nothing encoded at run time
    assert v.shape == (len(texts), 384) and np.isfinite(v).all()


@pytest.mark.parametrize('nb', [p for p in EXPERIMENTS if p.stem in ('e02_lmmrec', 'e03_noise', 'e04_correspondence_weights')], ids=lambda p: p.stem)
def test_experiments_default_to_the_reference_forms_and_two_texts(nb):
    src = ''.join(parameters_cells(nb)[0]['source'])
    assert re.search(r'^FORMS = "reference"  # ', src, re.M) and re.search(r'^TEXTS = "two"  # ', src, re.M), src
