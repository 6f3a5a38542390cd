"""The LLM layer against hostile servers and damaged files (issue #10): nothing paid for is lost, no secret leaks.

Each test is one thing that was tried. Servers are local stubs on 127.0.0.1, each bounded to a few seconds.
"""
import base64, gzip, json, os, re, subprocess, threading, time, warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import pandas as pd
import pytest
import lmmrec_nb.llm as llm_mod
from lmmrec_nb.llm import LLM, Backend, LLMError, OpenAIBackend, ResponseCache, cache_key
from lmmrec_nb.prompts import ITEM_PROMPT, format_reviews
from lmmrec_nb.extract import Request, run_requests, user_requests

KEY = 'sk-hostile-5f3a9c1e7b2d'
URL_SECRET = 'pw-in-url-8d1c'
ANSWER = ITEM_PROMPT.example_answer
MiB = 1 << 20


# ---------------------------------------------------------------- a stub server whose behaviour is set per test
class Hostile(BaseHTTPRequestHandler):
    """Calls `server.behave(handler, body)`; counts requests."""
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def send(self, code, body, ctype='application/json'):
        data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        with self.server.lock: self.server.calls += 1
        try: self.server.behave(self, body)
        except (BrokenPipeError, ConnectionResetError): pass


def chat(content, **message):
    """A chat-completions response body whose message content is `content`."""
    return {'choices': [{'message': {'role': 'assistant', 'content': content, **message}}]}


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Hostile)
    srv.daemon_threads, srv.lock, srv.calls, srv.stop = True, threading.Lock(), 0, threading.Event()
    srv.behave = lambda h, body: h.send(200, chat(ANSWER))
    srv.url = f'http://127.0.0.1:{srv.server_address[1]}/v1'
    t = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
    t.start()
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


def backend(url, **kw):
    kw = {'max_retries': 2, 'backoff': 0.01, 'max_backoff': 0.02, 'timeout': 5.0, 'api_key': KEY, **kw}
    return OpenAIBackend(url, 'stub-model', **kw)


def msgs(text='Why buy a tuner?'): return [{'role': 'user', 'content': text}]


def toy_requests(n=2):
    """`n` item requests with the item prompt."""
    return [Request('item', k, str(k), ITEM_PROMPT.render(item_desc=f'product {k}', reviews='r'), 'r') for k in range(n)]


def everything_stored(tmp_path, results=()):
    """All text the kit wrote to disk or recorded in results."""
    files = ''.join(p.read_text(errors='replace') for p in tmp_path.rglob('*') if p.is_file())
    return files + json.dumps(list(results))


# ---------------------------------------------------------------- 1. the API key
@pytest.mark.parametrize('pad', [0, 260])
def test_a_401_that_echoes_the_key_does_not_put_it_in_the_error(server, pad):
    """A 401 body that echoes the Authorization header (at the start, or across the 300-character cut) is redacted."""
    server.behave = lambda h, body: h.send(401, {'error': '.' * pad + f"bad credentials {h.headers['Authorization']}"})
    with backend(server.url) as b:
        with pytest.raises(LLMError, match='HTTP 401') as e: b.complete(msgs(), {})
    assert KEY not in str(e.value) and KEY[:6] not in str(e.value)


def test_an_echoed_key_is_not_recorded_in_extraction_results(server, tmp_path):
    """run_requests records failure reasons: an echoed key (with or without 'Bearer') is not among them."""
    server.behave = lambda h, body: h.send(401, f"key {h.headers['Authorization'].split()[-1]} refused")
    llm = LLM(backend(server.url), ResponseCache(tmp_path/'c.jsonl'))
    res = run_requests(llm, toy_requests(), ITEM_PROMPT, retries=1, progress=False)
    assert [r['status'] for r in res] == ['failed', 'failed'] and all('HTTP 401' in r['reason'] for r in res)
    assert KEY not in everything_stored(tmp_path, res)


def test_a_password_in_the_base_url_is_hidden(server):
    """A key in the base URL's user-info shows neither in repr() nor in an error (not even base64-encoded)."""
    server.behave = lambda h, body: h.send(401, f"who is {h.headers.get('Authorization')}?")
    url = server.url.replace('http://', f'http://user:{URL_SECRET}@')
    b64 = base64.b64encode(f'user:{URL_SECRET}'.encode()).decode()
    with OpenAIBackend(url, 'stub-model', max_retries=0) as b:
        assert URL_SECRET not in repr(b) and 'user:***@' in repr(b)
        with pytest.raises(LLMError) as e: b.complete(msgs(), {})
    assert URL_SECRET not in str(e.value) and b64 not in str(e.value)


