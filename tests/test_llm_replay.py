"""The committed motivation artifact replays with no model: every prompt it covers is answered from the cache."""
import json, os
from pathlib import Path
import pytest
from lmmrec_nb.extract import ARTIFACT, SMOLLM2_ID, attempt_settings, item_requests, load_motivations
from lmmrec_nb.llm import CacheMiss, LLM, ReplayBackend, ResponseCache, cache_key
from lmmrec_nb.prompts import ITEM_PROMPT

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


def test_replay_of_everything_the_artifact_covers(data):
    c = ResponseCache(CACHE, 'replay')
    st = attempt_settings(0, ITEM_PROMPT)
    have = [cache_key(SMOLLM2_ID, r.messages, st) in c for r in item_requests(data)]
    n = have.index(False) if False in have else len(have)
    assert n > 0 and not any(have[n:])                        # items were extracted in order: a prefix
    complete = n == data.n_items and (ARTIFACT/'summary.json').exists()
    m = load_motivations(data, users=complete, limit=None if complete else n, retries=2 if complete else 0, progress=False)
    assert len(m.items) == n
    assert all(s in ('ok', 'failed') for s in m.items['status'])
    failed = [r for r in m.items if r['status'] == 'failed']
    assert all(r['raw'] and r['reason'] for r in failed)       # failures keep raw text and a reason
    if complete:
        assert len(m.users) == data.n_users
        summ = {r['kind']: r for r in json.loads((ARTIFACT/'summary.json').read_text())}
        assert summ['item']['failures'] == len(failed)


def test_replay_miss_names_the_prompt(data):
    llm = LLM(ReplayBackend(SMOLLM2_ID), ResponseCache(CACHE, 'replay'))
    msgs = [{'role': 'user', 'content': 'a prompt nobody asked'}]
    with pytest.raises(CacheMiss, match="for prompt 'a prompt nobody asked'"):
        llm.ask(msgs, temperature=0)
