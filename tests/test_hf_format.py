"""Hugging Face formats: RecData as a DatasetDict folder, motivations as a datasets table with their metadata."""
import json
from pathlib import Path
import datasets, pytest
from huggingface_hub import DatasetCard
from conftest import ROOT
from lmmrec_nb.data import SPLITS, DataError, RecData, load, load_recdata, save_recdata
from lmmrec_nb.extract import ARTIFACT, SMOLLM2_ID, Motivations, load_motivations, load_saved_motivations


def same(a, b):
    "Two RecData hold the same name, ids, notes, splits, items and profiles."
    assert (a.name, a.user_ids, a.item_ids, a.notes) == (b.name, b.user_ids, b.item_ids, b.notes)
    for s in SPLITS:
        assert [x.tolist() for x in a.pairs(s)] == [x.tolist() for x in b.pairs(s)]
        assert a.splits[s].to_pandas().equals(b.splits[s].to_pandas())
    assert sorted(a.profiles) == sorted(b.profiles)
    for k in a.profiles: assert a.profiles[k].to_pandas().equals(b.profiles[k].to_pandas()), k
    assert (a.items is None) == (b.items is None)


@pytest.mark.parametrize('name', ['amazon-musical-instruments-2014', 'xrec-yelp-profiled'])
def test_recdata_round_trip(name, tmp_path):
    d = load(name)
    card = (ROOT / 'data_cards' / f'{name}.md').read_text()
    p = d.save_to_disk(tmp_path / 'out', card=card)
    same(RecData.load_from_disk(p), d)
    assert sorted(datasets.load_from_disk(str(p))) == sorted(SPLITS)  # datasets alone reads the splits
    assert DatasetCard.load(p / 'README.md').data.to_dict()['license'] == 'other'
    assert [q.name for q in tmp_path.iterdir()] == ['out']  # no temporary folder left
    if name == 'xrec-yelp-profiled': assert sorted(d.profiles) == ['item', 'pairs', 'user']


def test_recdata_overwrite_and_damage(tmp_path):
    d = load()
    p = save_recdata(d, tmp_path / 'x')
    save_recdata(d, p)  # replaces the folder whole
    assert sorted(q.name for q in tmp_path.iterdir()) == ['x']
    meta = p / 'recdata.json'
    good = meta.read_text()
    for text, msg in (('[1]', 'expected a JSON object'), (good.replace('"notes": {', '"notes": [{', 1), 'not readable JSON'),
                      (good.replace('lmmrec-recdata-v1', 'v0'), "format 'v0'"),
                      (json.dumps(json.loads(good) | {'profiles': ['/etc']}), "profile kind '/etc'"),
                      (json.dumps(json.loads(good) | {'user_ids': [[1]] * d.n_users}), 'not a string or an integer')):
        meta.write_text(text)
        with pytest.raises(DataError, match='recdata.json'): load_recdata(p)
        with pytest.raises(DataError, match=msg): load_recdata(p)
    meta.write_text(good)
    arrow = next((p / 'train').glob('*.arrow'))
    arrow.write_bytes(arrow.read_bytes()[:1000])
    with pytest.raises(DataError, match=r'x/train: not a readable datasets folder'): load_recdata(p)
    meta.unlink()
    with pytest.raises(DataError, match='recdata.json: missing'): load_recdata(p)


@pytest.mark.skipif(not (ARTIFACT / 'cache.jsonl.gz').exists(), reason='committed artifact not present')
def test_motivations_round_trip_on_artifact(tmp_path):
    m = load_motivations(progress=False)  # replay of the committed cache: no model
    assert m.meta['model_id'] == SMOLLM2_ID and m.meta['domain'] == 'music' and m.meta['dataset'] == 'amazon-musical-instruments-2014'
    assert m.meta['prompts'] == {'item-cot-v1': '5a2a3b60a655', 'user-cot-v1': 'bb056ad3432e'}
    p = m.save_to_disk(tmp_path / 'mot', card=(ARTIFACT / 'CARD.md').read_text())
    back = Motivations.load_from_disk(p)
    assert back.items.to_list() == m.items.to_list() and back.users.to_list() == m.users.to_list()
    assert back.summary.to_dict() == m.summary.to_dict()
    assert {k: v for k, v in back.meta.items() if k != 'format'} == m.meta
    assert json.loads(back.users.info.description)['prompts'] == m.meta['prompts']
    card = DatasetCard.load(p / 'README.md')
    assert card.data.lmmrec_motivations['model_id'] == SMOLLM2_ID and card.data.size_categories == ['1K<n<10K']
    assert '# Motivation cache' in card.text
    (p / 'metadata.json').write_text('{"format": "lmmrec-motivations-v1"}')
    with pytest.raises(DataError, match="metadata.json: 'summary'"): load_saved_motivations(p)