def test_redact_helper():
    """One helper redacts known secrets, Bearer / Basic credentials and URL passwords."""
    redact = llm_mod.redact
    t = redact(f'Authorization: Bearer {KEY} at https://me:{URL_SECRET}@host/v1 and {KEY}', [KEY])
    assert KEY not in t and URL_SECRET not in t and 'https://me:***@host/v1' in t
    assert redact('nothing secret here', [KEY]) == 'nothing secret here'


# ---------------------------------------------------------------- 2. appends that heal the file first
def lines_of(path): return [json.loads(l) for l in path.read_bytes().splitlines()]


def test_append_after_a_final_record_without_newline(tmp_path):
    """A last record that is complete JSON but lacks its newline gets one before the next record."""
    p = tmp_path/'c.jsonl'
    p.write_text('{"key":"a","text":"1"}')
    ResponseCache(p).put({'key': 'b', 'text': '2'})
    assert [r['key'] for r in lines_of(p)] == ['a', 'b']
    assert set(ResponseCache(p, 'replay').records) == {'a', 'b'}


@pytest.mark.parametrize('fragment', [b'{"key":"c","te', b'{"key":"c","text":"' + b'x' * 37])
def test_append_after_a_torn_fragment(tmp_path, fragment):
    """A torn record written after the cache was opened (a failed write) is cut before the next record."""
    p = tmp_path/'c.jsonl'
    c = ResponseCache(p)
    c.put({'key': 'a', 'text': '1'})
    with open(p, 'ab') as f: f.write(fragment)  # e.g. a 56-byte fragment left by a disk-full write
    c.put({'key': 'd', 'text': '4'})
    assert [r['key'] for r in lines_of(p)] == ['a', 'd']
    assert set(ResponseCache(p).records) == {'a', 'd'}


def test_one_write_per_record(tmp_path, monkeypatch):
    """Each record goes to the file in one os.write call, newline included."""
    calls, real = [], os.write
    monkeypatch.setattr(os, 'write', lambda fd, b: calls.append(bytes(b)) or real(fd, b))
    ResponseCache(tmp_path/'c.jsonl').put({'key': 'a', 'text': 'x' * 100_000})
    assert len(calls) == 1 and calls[0].endswith(b'\n') and json.loads(calls[0])['key'] == 'a'


@pytest.fixture
def tiny_disk(tmp_path):
    d = tmp_path/'tiny'
    d.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', str(d)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f'cannot mount a 64 KiB tmpfs to fill a disk (needs root / CAP_SYS_ADMIN): {r.stderr.strip()}')
    try: yield d
    finally: subprocess.run(['umount', '-l', str(d)], check=False)


def test_disk_full_then_space_again(tiny_disk):
    """On a full disk put raises; once space is back the cache loads and holds every record whose put returned."""
    p, done = tiny_disk/'c.jsonl', []
    c = ResponseCache(p)
    for k in range(3):
        done.append(c.put({'key': f'k{k}', 'text': 'x' * 50})['key'])
    fd = os.open(tiny_disk/'filler', os.O_WRONLY | os.O_CREAT)
    try:  # take every free page
        while True: os.write(fd, b'\0' * 4096)
    except OSError: pass
    finally: os.close(fd)
    with pytest.raises(OSError):
        c.put({'key': 'big', 'text': 'y' * 20_000})  # fits in no page: a partial write, then ENOSPC
    (tiny_disk/'filler').unlink()
    done.append(c.put({'key': 'after', 'text': 'z'})['key'])
    assert set(ResponseCache(p).records) == set(done)
    assert set(ResponseCache(p, 'replay').records) == set(done)


# ---------------------------------------------------------------- 3. a failed cache write loses no answer
def test_read_only_cache_keeps_every_paid_answer(server, tmp_path):
    """20 answers over HTTP into a cache that cannot be written: all 20 are returned, and the failure is reported once."""
    server.behave = lambda h, body: h.send(200, chat(body['messages'][-1]['content'].upper()))
    (tmp_path/'not-a-dir').write_text('a file')
    llm = LLM(backend(server.url, max_concurrency=4), ResponseCache(tmp_path/'not-a-dir'/'c.jsonl'))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        out = llm.ask_many([(msgs(f'q{k}'), {}) for k in range(20)])
    assert out == [f'Q{k}' for k in range(20)] and server.calls == 20
    assert llm.stats['cache_write_errors'] == 20 and llm.stats['misses'] == 20
    assert len([x for x in w if 'could not be cached' in str(x.message)]) == 1


