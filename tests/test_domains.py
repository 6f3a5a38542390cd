"""Domain profiles (issue #13): no music words outside the music domain, the music prompts unchanged byte for byte,
per-domain prompt ids, a user's own domain file, `limit_items` = those items and their users, and partial text."""
import dataclasses, json, os, re
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from lmmrec_nb.data import REGISTRY, from_pairs, load
from lmmrec_nb.extract import (ARTIFACT, attempt_settings, dataset_domain, extract_motivations, item_requests, item_slice,
                               load_motivations, main, motivation_texts, text_coverage, user_requests)
from lmmrec_nb.llm import LLM, Backend, CacheMiss, ResponseCache, cache_key
from lmmrec_nb.prompts import (DOMAINS, ITEM_PROMPT, USER_PROMPT, PROMPTS, TAXONOMY, Domain, DomainError, format_reviews,
                               get_domain, load_domain, prompts_for)

os.environ.setdefault('LMMREC_DATA_MIRROR', str(Path(__file__).resolve().parents[2]/'shared'/'data'))

# The words of the issue, whole words, any case, with plurals; written out here, independent of `prompts.MUSIC_WORDS`.
MUSIC = re.compile(r'\b(?:music|musical|musician|guitar|band|tuner|gig|stage|song|instrument|sound|tone|rehearsal|pedal|concert)s?\b', re.I)
OLD_HASHES = {'item-cot-v1': '5a2a3b60a655', 'user-cot-v1': 'bb056ad3432e'}  # the prompts the committed artifact was made with


def music_in(requests):
    "Every music word in any message of `requests`, with the request it is in."
    return [(r.kind, r.raw_id, m.group(0)) for r in requests for msg in r.messages for m in MUSIC.finditer(msg['content'])]


# ---------------------------------------------------------------- data
@pytest.fixture(scope='module')
def default():
    return load(download=False)


@pytest.fixture(scope='module')
def yelp():
    """xrec-yelp-profiled with XRec's review-derived explanations as training review text (a review file of another domain).

    A pair whose own text mentions music (a café with live music) gets no text: the check is on what the prompts add."""
    d = load('xrec-yelp-profiled', download=False)
    p = d.profiles['pairs'].to_pandas().drop_duplicates(['user', 'item'])
    about_music = (p.explanation + ' ' + p.title).str.contains(MUSIC.pattern, flags=re.I, regex=True)
    p = p.assign(text=p.explanation.where(~about_music, ''), title=p.title.where(~about_music, ''))
    tr = d.splits['train'].to_pandas().merge(p[['user', 'item', 'text', 'title']], on=['user', 'item'], how='left')
    tr = tr.assign(text=tr.text.fillna(''), summary=tr.title.fillna(''), rating=5.0).drop(columns='title')
    assert (tr.text != '').sum() > 500  # real text on enough pairs
    return from_pairs(d.name, d.user_ids, d.item_ids, {**{s: d.splits[s].to_pandas() for s in ('val', 'test')}, 'train': tr})


class Steady(Backend):
    "Answers every prompt with a valid answer of the prompt's own domain (its worked example), and keeps what it was asked."
    model_id = 'steady'
    def __init__(self): self.asked = []
    def complete(self, messages, settings):
        self.asked.append(messages)
        return messages[2]['content']  # the worked example's answer: valid for that domain's schema


def toy():
    "Six users, five items; user u chose items u % 5 and (u + 1) % 5 in training."
    rows = [(u, (u + k) % 5, 4.0, 1000 + k, f'user {u} on item {(u + k) % 5}: handy and cheap', 'fine') for u in range(6) for k in range(4)]
    df = pd.DataFrame(rows, columns=['user', 'item', 'rating', 'time', 'text', 'summary'])
    parts = {'train': df[df.time < 1002], 'val': df[df.time == 1002], 'test': df[df.time == 1003]}
    return from_pairs('toy', [f'u{u}' for u in range(6)], [f'i{i}' for i in range(5)], parts)


# ---------------------------------------------------------------- (a) no music words on a non-music dataset
def test_the_registry_gives_the_yelp_data_the_local_business_domain(yelp):
    assert REGISTRY['xrec-yelp-profiled'].domain == REGISTRY['xrec-yelp'].domain == REGISTRY['rlmrec-yelp'].domain == 'local business'
    assert dataset_domain(yelp).name == 'local business'
    assert dataset_domain(dataclasses.replace(yelp, name='someone-elses-file')).name == 'generic'


