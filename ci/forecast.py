"""A forecast of LMMRec's cost for a catalogue of U users, I items and R training reviews, from what was measured here.

Run: python ci/forecast.py [--catalogue NAME=U,I,R ...] [--gen-tok-s 500 2000]   (needs LMMREC_DATA_MIRROR or a cache)
Measured inputs (each is printed and stored in ci/results/forecast.json):
- tokens per prompt and per answer: the default dataset's real item and user prompts, built by the pipeline's own
  `item_requests` / `user_requests` and rendered with the model's chat template, and its committed answers, counted
  with SmolLM2's tokenizer through llama.cpp's /tokenize (another model's tokenizer differs by tens of percent);
  attempts per entity from the committed extraction summary. Prompts are capped (3 reviews of 40 words; a user's 5
  items), so tokens grow with U + I, not with R.
- training and evaluation cost: ci/results/bench_scale.json (LightGCN, one CPU thread, 1e5..1e7 interactions).
The one input not measured here is a GPU server's generation rate (--gen-tok-s, output tokens per second per GPU,
prompt processing included): the GPU-hours are given for each rate asked for, and labelled as assumed.
The last line of output is one JSON object with every figure.
"""
import argparse, json, sys
from pathlib import Path
import httpx, numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from lmmrec_nb.data import load
from lmmrec_nb.extract import ARTIFACT, item_requests, load_motivations, user_requests
from lmmrec_nb.llm import LlamaCppBackend, ResponseCache

GPU_GIB = {'one 80 GB GPU': 80e9 / 2**30, 'one 141 GB GPU (H200)': 141e9 / 2**30}


def token_counts():
    "Mean prompt and answer tokens of the default dataset's item and user prompts (SmolLM2's tokenizer)."
    d = load(); m = load_motivations(d, users=False)  # replayed from the committed cache: no model
    items = item_requests(d)
    users = user_requests(d, m.items.select_columns(['id', 'status', 'summary']).to_list())
    answers = [r['text'] for r in ResponseCache(ARTIFACT / 'cache.jsonl.gz', 'replay').records.values()]
    with LlamaCppBackend() as b:
        base = b.base_url[:-len('/v1')]
        def n_tokens(text): return len(httpx.post(f'{base}/tokenize', json={'content': text}, timeout=60).json()['tokens'])
        def n_prompt(msgs):
            chat = httpx.post(f'{base}/apply-template', json={'messages': msgs}, timeout=60).json()['prompt']
            return n_tokens(chat)
        return dict(item_prompt=float(np.mean([n_prompt(r.messages) for r in items])),
                    user_prompt=float(np.mean([n_prompt(r.messages) for r in users])),
                    answer=float(np.mean([n_tokens(a) for a in answers])), prompts_counted=len(items) + len(users),
                    answers_counted=len(answers))


def attempts():
    "Mean attempts per item and per user prompt, from the committed extraction summary."
    rows = json.loads((ARTIFACT / 'summary.json').read_text())
    return {r['kind']: r['mean_attempts'] for r in rows}


def fits(bench:dict):
    "Power laws and the memory line of the LightGCN rows of bench_scale (one CPU thread)."
    rows = [r for r in bench['rows'] if r['model'] == 'lightgcn' and not r.get('timed_out')]
    R = np.array([r['R'] for r in rows], float)
    slope, icpt = np.polyfit(np.log(R), np.log([r['epoch_s'] for r in rows]), 1)
    out = {'epoch_s': (float(np.exp(icpt)), float(slope))}  # full ranking: the per-pair rate below, not a power law
    big = sorted(rows, key=lambda r: r['R'])[-2:]  # the large end: the per-pair rate and the memory line from there
    out['eval_s_per_user_item'] = big[1]['eval_all_users_s'] / (big[1]['users'] * big[1]['items'])  # cache-bound
    b = (big[1]['peak_rss_mib'] - big[0]['peak_rss_mib']) / (big[1]['R'] - big[0]['R'])
    out['rss_mib'] = (big[1]['peak_rss_mib'] - b * big[1]['R'], b)
    out['measured_R'] = (int(R.min()), int(R.max()))
    out['gpu_limit_R'] = {name: (gib * 1024 - out['rss_mib'][0]) / b for name, gib in GPU_GIB.items()}
    return out


