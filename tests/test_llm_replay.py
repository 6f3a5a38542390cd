"""The committed motivation artifact replays with no model: every prompt it covers is answered from the cache."""
import json, os
from pathlib import Path
import pytest
from lmmrec_nb.extract import ARTIFACT, SMOLLM2_ID, load_motivations
from lmmrec_nb.llm import CacheMiss, LLM, ReplayBackend, ResponseCache

os.environ.setdefault('LMMREC_DATA_MIRROR', str(Path(__file__).resolve().parents[2]/'shared'/'data'))
CACHE = ARTIFACT/'cache.jsonl.gz'


@pytest.fixture(scope='module')
def data():
    from lmmrec_nb.data import load
    return load(download=False)


def test_artifact_is_small_and_has_no_prompts():
    assert CACHE.exists() and CACHE.stat().st_size < 5_000_000
    c = ResponseCache(CACHE, 'replay')
    assert len(c) > 0
    r = next(iter(c.records.values()))
    assert set(r) >= {'key', 'model', 'settings', 'text'} and 'messages' not in r  # review text is not redistributed
    assert {x['model'] for x in c.records.values()} == {SMOLLM2_ID}


def test_the_artifact_covers_the_whole_default_dataset(data):
    m = load_motivations(data, progress=False)  # replay only: a single missing prompt raises CacheMiss
    assert (len(m.items), len(m.users)) == (data.n_items, data.n_users)
    summ = {r['kind']: r for r in json.loads((ARTIFACT/'summary.json').read_text())}
    for kind, t in (('item', m.items), ('user', m.users)):
        assert all(s in ('ok', 'failed') for s in t['status'])
        failed = [r for r in t if r['status'] == 'failed']
        assert all(r['raw'] and r['reason'] for r in failed)   # failures keep raw text and a reason
        assert summ[kind]['failures'] == len(failed) and summ[kind]['entities'] == len(t)
        assert all(r['text'] for r in t if r['status'] == 'ok')


def test_replay_miss_names_the_prompt(data):
    llm = LLM(ReplayBackend(SMOLLM2_ID), ResponseCache(CACHE, 'replay'))
    msgs = [{'role': 'user', 'content': 'a prompt nobody asked'}]
    with pytest.raises(CacheMiss, match="for prompt 'a prompt nobody asked'"):
        llm.ask(msgs, temperature=0)