@pytest.mark.parametrize('domain', ['local business', 'generic'])
def test_no_music_word_in_any_prompt_of_a_non_music_dataset(yelp, domain):
    items, users = item_slice(yelp, 300)
    ireq = item_requests(yelp, domain=domain, items=items)
    results = [{'id': r.id, 'status': 'ok' if k % 5 else 'failed', 'summary': 'People go there for good food at fair prices.'}
               for k, r in enumerate(ireq)]
    ureq = user_requests(yelp, results, domain=domain, users=users)
    assert len(ireq) == 300 and len(ureq) == len(users) > 300
    assert sum('Review 1 (5/5) "' in r.source and len(r.source) > 60 for r in ireq) > 100  # many prompts quote real text
    assert music_in(ireq + ureq) == []
    noun = DOMAINS[domain].noun
    assert all(r.messages[-1]['content'].startswith(f'Item: {noun} {r.raw_id}.\n') for r in ireq)
    assert all(f'- {noun} ' in r.messages[-1]['content'] for r in ureq)


def test_an_extraction_on_the_yelp_data_asks_no_music_word(yelp, tmp_path):
    """The whole pipeline with the dataset's registered domain: nothing the model is asked mentions music."""
    b = Steady()
    m = extract_motivations(yelp, LLM(b, ResponseCache(tmp_path/'c.jsonl')), limit_items=40, retries=0, progress=False)
    assert set(m.items['prompt_id']) == {'item-cot-v1-local-business'} and set(m.users['prompt_id']) == {'user-cot-v1-local-business'}
    assert len(b.asked) == len(m.items) + len(m.users) and set(m.items['status']) == {'ok'}
    assert [w.group(0) for msgs in b.asked for x in msgs for w in MUSIC.finditer(x['content'])] == []
    assert not any('sound' in c for t in (m.items, m.users) for ms in t['motivations'] for c in [x['category'] for x in ms])


# ---------------------------------------------------------------- (b) the music domain is the old prompts, byte for byte
def old_item_requests(d):
    "The item messages as the code before domains built them (its literal 'musical-instrument product {id}')."
    tr = d.splits['train'].to_pandas().sort_values(['item', 'time', 'user'], kind='stable')
    out = []
    for i, g in tr.groupby('item', sort=True):
        rows = g.to_dict('records')
        rng = np.random.default_rng([2023, int(i)])
        rev = format_reviews([rows[k] for k in sorted(rng.choice(len(rows), min(3, len(rows)), replace=False))], 40, 3)
        out.append(ITEM_PROMPT.render(item_desc=f'musical-instrument product {d.item_ids[i]}', reviews=rev))
    return out


def old_user_requests(d, item_results):
    "The user messages as the code before domains built them (its literal '- product {id}: ...')."
    summ = {r['id']: (r['summary'] if r['status'] == 'ok' else '(no motivation could be extracted)') for r in item_results}
    tr = d.splits['train'].to_pandas().sort_values(['user', 'time', 'item'], kind='stable')
    sample = lambda rows, k, rng: [rows[i] for i in sorted(rng.choice(len(rows), min(k, len(rows)), replace=False))]
    out = []
    for u, g in tr.groupby('user', sort=True):
        rng = np.random.default_rng([2023, int(u)])
        rows = g.to_dict('records')
        items = '\n'.join(f"- product {d.item_ids[r['item']]}: {summ.get(r['item'], '(not extracted)')}" for r in sample(rows, 5, rng))
        rev = format_reviews(sample(rows, 3, rng), 40, 3)
        out.append(USER_PROMPT.render(item_motivations=items, reviews=rev))
    return out


def test_the_music_prompts_are_the_old_ones():
    assert prompts_for(DOMAINS['music']) == (ITEM_PROMPT, USER_PROMPT) and TAXONOMY is DOMAINS['music'].taxonomy
    assert {k: p.hash for k, p in PROMPTS.items()} == OLD_HASHES  # the hash covers id, system, template, examples, schema
    assert ITEM_PROMPT.system == 'You read product reviews and explain why people choose things. You answer with one JSON object only.'
    assert ITEM_PROMPT.example_user.startswith('Product: a clip-on guitar tuner.\nReview 1 (5/5) "Saves my gigs": I play in a cover band')
    assert USER_PROMPT.example_user.startswith('Items this person chose and why people usually choose them:\n- a clip-on tuner: ')