def forecast(U:int, I:int, R:int, tok:dict, att:dict, f:dict, gen_rates:list):
    "One catalogue's forecast: extraction tokens and GPU-hours, training memory and time, full ranking."
    tin = I * att['item'] * tok['item_prompt'] + U * att['user'] * tok['user_prompt']
    tout = (I * att['item'] + U * att['user']) * tok['answer']
    a, b = f['rss_mib']; mem_gib = (a + b * R) / 1024
    c, k = f['epoch_s']
    out = dict(U=U, I=I, R=R, prompts=round(I * att['item'] + U * att['user']), input_tokens=tin, output_tokens=tout,
               train_memory_gib=mem_gib, cpu_epoch_h=c * R**k / 3600,
               cpu_full_ranking_h=f['eval_s_per_user_item'] * U * I / 3600,
               extrapolated=not f['measured_R'][0] <= R <= f['measured_R'][1])
    for g in gen_rates: out[f'gpu_hours_at_{g}_tok_s'] = tout / g / 3600
    for name, gib in GPU_GIB.items(): out[f'fits_{name}'] = mem_gib < gib
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--catalogue', nargs='+', default=[
        'RLMRec Amazon-book=11000,9332,120464', 'a small shop=100000,20000,1000000',
        'a shop=1000000,100000,10000000', 'a platform=10000000,1000000,100000000'], help='NAME=U,I,R')
    ap.add_argument('--gen-tok-s', nargs='+', type=float, default=[500, 2000],
                    help='ASSUMED output tokens/s of one GPU server (not measured here)')
    ap.add_argument('--out', default=str(ROOT / 'ci' / 'results' / 'forecast.json'))
    a = ap.parse_args()
    tok, att = token_counts(), attempts()
    bench = json.loads((ROOT / 'ci' / 'results' / 'bench_scale.json').read_text())
    f = fits(bench)
    print(f"measured: {tok['item_prompt']:.0f} tokens per item prompt, {tok['user_prompt']:.0f} per user prompt, "
          f"{tok['answer']:.0f} per answer (SmolLM2's tokenizer, {tok['prompts_counted']} prompts, {tok['answers_counted']} "
          f"answers); attempts per prompt {att}")
    print(f"bench_scale fits (LightGCN, 1 CPU thread, R in {f['measured_R']}): epoch {f['epoch_s'][0]:.3g} R^{f['epoch_s'][1]:.2f} s,"
          f" full ranking {f['eval_s_per_user_item']:.3g} s per (user, item), peak RSS {f['rss_mib'][0]:.0f} + "
          f"{f['rss_mib'][1] * 2**20:.0f} B x R; the point where one GPU no longer holds training: "
          + ', '.join(f'{k} at R = {v:.2g}' for k, v in f['gpu_limit_R'].items()))
    cats = {}
    for c in a.catalogue:
        name, nums = c.rsplit('=', 1); U, I, R = map(int, nums.split(','))
        cats[name] = forecast(U, I, R, tok, att, f, a.gen_tok_s)
        x = cats[name]
        print(f"{name}: {x['prompts']:,} prompts, {x['input_tokens'] / 1e6:,.1f}M in + {x['output_tokens'] / 1e6:,.1f}M out tokens; "
              f"train {x['train_memory_gib']:,.1f} GiB, CPU epoch {x['cpu_epoch_h']:,.2f} h, full ranking {x['cpu_full_ranking_h']:,.2f} h"
              + (' (extrapolated)' if x['extrapolated'] else ''))
    summary = dict(tokens=tok, attempts=att, fits=f, assumed_gen_tok_s=a.gen_tok_s, catalogues=cats,
                   machine='bench_scale: ' + bench['machine'])
    Path(a.out).write_text(json.dumps(summary, indent=1) + '\n')
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
