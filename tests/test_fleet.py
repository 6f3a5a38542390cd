"""Extraction over a fleet of OpenAI-compatible servers, sharded, with one server killed mid-run; merging caches.

Two real llama.cpp servers (SmolLM2-135M through xllamacpp, one thread each) run in their own processes, so that
one can be SIGKILLed mid-run; each is a small HTTP front over xllamacpp's chat handler that logs every request it
receives (a hash of the body), so the test counts what each server was asked. A third endpoint is a stub that
answers 503 to everything. Answers are cut at 4 tokens: every item answer is invalid, so every user prompt is
fully determined and the sharded run must ask exactly the prompts of an unsharded single-server run.
"""
import hashlib, json, os, signal, subprocess, sys, textwrap, threading, time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import pandas as pd, pytest
from lmmrec_nb import cli
from lmmrec_nb.data import from_pairs
from lmmrec_nb.extract import GEN, extract_motivations, shard_of
from lmmrec_nb.llm import LLM, LLMError, OpenAIBackend, ResponseCache, merge_caches

ROOT = Path(__file__).resolve().parents[1]
SERVER = textwrap.dedent('''
    import hashlib, json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from lmmrec_nb.llm import LlamaCppBackend
    llama, log = LlamaCppBackend(n_ctx=2048, n_parallel=1, n_threads=1), open(sys.argv[1], 'a', buffering=1)
    class Front(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def log_message(self, *a): pass
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
            log.write(hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16] + '\\n')
            out = llama._server.handle_chat_completions({k: v for k, v in body.items() if k != 'model'})
            data = json.dumps(out).encode()
            self.send_response(500 if 'error' in out else 200)
            self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(data)))
            self.end_headers(); self.wfile.write(data)
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Front); srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
''')


def lines(p): return Path(p).read_text().splitlines() if Path(p).exists() else []


@pytest.fixture(scope='module')
def servers(tmp_path_factory):
    "Two llama.cpp servers in their own processes: [(process, base URL, request log)]."
    tmp, out = tmp_path_factory.mktemp('servers'), []
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
    procs = [subprocess.Popen([sys.executable, '-c', SERVER, str(tmp / f'log{k}')], stdout=subprocess.PIPE, text=True,
                              env=env) for k in range(2)]
    try:
        for k, p in enumerate(procs):
            port = p.stdout.readline().strip()
            assert port.isdigit(), f'server {k} did not start (exit code {p.poll()})'
            out.append((p, f'http://127.0.0.1:{port}/v1', tmp / f'log{k}'))
        yield out
    finally:
        for p in procs:
            if p.poll() is None: p.kill()
            p.wait(timeout=30)


class Stub(BaseHTTPRequestHandler):
    "An OpenAI-compatible stub: 503 to everything (`down`), or a fixed answer after 20 ms; counts calls and concurrency."
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_POST(self):
        s = self.server
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        with s.lock:
            s.calls.append(body['messages'][-1]['content'])
            s.inflight += 1; s.max_inflight = max(s.max_inflight, s.inflight)
        time.sleep(0.02)
        code, out = (503, {'error': 'overloaded'}) if s.down else (200, {'choices': [{'message': {'content': 'ok'}}]})
        data = json.dumps(out).encode()
        with s.lock: s.inflight -= 1
        self.send_response(code); self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data))); self.end_headers(); self.wfile.write(data)