def test_the_default_dataset_messages_are_byte_identical(default):
    assert dataset_domain(default).name == 'music'
    new_items = item_requests(default)
    assert [r.messages for r in new_items] == old_item_requests(default)
    results = [{'id': i, 'status': 'failed' if i % 7 == 0 else 'ok', 'summary': f'People buy item {i} for a reason.'}
               for i in range(default.n_items) if i % 11]  # some failed, some never extracted
    assert [r.messages for r in user_requests(default, results)] == old_user_requests(default, results)
    # and so the committed artifact answers every first attempt of the item run
    cache = ResponseCache(ARTIFACT/'cache.jsonl.gz', 'replay')
    st = attempt_settings(0, ITEM_PROMPT)
    assert all(cache_key('SmolLM2-135M-Instruct.Q4_1.gguf', r.messages, st) in cache for r in new_items)


# ---------------------------------------------------------------- (c) ids and hashes per domain
def test_prompt_ids_and_hashes_differ_across_domains():
    assert set(DOMAINS) >= {'music', 'books', 'local business', 'generic'}
    prompts = [p for d in DOMAINS.values() for p in prompts_for(d)]
    assert len({p.id for p in prompts}) == len({p.hash for p in prompts}) == 2 * len(DOMAINS)
    assert [p.id for p in prompts_for(DOMAINS['local business'])] == ['item-cot-v1-local-business', 'user-cot-v1-local-business']
    for name, d in DOMAINS.items():
        item, user = prompts_for(d)
        assert item.schema['properties']['motivations']['items']['properties']['category']['enum'] == list(d.taxonomy)
        if name != 'music':
            assert 'sound' not in d.taxonomy and not MUSIC.search(json.dumps(d.taxonomy))
            assert not MUSIC.search(item.system + item.template + item.example_user + item.example_answer + user.example_user + user.example_answer)


# ---------------------------------------------------------------- (d) a user's own domain
def own_spec():
    return {**dataclasses.asdict(DOMAINS['generic']), 'name': 'garden tools', 'noun': 'garden tool'}


def test_an_own_domain_file_loads_and_is_used(tmp_path, default):
    f = tmp_path/'garden.json'
    f.write_text(json.dumps(own_spec()))
    dom = load_domain(f)
    assert isinstance(dom, Domain) and get_domain(str(f)) == dom and dataset_domain(default, f) == dom
    assert [p.id for p in prompts_for(dom)] == ['item-cot-v1-garden-tools', 'user-cot-v1-garden-tools']
    r = item_requests(default, domain=f, items=[0])[0]
    assert r.messages[-1]['content'].startswith(f'Item: garden tool {default.item_ids[0]}.\n')


@pytest.mark.parametrize('text, problem', [
    ('{"name": "garden tools", "noun": ', 'not JSON'),
    ('print("hello")', 'not JSON'),  # read as data: nothing is run
    (json.dumps([own_spec()]), 'expected an object'),
    (json.dumps({k: v for k, v in own_spec().items() if k != 'taxonomy'}), "missing field 'taxonomy'"),
    (json.dumps({**own_spec(), 'noun': 3}), 'noun must be a string, not a number'),
    (json.dumps({**own_spec(), 'taxonomy': 'functional, price_value'}), 'taxonomy must be an object, not a string'),
    (json.dumps({**own_spec(), 'taxonomy': {}}), 'taxonomy is empty'),
    (json.dumps({**own_spec(), 'taxonomy': {'Price Value': 'cost'}}), "category 'Price Value'"),
    (json.dumps({**own_spec(), 'colour': 'green'}), "unknown field 'colour'"),
    (json.dumps({**own_spec(), 'item_example': {'desc': 'a rake', 'reviews': 'Review 1 (5/5) "ok": fine'}}), "item_example: missing field 'answer'"),
    (json.dumps({**own_spec(), 'taxonomy': {'value': 'cost'}}), 'item_example.answer: schema: motivations[0].category'),
    (json.dumps({**own_spec(), 'name': 'music'}), "name 'music' is a built-in domain"),
])
def test_a_damaged_domain_file_names_the_file_and_the_problem(tmp_path, text, problem):
    f = tmp_path/'mine.json'
    f.write_text(text)
    with pytest.raises(DomainError) as e: load_domain(f)
    assert str(e.value).startswith(f'{f}: ') and problem in str(e.value), str(e.value)