# ---------------------------------------------------------------- 4. answers that are not text
def test_null_content_is_a_recorded_failure(server, tmp_path):
    """`content: null` (a refusal) fails the request with its reason, is retried by run_requests, and is never cached."""
    server.behave = lambda h, body: h.send(200, chat(None, refusal='I cannot help with that.'))
    llm = LLM(backend(server.url), ResponseCache(tmp_path/'c.jsonl'))
    res = run_requests(llm, toy_requests(), ITEM_PROMPT, retries=1, progress=False)
    assert [(r['status'], r['attempts']) for r in res] == [('failed', 2), ('failed', 2)]
    assert all(len(r['reasons']) == 2 and 'I cannot help with that.' in r['reason'] for r in res)
    assert server.calls == 4  # a refusal is an answer, not a transient fault: no HTTP-level retry
    assert not (tmp_path/'c.jsonl').exists()


def test_content_parts_are_joined_only_when_all_text(server):
    """A list of text parts is joined into one string; a list with any other part is a failure."""
    parts = [{'type': 'text', 'text': '{"ok": '}, {'type': 'text', 'text': 'true}'}]
    server.behave = lambda h, body: h.send(200, chat(parts))
    with backend(server.url) as b: assert b.complete(msgs(), {}) == '{"ok": true}'
    server.behave = lambda h, body: h.send(200, chat(parts + [{'type': 'image_url', 'image_url': {'url': 'x'}}]))
    with backend(server.url) as b:
        with pytest.raises(LLMError, match='not text'): b.complete(msgs(), {})


def test_a_backend_returning_none_is_an_error_not_a_cached_answer(tmp_path):
    """LLM turns a non-text answer of any backend into an LLMError; the cache refuses a record whose text is not a str."""
    class Null(Backend):
        model_id = 'null'
        def complete(self, messages, settings): return None
    llm = LLM(Null(), ResponseCache(tmp_path/'c.jsonl'))
    out = llm.ask_many([(msgs(), {})])
    assert isinstance(out[0], LLMError) and 'not text' in str(out[0]) and llm.stats['errors'] == 1
    with pytest.raises(LLMError, match='not a str'): ResponseCache(tmp_path/'c.jsonl').put({'key': 'k', 'text': None})
    assert not (tmp_path/'c.jsonl').exists()


# ---------------------------------------------------------------- 5. damaged cache files
@pytest.mark.parametrize('line', ['{}', '42', '[1, 2]', '{"text": "no key"}', '{"key": "no text"}', '{"key": "k", "text": null}'])
def test_a_damaged_cache_line_names_the_file_and_line(tmp_path, line):
    """A line that is JSON but not a record (`{}`, `42`, no key, no text, null text) is an LLMError naming file and line."""
    p = tmp_path/'c.jsonl'
    p.write_text('{"key":"a","text":"1"}\n' + line + '\n{"key":"b","text":"2"}\n')
    for mode in ('rw', 'replay'):
        with pytest.raises(LLMError, match=re.escape(f'{p}: line 2 ')): ResponseCache(p, mode)


def test_a_truncated_published_cache_is_a_clear_error(tmp_path):
    """A cache.jsonl.gz cut short (gzip EOF) is an LLMError naming the file, not an EOFError."""
    recs = ''.join(json.dumps({'key': f'k{i}', 'text': f'answer {i} ' * 20}) + '\n' for i in range(2000))
    data = gzip.compress(recs.encode(), mtime=0)
    p = tmp_path/'cache.jsonl.gz'
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(LLMError, match=re.escape(f'{p}: ') + '.*truncated'): ResponseCache(p, 'replay')


def test_a_missing_replay_file_is_an_error(tmp_path):
    """Replay from a file that does not exist says so at once, instead of a misleading CacheMiss later."""
    with pytest.raises(FileNotFoundError, match='does not exist'): ResponseCache(tmp_path/'nope.jsonl.gz', 'replay')
    assert len(ResponseCache(tmp_path/'new.jsonl')) == 0  # 'rw' still starts a new cache


