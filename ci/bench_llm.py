"""Benchmark of the LLM layer (not a test): in-process prompts/s, HTTP concurrency 1 vs 8, cache replay time.

Run: python ci/bench_llm.py [--prompts N]   (needs LMMREC_DATA_MIRROR or a cached default dataset)
The last line of output is one JSON object holding every figure printed.
"""
import argparse, json, os, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lmmrec_nb.data import load
from lmmrec_nb.extract import attempt_settings, item_requests, user_requests, extract_motivations, ARTIFACT
from lmmrec_nb.llm import LLM, LlamaCppBackend, OpenAIBackend, ReplayBackend, ResponseCache, cache_key
from lmmrec_nb.prompts import ITEM_PROMPT, USER_PROMPT

R = {}
def report(name, value, unit=''):
    R[name] = round(value, 4) if isinstance(value, float) else value
    print(f'{name:<44} {R[name]} {unit}', flush=True)


class Slow(BaseHTTPRequestHandler):
    """An OpenAI-compatible stub that answers every request after a fixed latency (an I/O-bound remote model)."""
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers['Content-Length'])); time.sleep(self.server.latency)
        data = json.dumps({'choices': [{'message': {'content': ITEM_PROMPT.example_answer}}]}).encode()
        self.send_response(200); self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(data)))
        self.end_headers(); self.wfile.write(data)


def timed(fn):
    t = time.perf_counter(); out = fn(); return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--prompts', type=int, default=6); ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    report('cpu_count', os.cpu_count()); report('load_avg_1min_at_start', os.getloadavg()[0])
    d = load(); reqs = item_requests(d)
    st = attempt_settings(0, ITEM_PROMPT)

    # 1. in-process llama.cpp (SmolLM2-135M), real item prompts, no cache
    b = LlamaCppBackend(n_threads=a.threads)
    b.complete(reqs[0].messages, {**st, 'max_tokens': 8})  # warm-up (loads weights into cache, caches the shared prefix)
    outs, t = timed(lambda: [b.complete(r.messages, st) for r in reqs[1:1 + a.prompts]])
    report('inprocess_prompts', a.prompts); report('inprocess_threads', a.threads)
    report('inprocess_prompts_per_s', a.prompts / t, 'prompts/s'); report('inprocess_s_per_prompt', t / a.prompts, 's')
    report('inprocess_answer_chars_mean', sum(map(len, outs)) / len(outs))

    # 2a. HTTP against xllamacpp's own server: concurrency 1 vs 8 (8 slots; on 2 cores expect little gain)
    b.close(); srv = LlamaCppBackend(n_threads=a.threads, n_parallel=8, n_ctx=2048)
    short = [([{'role': 'user', 'content': f'Name one reason to buy product number {k}.'}], {'temperature': 0, 'max_tokens': 24}) for k in range(8)]
    for c in (1, 8):
        with OpenAIBackend(srv.base_url, 'smollm2', max_concurrency=c) as h:
            h.complete_many(short[:1]); _, t = timed(lambda: h.complete_many(short))
        report(f'http_llamacpp_c{c}_prompts_per_s', len(short) / t, 'prompts/s')
    report('http_llamacpp_speedup_c8_vs_c1', R['http_llamacpp_c8_prompts_per_s'] / R['http_llamacpp_c1_prompts_per_s'], 'x')
    srv.close()

    # 2b. HTTP against a local stub with 0.2 s latency per answer (what a remote GPU server looks like to the client)
    s = ThreadingHTTPServer(('127.0.0.1', 0), Slow); s.daemon_threads = True; s.latency = 0.2
    threading.Thread(target=s.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    many = [(r.messages, st) for r in reqs[:32]]
    for c in (1, 8):
        with OpenAIBackend(f'http://127.0.0.1:{s.server_address[1]}/v1', 'stub', max_concurrency=c) as h:
            _, t = timed(lambda: h.complete_many(many))
        report(f'http_stub_c{c}_prompts_per_s', len(many) / t, 'prompts/s')
    report('http_stub_speedup_c8_vs_c1', R['http_stub_c8_prompts_per_s'] / R['http_stub_c1_prompts_per_s'], 'x')
    s.shutdown(); s.server_close()

    # 3. cache replay over the whole default dataset (900 items, then 1,429 users): a full-size cache with a fixed
    #    valid answer per prompt, replayed with no model, validation and tables included
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)/'full.jsonl'; model = 'bench-model'
        ires = [{'id': r.id, 'status': 'ok', 'summary': json.loads(ITEM_PROMPT.example_answer)['summary']} for r in reqs]
        ureqs = user_requests(d, ires); ust = attempt_settings(0, USER_PROMPT)
        with open(path, 'w') as f:
            for r, s_ in [(r, st) for r in reqs] + [(r, ust) for r in ureqs]:
                f.write(json.dumps({'key': cache_key(model, r.messages, s_), 'text': ITEM_PROMPT.example_answer}) + '\n')
        report('replay_cache_entries', len(reqs) + len(ureqs))
        m, t = timed(lambda: extract_motivations(d, LLM(ReplayBackend(model), ResponseCache(path, 'replay')), progress=False))
        report('replay_full_dataset_s', t, 's'); report('replay_entities', len(m.items) + len(m.users))
    art = ARTIFACT/'cache.jsonl.gz'
    if art.exists():
        (c, t) = timed(lambda: ResponseCache(art, 'replay')); report('artifact_entries', len(c)); report('artifact_open_s', t, 's')
    print(json.dumps(R))


if __name__ == '__main__':
    main()
