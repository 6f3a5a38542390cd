"""OpenAIBackend over real HTTP on 127.0.0.1: a fault-injecting local server, and xllamacpp's own server."""
import json, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import pytest
from lmmrec_nb.llm import LLM, LLMError, OpenAIBackend, ResponseCache, LlamaCppBackend

KEY = 'sk-test-0123456789'
OK = {'choices': [{'message': {'role': 'assistant', 'content': '{"ok": true}'}}]}


class Fault(BaseHTTPRequestHandler):
    """Answers by the last message's content: 'N:<mode>' fails the first N calls of that prompt in <mode>."""
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def _send(self, code, body, headers=()):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        for k, v in headers: self.send_header(k, v)
        self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(data))); self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        s = self.server; body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        prompt = body['messages'][-1]['content']
        with s.lock:
            s.bodies.append(body); s.auth.add(self.headers.get('Authorization'))
            s.calls[prompt] = n = s.calls.get(prompt, 0) + 1
            s.inflight += 1; s.max_inflight = max(s.max_inflight, s.inflight)
        try:
            fails, _, mode = prompt.partition(':')
            if mode == 'barrier': s.barrier.wait(); return self._send(200, OK)
            if not fails.isdigit() or n > int(fails): return self._send(200, OK)
            if mode == '429': return self._send(429, {'error': 'rate limited'}, [('Retry-After', '0')])
            if mode == '500': return self._send(500, {'error': 'boom'})
            if mode == '503': return self._send(503, {'error': 'overloaded'})
            if mode == 'garbage': return self._send(200, '{"choices": [ this is not json')
            if mode == 'nochoices': return self._send(200, {'object': 'error'})
            if mode == 'slow': time.sleep(1.0); return self._send(200, OK)
            if mode == '400': return self._send(400, {'error': {'message': 'unknown model'}})
            if mode == '400schema': return self._send(400, {'error': {'message': "Invalid schema: 'maxLength' is not permitted"}})
        finally:
            with s.lock: s.inflight -= 1


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Fault)
    srv.daemon_threads = True
    srv.lock, srv.calls, srv.bodies, srv.auth = threading.Lock(), {}, [], set()
    srv.inflight = srv.max_inflight = 0
    srv.barrier = threading.Barrier(8, timeout=20)
    t = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True); t.start()
    yield srv
    srv.shutdown(); srv.server_close()


def backend(srv, **kw):
    kw = {'max_retries': 3, 'backoff': 0.01, 'max_backoff': 0.05, 'timeout': 5.0, **kw}
    return OpenAIBackend(f'http://127.0.0.1:{srv.server_address[1]}/v1', 'test-model', api_key=KEY, **kw)


def ask(b, prompt, **settings): return b.complete([{'role': 'user', 'content': prompt}], settings)


@pytest.mark.parametrize('mode', ['429', '500', '503', 'garbage', 'nochoices'])
def test_transient_failures_are_retried(server, mode):
    with backend(server) as b:
        assert ask(b, f'2:{mode}') == '{"ok": true}'
        assert server.calls[f'2:{mode}'] == 3 and b.retries == 2


def test_timeout_is_retried(server):
    with backend(server, timeout=0.3) as b:
        assert ask(b, '1:slow') == '{"ok": true}'
        assert server.calls['1:slow'] == 2


def test_gives_up_with_a_clear_error(server):
    with backend(server) as b:
        with pytest.raises(LLMError, match=r"gave up after 4 attempts for prompt '9:500': last error HTTP 500"): ask(b, '9:500')
        with pytest.raises(LLMError, match='malformed response body'): ask(b, '9:garbage')
        assert server.calls['9:500'] == 4


def test_client_errors_are_not_retried(server):
    with backend(server) as b:
        with pytest.raises(LLMError, match=r'HTTP 400 .*unknown model.*not retried'): ask(b, '1:400')
        assert server.calls['1:400'] == 1
        with pytest.raises(LLMError, match="not retried; if the server cannot take this JSON schema, use response_format='json_object'"):
            ask(b, '1:400schema', schema={'type': 'object'})


def test_eight_in_flight_never_more(server):
    # the handler waits until 8 requests are in flight at once: fewer would time the barrier out
    with backend(server, max_concurrency=8) as b:
        out = b.complete_many([([{'role': 'user', 'content': f'{k}:barrier'}], {}) for k in range(16)])
    assert out == ['{"ok": true}'] * 16
    assert server.max_inflight == 8


def test_schema_format_and_key_handling(server, tmp_path):
    schema = {'type': 'object', 'properties': {'ok': {'type': 'boolean'}}, 'required': ['ok']}
    llm = LLM(backend(server), ResponseCache(tmp_path/'c.jsonl'))
    assert llm.ask([{'role': 'user', 'content': 'hello'}], temperature=0, schema=schema) == '{"ok": true}'
    body = server.bodies[-1]
    assert body['response_format'] == {'type': 'json_schema', 'json_schema': {'name': 'answer', 'schema': schema, 'strict': True}}
    assert body['model'] == 'test-model' and body['temperature'] == 0
    assert server.auth == {f'Bearer {KEY}'}                   # the key is sent ...
    assert KEY not in (tmp_path/'c.jsonl').read_text()         # ... but never cached
    assert KEY not in repr(llm.backend)
    with pytest.raises(LLMError) as e: ask(llm.backend, '9:500')
    assert KEY not in str(e.value)
    # a second ask is a cache hit: the server sees nothing
    n = len(server.bodies); llm.ask([{'role': 'user', 'content': 'hello'}], temperature=0, schema=schema)
    assert len(server.bodies) == n and llm.stats['hits'] == 1


def test_key_from_environment(server, monkeypatch):
    monkeypatch.setenv('LMMREC_LLM_API_KEY', 'sk-env-key')
    monkeypatch.setenv('LMMREC_LLM_BASE_URL', f'http://127.0.0.1:{server.server_address[1]}/v1')
    monkeypatch.setenv('LMMREC_LLM_MODEL', 'env-model')
    with OpenAIBackend() as b:
        assert ask(b, 'x') == '{"ok": true}'
    assert server.auth == {'Bearer sk-env-key'} and server.bodies[-1]['model'] == 'env-model'


@pytest.fixture(scope='module')
def llama():
    b = LlamaCppBackend(n_ctx=1024, n_parallel=2)
    yield b
    b.close()


def test_against_llamacpp_server(llama):
    """The real SmolLM2 behind xllamacpp's OpenAI-compatible server, grammar-constrained over HTTP."""
    schema = {'type': 'object', 'additionalProperties': False, 'required': ['reason'],
              'properties': {'reason': {'type': 'string', 'minLength': 3, 'maxLength': 60}}}
    assert llama.base_url.startswith('http://127.0.0.1:')
    with OpenAIBackend(llama.base_url, 'smollm2', max_concurrency=8, max_retries=1) as b:
        reqs = [([{'role': 'user', 'content': f'Give one reason to buy {x}.'}], {'temperature': 0, 'max_tokens': 40, 'schema': schema})
                for x in ('a guitar tuner', 'a capo', 'guitar strings')]
        out = b.complete_many(reqs)
    for o in out:
        assert not isinstance(o, Exception), o
        assert set(json.loads(o)) == {'reason'}
    # and in-process, the same backend answers the same kind of request
    assert set(json.loads(llama.complete(*reqs[0]))) == {'reason'}