# ---------------------------------------------------------------- 6. slow and huge responses
def trickle(h, body):
    h.send_response(200)
    h.send_header('Content-Type', 'application/json')
    h.send_header('Content-Length', '200')
    h.end_headers()
    for _ in range(200):  # one byte every 0.2 s: 40 s in all, each read well inside the 5 s timeout
        if h.server.stop.wait(0.2): return
        h.wfile.write(b' ')
        h.wfile.flush()


def test_a_trickling_server_is_stopped_at_the_deadline(server):
    """A body trickled one byte at a time ends at `request_deadline`, not at the per-read timeout; it counts as a timeout."""
    server.behave = trickle
    with backend(server.url, request_deadline=1.0, max_retries=1) as b:
        t0 = time.monotonic()
        with pytest.raises(LLMError, match='deadline'): b.complete(msgs(), {})
    assert time.monotonic() - t0 < 6 and server.calls == 2


def huge(length):
    """A handler streaming 3 MiB of spaces (with or without a Content-Length), 64 KiB at a time."""
    def behave(h, body):
        h.send_response(200)
        h.send_header('Content-Type', 'application/json')
        if length: h.send_header('Content-Length', str(3 * MiB))
        else: h.send_header('Connection', 'close')
        h.end_headers()
        for _ in range(48):
            if h.server.stop.is_set(): return
            h.wfile.write(b' ' * (64 << 10))
    return behave


@pytest.mark.parametrize('length', [True, False])
def test_a_huge_body_is_capped_and_not_retried(server, tmp_path, length):
    """A body over `max_response_bytes` fails at once with its reason, is not retried, and nothing is cached."""
    server.behave = huge(length)
    llm = LLM(backend(server.url, max_response_bytes=MiB, max_retries=3), ResponseCache(tmp_path/'c.jsonl'))
    res = run_requests(llm, toy_requests(1), ITEM_PROMPT, retries=0, progress=False)
    assert res[0]['status'] == 'failed' and 'larger than' in res[0]['reason']
    assert server.calls == 1 and not (tmp_path/'c.jsonl').exists()
    assert 1 * MiB <= OpenAIBackend(server.url, 'm').max_response_bytes <= 64 * MiB  # a cap by default too


# ---------------------------------------------------------------- 7. the prompt budget
def test_a_giant_word_and_headline_are_capped():
    """One 200k-character word and a 50k-character headline are cut, with an ellipsis."""
    t = format_reviews([{'text': 'a' * 200_000, 'summary': 'b' * 50_000, 'rating': 5.0}])
    assert len(t) < 1_500 and t.endswith('...') and 'b...' in t


def test_item_summaries_in_user_prompts_are_capped():
    """An item summary of 100k characters is shortened where it enters a user prompt."""
    from lmmrec_nb.data import from_pairs
    cols = ['user', 'item', 'rating', 'time', 'text', 'summary']
    df = pd.DataFrame([(0, k, 5.0, 1000 + k, 'fine', 'ok') for k in range(3)], columns=cols)
    parts = {s: df[df.time == 1000 + k] for k, s in enumerate(('train', 'val', 'test'))}
    d = from_pairs('toy', ['u0'], ['i0', 'i1', 'i2'], parts)
    ureq = user_requests(d, [{'id': 0, 'status': 'ok', 'summary': 'z' * 100_000}])
    assert len(ureq[0].messages[-1]['content']) < 5_000 and 'z...' in ureq[0].messages[-1]['content']


def test_a_lone_surrogate_does_not_abort_a_batch(tmp_path):
    """A lone surrogate in a review is replaced where it enters the prompt; cache_key and the cache survive one anyway."""
    t = format_reviews([{'text': 'great \ud800 tuner', 'summary': 'ok \udfff', 'rating': 4.0}])
    t.encode('utf-8')  # valid text now
    assert 'great' in t and 'tuner' in t
    raw = msgs('raw \ud800 text')
    assert len(cache_key('m', raw, {})) == 64
    class Echo(Backend):
        model_id = 'echo'
        def complete(self, messages, settings): return messages[-1]['content']
    assert LLM(Echo(), ResponseCache(tmp_path/'c.jsonl')).ask_many([(raw, {}), (msgs('fine'), {})]) == ['raw \ud800 text', 'fine']
    assert ResponseCache(tmp_path/'c.jsonl', 'replay').get(cache_key('echo', raw, {}))['text'] == 'raw \ud800 text'
