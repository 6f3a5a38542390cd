"""The real packaged model (SmolLM2-135M via xllamacpp) through the real prompts, schema grammar and pipeline."""
import json, os
from pathlib import Path
from lmmrec_nb.extract import extract_motivations
from lmmrec_nb.llm import LLM, LlamaCppBackend, ResponseCache

os.environ.setdefault('LMMREC_DATA_MIRROR', str(Path(__file__).resolve().parents[2]/'shared'/'data'))


def test_one_item_end_to_end(tmp_path):
    from lmmrec_nb.data import load
    d = load(download=False)
    llm = LLM(LlamaCppBackend(), ResponseCache(tmp_path/'c.jsonl'))
    m = extract_motivations(d, llm, users=False, limit_items=1, retries=0, progress=False)
    r = m.items[0]
    assert r['raw'] and json.loads(r['raw'])                       # the grammar made it parse
    assert r['status'] == 'ok' or r['reason'].startswith('motivations[')  # only a semantic rule can reject it
    rec = next(iter(ResponseCache(tmp_path/'c.jsonl', 'replay').records.values()))
    assert rec['text'] == r['raw'] and rec['settings']['temperature'] == 0.0
