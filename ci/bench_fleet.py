"""Benchmark of the fleet client (not a test): requests/s of `OpenAIBackend` spread over 1, 2 and 3 servers.

Two kinds of server, the same short prompts:
- real: llama.cpp servers (SmolLM2-135M through xllamacpp, one thread and one slot each) on this machine. They
  share its CPU cores, so they measure the client's overhead and fail-over path, not GPU-style scaling: with
  fewer free cores than servers the throughput cannot grow, and the table says how many cores there were;
- stub: local OpenAI-compatible stubs that answer one request at a time, each after a fixed latency (what a
  remote server at capacity looks like to the client): this isolates the client's scaling over endpoints.

Run: python ci/bench_fleet.py [--prompts N] [--latency S]
Writes ci/results/bench_fleet.json; the last line of output is the same JSON object.
"""
import argparse, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from lmmrec_nb.llm import LlamaCppBackend, OpenAIBackend


class OneAtATime(BaseHTTPRequestHandler):
    "An OpenAI-compatible stub that serves one request at a time, each after `server.latency` seconds."
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers['Content-Length']))
        with self.server.one: time.sleep(self.server.latency)
        data = json.dumps({'choices': [{'message': {'content': '{"reason": "ok"}'}}]}).encode()
        self.send_response(200); self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data))); self.end_headers(); self.wfile.write(data)


def stub(latency):
    s = ThreadingHTTPServer(('127.0.0.1', 0), OneAtATime)
    s.daemon_threads, s.latency, s.one = True, latency, threading.Lock()
    threading.Thread(target=s.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    return s, f'http://127.0.0.1:{s.server_address[1]}/v1'


def rate(urls, requests, slots):
    "(requests/s, answers per endpoint) of one batch through a fleet of `urls`."
    with OpenAIBackend(urls, 'bench', max_concurrency=slots, max_retries=1) as b:
        t = time.perf_counter()
        out = b.complete_many(requests)
        dt = time.perf_counter() - t
        bad = [o for o in out if isinstance(o, Exception)]
        if bad: raise bad[0]
        return len(requests) / dt, list(b.fleet.served)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--prompts', type=int, default=12, help='real servers: requests per fleet size')
    ap.add_argument('--latency', type=float, default=0.2, help='stub: seconds per answer')
    ap.add_argument('--max-tokens', type=int, default=16)
    a = ap.parse_args()
    R = {'cpu_count': os.cpu_count(), 'load_avg_1min_at_start': round(os.getloadavg()[0], 2),
         'omp_num_threads': os.environ.get('OMP_NUM_THREADS'), 'prompts': a.prompts, 'max_tokens': a.max_tokens,
         'stub_latency_s': a.latency}
    reqs = [([{'role': 'user', 'content': f'Name one reason to buy product number {k}.'}],
             {'temperature': 0, 'max_tokens': a.max_tokens}) for k in range(a.prompts)]
    rows = []
    servers = [LlamaCppBackend(n_ctx=1024, n_threads=1, n_parallel=1) for _ in range(3)]
    urls = [s.base_url for s in servers]
    for u in urls: rate([u], reqs[:1], 1)  # warm-up: weights paged in, the chat template's prefix cached
    for k in (1, 2, 3):
        r, per = rate(urls[:k], reqs, 1)
        rows.append(('real', k, r, per))
    for s in servers: s.close()
    made = [stub(a.latency) for _ in range(3)]
    sreqs = [([{'role': 'user', 'content': f'p{k}'}], {}) for k in range(30)]
    for k in (1, 2, 3):
        r, per = rate([u for _, u in made[:k]], sreqs, 2)
        rows.append(('stub', k, r, per))
    for s, _ in made: s.shutdown(); s.server_close()

    print(f"{'servers':<8}{'kind':<6}{'requests/s':>12}{'x of 1':>8}  answers per server")
    for kind, k, r, per in rows:
        base = next(x for kk, n, x, _ in rows if kk == kind and n == 1)
        print(f'{k:<8}{kind:<6}{r:>12.2f}{r / base:>8.2f}  {per}')
        R[f'{kind}_{k}_servers_requests_per_s'] = round(r, 3)
        R[f'{kind}_{k}_servers_speedup'] = round(r / base, 2)
        R[f'{kind}_{k}_servers_answers_per_server'] = per
    R['load_avg_1min_at_end'] = round(os.getloadavg()[0], 2)
    R['note'] = (f'{os.cpu_count()} CPU cores shared by every llama.cpp server (1 thread each) and any other job running '
                 f'(load {R["load_avg_1min_at_start"]} at start): the real rows cannot scale past the free cores; '
                 'the stub rows (one request at a time per server, fixed latency) show the client spreading work')
    print(R['note'])
    out = ROOT / 'ci' / 'results' / 'bench_fleet.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(R, indent=1) + '\n')
    print(json.dumps(R))


if __name__ == '__main__':
    main()