@pytest.fixture
def stubs():
    "A factory of stub servers (down=True: 503 to everything), shut down after the test."
    made = []
    def make(down=False):
        s = ThreadingHTTPServer(('127.0.0.1', 0), Stub)
        s.daemon_threads, s.lock, s.calls, s.inflight, s.max_inflight, s.down = True, threading.Lock(), [], 0, 0, down
        threading.Thread(target=s.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
        s.url = f'http://127.0.0.1:{s.server_address[1]}/v1'
        made.append(s)
        return s
    yield make
    for s in made: s.shutdown(); s.server_close()


def toy():
    "Four users, five items; each user reviewed all five (three in training)."
    nu, ni = 4, 5
    rows = [(u, (u * 3 + k) % ni, 4.0, 1000 + k, f'user {u} likes item {(u * 3 + k) % ni} for practice', 'fine')
            for u in range(nu) for k in range(5)]
    df = pd.DataFrame(rows, columns=['user', 'item', 'rating', 'time', 'text', 'summary'])
    parts = {'train': df[df.time < 1003], 'val': df[df.time == 1003], 'test': df[df.time == 1004]}
    return from_pairs('toy', [f'u{u}' for u in range(nu)], [f'i{i}' for i in range(ni)], parts)


def test_sharded_fleet_with_a_server_killed(servers, stubs, tmp_path):
    d, gen, kw = toy(), {**GEN, 'max_tokens': 4}, dict(retries=0, progress=False)
    (p1, url1, log1), (p2, url2, log2) = servers
    # the reference: one server, one job
    with OpenAIBackend(url1, 'smollm2', max_concurrency=2, max_retries=1, backoff=0.01) as one:
        extract_motivations(d, LLM(one, ResponseCache(tmp_path / 'ref.jsonl')), gen=gen, **kw)
    ref = ResponseCache(tmp_path / 'ref.jsonl', 'replay').records
    assert len(ref) == d.n_items + d.n_users == len(lines(log1))
    before = {1: len(lines(log1)), 2: len(lines(log2))}

    # the fleet: a stub that answers 503, server 1, server 2 (killed during the users' pass); two shards, two passes
    down = stubs(down=True)
    fleet = OpenAIBackend([down.url, url1, url2], 'smollm2', max_concurrency=2, max_retries=1, backoff=0.01, cooldown=600)
    own, merged = [tmp_path / f'shard-{i}-of-2.jsonl' for i in range(2)], tmp_path / 'merged.jsonl'
    for i in range(2): extract_motivations(d, LLM(fleet, ResponseCache(own[i])), users=False, shard=(i, 2), gen=gen, **kw)
    merge_caches(merged, own)
    start = len(lines(log2))
    def kill():  # as soon as server 2 has a user prompt in hand
        while len(lines(log2)) == start and p2.poll() is None: time.sleep(0.01)
        p2.send_signal(signal.SIGKILL)
    killer = threading.Thread(target=kill); killer.start()
    for i in range(2): extract_motivations(d, LLM(fleet, ResponseCache(own[i], also=[merged])), shard=(i, 2), gen=gen, **kw)
    killer.join(timeout=60)
    assert p2.wait(timeout=30) == -signal.SIGKILL
    assert merge_caches(merged, own)['records'] == len(ref)

    # the merged cache holds exactly the single-server run's keys, every answer valid JSON text from a model
    keys = [json.loads(l)['key'] for l in lines(merged)]
    assert len(keys) == len(set(keys)) and set(keys) == set(ref)  # one line per key
    assert all(r['text'].startswith('{') for r in ResponseCache(merged, 'replay').records.values())
    # nothing asked twice: the live servers saw every prompt at most once, and a prompt also sent to server 2 is one
    # it held when it was killed (at most its two slots)
    asked1, asked2 = lines(log1)[before[1]:], lines(log2)[before[2]:]
    assert max(Counter(asked1).values()) == 1 and max(Counter(asked2).values()) == 1
    assert len(set(asked1) & set(asked2)) <= 2 and len(set(asked1) | set(asked2)) == len(ref)
    assert len(asked2) >= 1 and fleet.fleet.failures[2] >= 1 and fleet.fleet.failures[0] >= 1  # both were taken out
    assert fleet.fleet.live() == [1] and len(down.calls) == 2 * fleet.fleet.failures[0]  # 503 twice per request
    # a second run asks nothing: every answer is in the merged cache
    n = len(lines(log1))
    llm = LLM(fleet, ResponseCache(merged))
    extract_motivations(d, llm, gen=gen, **kw)
    assert len(lines(log1)) == n and llm.stats['misses'] == 0 and llm.stats['hits'] == len(ref)
    fleet.close()


def test_per_endpoint_concurrency_and_the_cache(stubs, tmp_path):
    a, b = stubs(), stubs()
    fleet = OpenAIBackend(f'{a.url}, {b.url}', 'stub', max_concurrency=2, backoff=0.01)
    llm = LLM(fleet, ResponseCache(tmp_path / 'c.jsonl'))
    reqs = [([{'role': 'user', 'content': f'prompt {k}'}], {'temperature': 0}) for k in range(20)]
    assert llm.ask_many(reqs) == ['ok'] * 20
    assert a.max_inflight <= 2 and b.max_inflight <= 2 and len(a.calls) > 0 and len(b.calls) > 0
    assert sorted(a.calls + b.calls) == sorted(f'prompt {k}' for k in range(20))  # each asked once, somewhere
    assert llm.ask_many(reqs[5:15]) == ['ok'] * 10 and len(a.calls) + len(b.calls) == 20  # the cache answers


def test_every_endpoint_down_is_a_clear_error(stubs):
    down = stubs(down=True)
    dead = 'http://me:hunter2@127.0.0.1:9/v1'
    with OpenAIBackend([down.url, dead], 'm', max_retries=1, backoff=0.01, cooldown=600) as f:
        with pytest.raises(LLMError) as e: f.complete([{'role': 'user', 'content': 'hello'}], {})
        msg = str(e.value)
        assert 'no endpoint of 2 could answer' in msg and f'{down.url} gave up after 2 attempts: last error HTTP 503' in msg
        assert 'http://me:***@127.0.0.1:9/v1 gave up after 1 attempt: last error ConnectError' in msg
        assert 'hunter2' not in msg and 'hunter2' not in repr(f)
        with pytest.raises(LLMError, match='is cooling down, gave up after 2 attempts'):  # the next request: no endpoint live
            f.complete([{'role': 'user', 'content': 'again'}], {})
        assert len(down.calls) == 2  # the second request did not knock again


def test_base_urls_from_a_file_and_the_environment(stubs, tmp_path, monkeypatch):
    a, b = stubs(), stubs()
    (tmp_path / 'urls.txt').write_text(f'# two servers\n{a.url}\n\n{b.url}/\n')
    with OpenAIBackend(str(tmp_path / 'urls.txt'), 'm') as f: assert f.base_urls == [a.url, b.url]
    monkeypatch.setenv('LMMREC_LLM_BASE_URL', f'{a.url},{b.url}')
    monkeypatch.setenv('LMMREC_LLM_MODEL', 'm')
    with OpenAIBackend() as f:
        assert f.fleet.n == 2
        assert f.complete_many([([{'role': 'user', 'content': str(k)}], {}) for k in range(4)]) == ['ok'] * 4


def write(p, *recs): Path(p).write_text(''.join(json.dumps(r) + '\n' for r in recs)); return Path(p)


def test_merge_is_idempotent_and_refuses_conflicts(tmp_path):
    a = write(tmp_path / 'a.jsonl', {'key': 'k1', 'text': '1'}, {'key': 'k2', 'text': '2'})
    b = write(tmp_path / 'b.jsonl', {'key': 'k2', 'text': '2'}, {'key': 'k3', 'text': '3'})
    out = tmp_path / 'out.jsonl'
    assert merge_caches(out, [a, b]) == {'records': 3, 'written': True, 'torn_tails': 0}
    first, mtime = out.read_bytes(), out.stat().st_mtime_ns
    for ins in ([a, b], [b, a], [out], [out, a]): assert merge_caches(out, ins)['written'] is False
    assert out.read_bytes() == first and out.stat().st_mtime_ns == mtime
    assert [json.loads(l)['key'] for l in first.decode().splitlines()] == ['k1', 'k2', 'k3']
    c = write(tmp_path / 'c.jsonl', {'key': 'k4', 'text': '4'}, {'key': 'k2', 'text': 'two'})
    with pytest.raises(LLMError, match=f'{c}: line 2 answers key k2 differently from {out}: line 2'): merge_caches(out, [c])
    with pytest.raises(LLMError, match=f'{c}: line 2 answers key k2 differently from {a}: line 2'):
        merge_caches(tmp_path / 'new.jsonl', [a, c])
    assert not (tmp_path / 'new.jsonl').exists() and out.read_bytes() == first  # a refused merge writes nothing
    d = tmp_path / 'd.jsonl'; d.write_text('{"key": "k5", "text": "5"}\n{"key": "k6", "text": 6}\n')
    with pytest.raises(LLMError, match=f"{d}: line 2 has a 'text' that is int"): merge_caches(out, [d])
    with pytest.raises(FileNotFoundError): merge_caches(out, [tmp_path / 'missing.jsonl'])


def test_cli_shards_and_merge(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('LMMREC_CACHE', str(tmp_path / 'cache'))
    assert cli.shard_cache('cafes', '1/3').name == 'responses.shard-1-of-3.jsonl'
    a = write(tmp_path / 'a.jsonl', {'key': 'k1', 'text': '1'})
    b = write(tmp_path / 'b.jsonl', {'key': 'k1', 'text': 'one'})
    cli.main(['merge-caches', str(tmp_path / 'm.jsonl'), str(a)])
    assert json.loads(capsys.readouterr().out) == {'records': 1, 'written': True, 'torn_tails': 0}
    for argv, says in [(['merge-caches', str(tmp_path / 'm.jsonl'), str(b)], f'{b}: line 1 answers key k1 differently'),
                       (['extract', 'nobody', '--shard', '3/3'], "shard '3/3': need 0 <= i < n")]:
        with pytest.raises(SystemExit) as e: cli.main(argv)
        assert e.value.code == 2 and says in capsys.readouterr().err, argv


def test_shards_partition_the_entities():
    ids = [f'B{k:08d}' for k in range(1000)]
    for n in (1, 2, 7):
        parts = Counter(shard_of(x, n) for x in ids)
        assert sorted(parts) == list(range(n)) and sum(parts.values()) == 1000 and min(parts.values()) > 1000 / n / 2
    # stable: the hash is sha256 of the id, not Python's per-process hash
    assert shard_of('B00000001', 7) == int.from_bytes(hashlib.sha256(b'B00000001').digest()[:8], 'big') % 7
