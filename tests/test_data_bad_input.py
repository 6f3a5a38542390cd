"""Bad input gets a clear error, and nothing is written half-way."""
import gzip, hashlib, http.server, json, pickle, threading
from pathlib import Path
import numpy as np, pytest, scipy.sparse as sp
from lmmrec_nb import data as D
from lmmrec_nb.data import DataError, DataFile, DatasetEntry, fetch, load, read_amazon_reviews, read_rlmrec

GOOD = [{'reviewerID': f'U{u}', 'asin': f'I{i}', 'reviewerName': 'Real Name', 'overall': 5.0, 'unixReviewTime': 1000 + u * 10 + i,
         'reviewText': f'review {u} {i}', 'summary': 's'} for u in range(3) for i in range(5)]


def files(folder): return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob('*'))


def write_gz(path, lines):
    with gzip.open(path, 'wt') as f: f.write(''.join(lines))
    return path


def test_good_file_loads_and_drops_names(tmp_path):
    df = read_amazon_reviews(write_gz(tmp_path / 'r.json.gz', [json.dumps(r) + '\n' for r in GOOD]))
    assert len(df) == 15 and 'reviewerName' not in df.columns and not df.isin(['Real Name']).any().any()
    d = D.reviews_to_recdata('toy', df)
    assert (d.n_users, d.n_items) == (3, 5) and [len(d.splits[s]) for s in D.SPLITS] == [9, 3, 3]


def test_2018_field_names_without_review_text(tmp_path):
    rows = [{**{k: v for k, v in r.items() if k != 'reviewText'}, 'vote': '2', 'verified': True, 'style': {'Size:': 'M'}} for r in GOOD]
    df = read_amazon_reviews(write_gz(tmp_path / 'r18.json.gz', [json.dumps(r) + '\n' for r in rows]))
    assert len(df) == 15 and (df.text == '').all()


def test_truncated_gz(tmp_path):
    p = write_gz(tmp_path / 'r.json.gz', [json.dumps(r) + '\n' for r in GOOD * 50])
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    before = files(tmp_path)
    with pytest.raises(DataError, match='truncated or corrupt gzip'): read_amazon_reviews(p)
    assert files(tmp_path) == before


def test_json_line_that_does_not_parse(tmp_path):
    lines = [json.dumps(GOOD[0]) + '\n', '{"reviewerID": "U9", "asin": \n', json.dumps(GOOD[1]) + '\n']
    with pytest.raises(DataError, match=r'line 2 is not valid JSON'): read_amazon_reviews(write_gz(tmp_path / 'r.json.gz', lines))


def test_missing_field(tmp_path):
    bad = {k: v for k, v in GOOD[0].items() if k != 'asin'}
    with pytest.raises(DataError, match=r'line 1 lacks required field\(s\) asin'):
        read_amazon_reviews(write_gz(tmp_path / 'r.json.gz', [json.dumps(bad) + '\n']))


def test_empty_review(tmp_path):
    lines = [json.dumps({**r, 'reviewText': '  ' if j == 4 else r['reviewText']}) + '\n' for j, r in enumerate(GOOD)]
    p = write_gz(tmp_path / 'r.json.gz', lines)
    with pytest.raises(DataError, match='line 5 has an empty review text'): read_amazon_reviews(p, empty_text='error')
    assert (read_amazon_reviews(p).text == '').sum() == 1  # default: kept as an interaction without text


def test_unknown_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv('LMMREC_CACHE', str(tmp_path))
    with pytest.raises(DataError, match="unknown dataset 'amazon-book'; known: amazon-musical-instruments-2014, movielens"): load('amazon-book')
    assert files(tmp_path) == []


def test_checksum_mismatch_from_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / 'mirror' / 'rlmrec-yelp'; mirror.mkdir(parents=True)
    monkeypatch.setenv('LMMREC_CACHE', str(tmp_path / 'cache')); monkeypatch.setenv('LMMREC_DATA_MIRROR', str(tmp_path / 'mirror'))
    f = D.REGISTRY['rlmrec-yelp'].files[0]
    (mirror / f.name).write_bytes(b'x' * 100)
    with pytest.raises(DataError) as e: fetch('rlmrec-yelp', download=False)
    assert f.name in str(e.value) and f.sha256 in str(e.value) and hashlib.sha256(b'x' * 100).hexdigest() in str(e.value)
    assert files(tmp_path / 'cache') == ['rlmrec-yelp']  # the folder, and no file in it


class _Server:
    "A loopback HTTP server that serves `body` for every GET, optionally cutting the connection half-way."
    def __init__(self, body, cut=False):
        outer = self; self.body, self.cut = body, cut
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.send_header('Content-Length', str(len(outer.body))); self.end_headers()
                self.wfile.write(outer.body[: len(outer.body) // 2] if outer.cut else outer.body)
            def log_message(self, *a): pass
        self.srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f'http://127.0.0.1:{self.srv.server_address[1]}/file.bin'
    def __enter__(self): return self
    def __exit__(self, *a): self.srv.shutdown(); self.srv.server_close()


@pytest.mark.parametrize('served,cut,ok', [(b'payload' * 1000, False, True), (b'tampered' * 1000, False, False), (b'payload' * 1000, True, False)])
def test_download_is_verified_and_atomic(tmp_path, monkeypatch, served, cut, ok):
    monkeypatch.setenv('LMMREC_CACHE', str(tmp_path)); monkeypatch.delenv('LMMREC_DATA_MIRROR', raising=False)
    body = b'payload' * 1000
    with _Server(served, cut) as s:
        monkeypatch.setitem(D.REGISTRY, 'toy-dl', DatasetEntry('toy-dl', (DataFile('file.bin', hashlib.sha256(body).hexdigest(), len(body), s.url),), loader='load_rlmrec'))
        if ok: assert (fetch('toy-dl') / 'file.bin').read_bytes() == body
        else:
            with pytest.raises(Exception): fetch('toy-dl', timeout=5)
            assert files(tmp_path) == ['toy-dl']


def _coo(r, c, shape=(3, 3)): return sp.coo_matrix((np.ones(len(r)), (r, c)), shape=shape)


def test_user_with_all_interactions_in_one_split(tmp_path):
    for f, m in (('trn', _coo([0, 1], [0, 1])), ('val', _coo([0], [2])), ('tst', _coo([1, 2, 2], [2, 0, 1]))):
        pickle.dump(m, open(tmp_path / f'{f}_mat.pkl', 'wb'))
    with pytest.raises(DataError, match=r"1 user\(s\) have test interactions but no training item \(e\.g\. raw id 2\)"): read_rlmrec(tmp_path)


def test_pickle_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self): return (print, ('pwned',))
    for f in ('trn', 'val', 'tst'): pickle.dump(Evil(), open(tmp_path / f'{f}_mat.pkl', 'wb'))
    with pytest.raises(DataError, match='refusing to unpickle builtins.print'): read_rlmrec(tmp_path)