def test_an_unknown_domain_name_lists_the_known_ones():
    with pytest.raises(DomainError, match="unknown domain 'cars'.*'local business'"): get_domain('cars')
    with pytest.raises(DomainError, match='nowhere.json: cannot read it'): get_domain('nowhere.json')


# ---------------------------------------------------------------- (e) limit_items: those items and their users
def test_limit_items_gives_exactly_the_users_of_those_items(default, tmp_path):
    b = Steady()
    m = extract_motivations(default, LLM(b, ResponseCache(tmp_path/'c.jsonl')), limit_items=3, retries=0, progress=False)
    tr = default.splits['train'].to_pandas()
    assert list(m.items['id']) == [0, 1, 2]  # the first items by index
    assert list(m.users['id']) == sorted(tr[tr.item.isin([0, 1, 2])].user.unique().tolist())
    assert len(b.asked) == len(m.items) + len(m.users) and item_slice(default, 3) == ([0, 1, 2], list(m.users['id']))
    with pytest.warns(DeprecationWarning, match='limit_items'):
        old = extract_motivations(default, LLM(b, ResponseCache(tmp_path/'c.jsonl')), limit=3, retries=0, progress=False)
    assert list(old.users['id']) == list(m.users['id'])


def test_the_command_line_takes_a_domain_and_limit_items(tmp_path, capsys):
    m = main(cache=str(tmp_path/'c.jsonl'), backend='replay:nobody', domain='generic', limit_items=2, no_users=True, retries=0)
    out = capsys.readouterr().out
    assert "amazon-musical-instruments-2014: domain 'generic', prompts item-cot-v1-generic, user-cot-v1-generic" in out
    assert list(m.items['prompt_id']) == ['item-cot-v1-generic'] * 2 and list(m.items['status']) == ['failed'] * 2  # replay has no model


# ---------------------------------------------------------------- (f) partial text
def test_a_partial_cache_gives_the_texts_it_has_and_the_coverage(tmp_path, capsys):
    d, cache = toy(), tmp_path/'c.jsonl'
    part = extract_motivations(d, LLM(Steady(), ResponseCache(cache)), limit_items=2, progress=False)
    assert list(part.items['id']) == [0, 1] and list(part.users['id']) == [0, 1, 4, 5]
    capsys.readouterr()
    t = motivation_texts(d, cache, model_id='steady')
    assert text_coverage(d, t) == {'item': (2, 5), 'user': (4, 6)}
    assert t['item'].id.tolist() == [0, 1] and t['user'].id.tolist() == [0, 1, 4, 5] and all(t['user'].text)
    assert capsys.readouterr().out.strip() == 'toy: items with text 2/5, users with text 4/6; not in the cache: 3 items, 2 users'
    m = load_motivations(d, cache, model_id='steady', missing='skip', progress=False)
    assert list(m.items['status']) == ['ok', 'ok', 'missing', 'missing', 'missing']
    assert m.summary.loc['item', 'missing'] == 3 and m.summary.loc['item', 'entities'] == 2
    with pytest.raises(CacheMiss, match='replay: no cached answer'): motivation_texts(d, cache, model_id='steady', missing='error')
    with pytest.raises(ValueError, match='missing must be one of'): load_motivations(d, cache, model_id='steady', missing='maybe')


def test_an_answer_lost_from_the_cache_costs_its_entity_and_the_users_whose_prompt_showed_it(tmp_path, capsys):
    d, cache = toy(), tmp_path/'c.jsonl'
    extract_motivations(d, LLM(Steady(), ResponseCache(cache)), progress=False)
    assert text_coverage(d, motivation_texts(d, cache, model_id='steady')) == {'item': (5, 5), 'user': (6, 6)}
    assert capsys.readouterr().out == ''  # complete: nothing to report
    keep = [l for l in cache.read_text().splitlines() if not json.loads(l)['messages'][-1]['content'].startswith('Item: item i3.')]
    cache.write_text('\n'.join(keep) + '\n')
    t = motivation_texts(d, cache, model_id='steady')
    assert t['item'].id.tolist() == [0, 1, 2, 4]
    assert t['user'].id.tolist() == [0, 1, 4, 5]  # users 2 and 3 chose item 3: their prompts now say '(not extracted)'


def test_the_committed_artifact_is_complete_so_nothing_is_reported(default, capsys):
    t = motivation_texts(default)
    assert capsys.readouterr().out == ''
    assert text_coverage(default, t) == {'item': (899, 900), 'user': (1429, 1429)}  # one item's answer never validated
