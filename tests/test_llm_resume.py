"""SIGKILL an extraction mid-way, resume it, and check that no cached prompt is asked again."""
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
from lmmrec_nb.llm import ResponseCache

# The child process: a real extraction (items, then users) on a small synthetic review dataset, with a
# deterministic backend that logs every prompt it is asked (fsync'ed) and takes a little time per answer.
CHILD = textwrap.dedent('''
    import json, os, sys, time
    import pandas as pd
    from lmmrec_nb.data import from_pairs
    from lmmrec_nb.extract import extract_motivations
    from lmmrec_nb.llm import LLM, Backend, ResponseCache, cache_key
    from lmmrec_nb.prompts import ITEM_PROMPT
    cache, asked = sys.argv[1], sys.argv[2]
    nu, ni = 12, 10
    rows = [(u, (u * 3 + k) % ni, 4.0, 1000 + k, f'user {u} likes item {(u*3+k) % ni} for practice', 'fine') for u in range(nu) for k in range(5)]
    df = pd.DataFrame(rows, columns=['user', 'item', 'rating', 'time', 'text', 'summary'])
    parts = {'train': df[df.time < 1003], 'val': df[df.time == 1003], 'test': df[df.time == 1004]}
    d = from_pairs('toy', [f'u{u}' for u in range(nu)], [f'i{i}' for i in range(ni)], parts)
    class Logged(Backend):
        model_id = 'logged'
        def complete(self, messages, settings):
            with open(asked, 'a') as f: f.write(cache_key(self.model_id, messages, settings) + '\\n'); f.flush(); os.fsync(f.fileno())
            time.sleep(0.15)
            n = sum(map(ord, messages[-1]['content'])) % 3
            if n == 0 and settings.get('seed') is None: return '{"reasoning": "cut'  # some answers need a retry
            return ITEM_PROMPT.example_answer
    m = extract_motivations(d, LLM(Logged(), ResponseCache(cache)), retries=2, progress=False)
    print(json.dumps({'items': len(m.items), 'users': len(m.users), 'ok': int(sum(s == 'ok' for s in list(m.items['status']) + list(m.users['status'])))}))
''')


def run_child(tmp, env):
    return subprocess.Popen([sys.executable, '-c', CHILD, str(tmp/'cache.jsonl'), str(tmp/'asked.log')],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def lines(p): return p.read_text().splitlines() if p.exists() else []


def test_sigkill_then_resume_never_reasks(tmp_path):
    env = {**os.environ, 'PYTHONPATH': str(Path(__file__).resolve().parents[1]) + os.pathsep + os.environ.get('PYTHONPATH', '')}
    p = run_child(tmp_path, env)
    deadline = time.time() + 120
    while len(lines(tmp_path/'cache.jsonl')) < 8 and time.time() < deadline and p.poll() is None: time.sleep(0.05)
    assert p.poll() is None, f'child ended before it could be killed: {p.communicate()}'
    os.kill(p.pid, signal.SIGKILL); p.wait(timeout=30)
    assert p.returncode == -signal.SIGKILL
    first = set(lines(tmp_path/'asked.log'))
    cached = set(ResponseCache(tmp_path/'cache.jsonl', 'replay').records)
    assert 8 <= len(cached) < 40               # killed mid-way, during the item run
    assert cached <= first                     # everything cached was asked by the first run

    n_before = len(lines(tmp_path/'asked.log'))
    p = run_child(tmp_path, env); out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-2000:]
    second = lines(tmp_path/'asked.log')[n_before:]
    assert not set(second) & cached            # the resumed run asked no cached prompt
    assert len(second) == len(set(second))     # and nothing twice
    res = json.loads(out.strip().splitlines()[-1])
    assert res == {'items': 10, 'users': 12, 'ok': 22}

    # a third run is pure replay: nothing is asked at all
    n_before = len(lines(tmp_path/'asked.log'))
    p = run_child(tmp_path, env); out, err = p.communicate(timeout=300)
    assert p.returncode == 0 and len(lines(tmp_path/'asked.log')) == n_before
    assert json.loads(out.strip().splitlines()[-1]) == res
