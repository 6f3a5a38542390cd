"""Hostile and damaged input to `lmmrec_nb.data` (issue #10): what was tried, and what must happen.

Every file here is a tiny synthetic one written into `tmp_path`; nothing is committed.
"""
import gzip, hashlib, json, os, pickle, struct, threading, warnings
import numpy as np, pandas as pd, pytest, scipy.sparse as sp
from lmmrec_nb import data as D
from lmmrec_nb.data import DataError, DataFile, DatasetEntry, fetch


# ---------------------------------------------------------------------------------------------------------------
# 1. Pickles: an exact allow-list of (module, name) pairs; nothing else runs, and nothing allocates without bound.
# ---------------------------------------------------------------------------------------------------------------

def _u(s):
    "SHORT_BINUNICODE opcode for a short str."
    b = s.encode()
    return b'\x8c' + bytes([len(b)]) + b


def _call(module, name, *args):
    "Protocol-4 opcodes that look up `module`/`name` with STACK_GLOBAL and call it with str/int/bytes `args`."
    out = _u(module) + _u(name) + b'\x93' + b'('  # STACK_GLOBAL, MARK
    for a in args:
        if isinstance(a, str): out += _u(a) if len(a.encode()) < 256 else b'\x8d' + struct.pack('<Q', len(a.encode())) + a.encode()
        elif isinstance(a, bytes): out += b'C' + bytes([len(a)]) + a if len(a) < 256 else b'B' + struct.pack('<I', len(a)) + a
        else: out += b'\x8a' + bytes([(a.bit_length() + 8) // 8]) + a.to_bytes((a.bit_length() + 8) // 8, 'little')  # LONG1
    return out + b'tR'  # TUPLE, REDUCE


def _pickle4(body):
    "Wrap opcodes in PROTO 4 ... STOP."
    return b'\x80\x04' + body + b'.'


def _routes(marker):
    "The dotted-name routes of issue #10, each one creating `marker` if it runs."
    touch = f'touch {marker}'
    code = f"open({str(marker)!r}, 'w').close()"
    inner = pickle.dumps(_Reduce(os.system, (touch,)))
    return {
        'config_init.os.system': ('pandas.core.config_init', 'os.system', touch),
        'sparse._construct.os.system': ('scipy.sparse._construct', 'os.system', touch),
        'common.builtins.exec': ('pandas.core.common', 'builtins.exec', code),
        'common.builtins.eval': ('pandas.core.common', 'builtins.eval', code),
        'generic.pickle.loads': ('pandas.core.generic', 'pickle.loads', inner),
    }


class _Reduce:
    "An object that pickles as a call of `fn(*args)`."
    def __init__(self, fn, args): self.fn, self.args = fn, args
    def __reduce__(self): return self.fn, self.args


def _write_csvs(folder, names):
    "Valid tiny `user,item` CSVs, so that a reader gets as far as its pickle."
    for n in names: (folder / n).write_text('user,item\n0,0\n1,1\n')


def _reader(kind, folder, pkl_bytes):
    "Put the hostile pickle where reader `kind` reads one, and return a call of that reader."
    if kind == 'read_pickle':
        (folder / 'x.pkl').write_bytes(pkl_bytes)
        return folder / 'x.pkl', lambda: D.read_pickle(folder / 'x.pkl')
    if kind == 'read_rlmrec':
        for f in ('trn', 'val', 'tst'): (folder / f'{f}_mat.pkl').write_bytes(pkl_bytes)
        return folder / 'trn_mat.pkl', lambda: D.read_rlmrec(folder)
    (folder / 'tst.pkl').write_bytes(pkl_bytes)
    if kind == 'read_xrec':
        (folder / 'total_trn.csv').write_text('user,item\n0,0\n1,1\n0,2\n1,3\n')
        (folder / 'total_val.csv').write_text('user,item\n0,1\n')
        (folder / 'total_tst.csv').write_text('user,item\n1,0\n')
        return folder / 'tst.pkl', lambda: D.read_xrec(folder)
    _write_csvs(folder, ['total.csv'])
    return folder / 'tst.pkl', lambda: D.read_xrec_profiled(folder)


READERS = ['read_pickle', 'read_rlmrec', 'read_xrec', 'read_xrec_profiled']


@pytest.mark.parametrize('reader', READERS)
@pytest.mark.parametrize('route', list(_routes('m')))
def test_dotted_name_through_an_allowed_module_is_refused(tmp_path, reader, route):
    "Protocol 4 resolves `pandas.core.config_init` + `os.system` and the like by attribute: all refused, none run."
    marker = tmp_path / 'ran'
    module, name, arg = _routes(marker)[route]
    path, call = _reader(reader, tmp_path, _pickle4(_call(module, name, arg)))
    with pytest.raises(DataError) as e: call()
    assert f'{module}.{name}' in str(e.value) and str(path) in str(e.value)
    assert not marker.exists(), 'the payload ran'


@pytest.mark.parametrize('reader', READERS)
@pytest.mark.parametrize('fn,arg', [(os.system, 'touch {m}'), (eval, "open({m!r}, 'w').close()"),
                                    ('subprocess', ['touch', '{m}'])], ids=['os.system', 'builtins.eval', 'subprocess.call'])
@pytest.mark.parametrize('protocol', [2, 4])
def test_plain_reduce_payloads_are_refused(tmp_path, reader, fn, arg, protocol):
    "The classic `__reduce__` payloads (os.system, eval, subprocess.call) at protocol 2 and 4."
    import subprocess
    marker = tmp_path / 'ran'
    fn = subprocess.call if fn == 'subprocess' else fn
    arg = [a.format(m=marker) for a in arg] if isinstance(arg, list) else arg.format(m=str(marker))
    path, call = _reader(reader, tmp_path, pickle.dumps(_Reduce(fn, (arg,)), protocol=protocol))
    with pytest.raises(DataError, match='refusing to unpickle') as e: call()
    assert f'{fn.__module__}.{fn.__name__}' in str(e.value) and str(path) in str(e.value)
    assert not marker.exists(), 'the payload ran'


def _bombs():
    "Pickles that ask an allowed-looking constructor for terabytes."
    nd = _u('numpy') + _u('ndarray') + b'\x93'
    obj = _u('numpy') + _u('dtype') + b'\x93' + _u('O') + b'\x85R'  # numpy.dtype('O')
    shape = b'\x8a\x06' + (10**13).to_bytes(6, 'little') + b'\x85'  # (10**13,)
    reconstruct = _u('numpy._core.multiarray') + _u('_reconstruct') + b'\x93'
    empty = reconstruct + b'(' + nd + b'K\x00\x85' + b'C\x01b' + b'tR'  # _reconstruct(ndarray, (0,), b'b'), as numpy writes it
    return {
        'bytearray(10**13)': _call('builtins', 'bytearray', 10**13),
        '_reconstruct with shape 10**13': reconstruct + b'(' + nd + shape + b'C\x01b' + b'tR',
        'object array of 10**13 from a 1-item list': empty + b'(K\x01' + shape + obj + b'\x89]Na' + b'tb',  # BUILD
        'RangeIndex of 10**13 as objects': _new_index_bomb((10**13).to_bytes(6, 'little')),
    }


def _new_index_bomb(huge):
    "`Index(RangeIndex(0, 10**13), dtype=object)` through pandas' own `_new_Index`."
    new = _u('pandas.core.indexes.base') + _u('_new_Index') + b'\x93'
    rng = new + b'(' + _u('pandas') + _u('RangeIndex') + b'\x93' + b'}(' + _u('start') + b'K\x00' + _u('stop') \
        + b'\x8a\x06' + huge + b'utR'  # _new_Index(RangeIndex, {'start': 0, 'stop': 10**13})
    return new + b'(' + _u('pandas') + _u('Index') + b'\x93' + b'}(' + _u('data') + rng + _u('dtype') + _u('object') + b'utR'


@pytest.mark.parametrize('bomb', list(_bombs()))
def test_pickle_bomb_is_a_data_error(tmp_path, bomb):
    "A small pickle that would allocate terabytes: a `DataError` naming the file, never a raw `MemoryError`."
    p = tmp_path / 'bomb.pkl'
    p.write_bytes(_pickle4(_bombs()[bomb]))
    with pytest.raises(DataError) as e: D.read_pickle(p)
    assert str(p) in str(e.value)


def test_real_data_shapes_still_unpickle(tmp_path):
    "What the allow-list must keep: numpy arrays, the sparse formats, frames with int / float / str / object columns."
    objs = {'emb': np.eye(2, 4, dtype=np.float32), 'ints': np.arange(3), 'coo': sp.coo_matrix(np.eye(2)), 'csr': sp.csr_matrix(np.eye(2)),
            'csc': sp.csc_matrix(np.eye(2)), 'prf': {0: {'profile': 'p', 'reasoning': 'r'}}, 'scalar': np.float32(1.5),
            'df': pd.DataFrame({'uid': [1, 2], 'x': [0.5, 1.5], 'user_summary': ['a', 'b'], 'o': pd.Series(['c', None], dtype=object)}),
            'df_index': pd.DataFrame({'a': [1, 2]}, index=pd.Index([5, 7]))}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        for k, o in objs.items():
            p = tmp_path / f'{k}{protocol}.pkl'
            p.write_bytes(pickle.dumps(o, protocol=protocol))
            back = D.read_pickle(p)
            if isinstance(o, pd.DataFrame): pd.testing.assert_frame_equal(back, o)
            elif sp.issparse(o): assert (back != o).nnz == 0 and type(back) is type(o)
            elif isinstance(o, np.ndarray): np.testing.assert_array_equal(back, o)
            else: assert back == o


def test_sparse_matrix_with_an_absurd_shape_is_refused(tmp_path):
    "A crafted RLMRec matrix claiming 10**12 users over 2 interactions (later code would build 10**12 ids)."
    m = sp.coo_matrix((np.ones(2), ([0, 1], [0, 1])), shape=(2, 2))
    m._shape = (10**12, 2)
    for f in ('trn', 'val', 'tst'): pickle.dump(m, open(tmp_path / f'{f}_mat.pkl', 'wb'))
    with pytest.raises(DataError, match='trn_mat.pkl'): D.read_rlmrec(tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# 2-3. fetch: unique temporaries under threads; fall through bad sources and say what was wrong with each.
# ---------------------------------------------------------------------------------------------------------------

def _toy_entry(monkeypatch, tmp_path, body, mirrors):
    "Register a one-file dataset `toy` of content `body`, with a cache and the given mirror folders."
    monkeypatch.setenv('LMMREC_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setenv('LMMREC_DATA_MIRROR', os.pathsep.join(str(m) for m in mirrors))
    f = DataFile('toy.bin', hashlib.sha256(body).hexdigest(), len(body), 'http://127.0.0.1:9/never')
    monkeypatch.setitem(D.REGISTRY, 'toy', DatasetEntry('toy', (f,), loader='load_rlmrec'))
    return f


def _mirror(tmp_path, name, content):
    "A mirror folder holding `toy/toy.bin` with `content`."
    (tmp_path / name / 'toy').mkdir(parents=True)
    (tmp_path / name / 'toy' / 'toy.bin').write_bytes(content)
    return tmp_path / name


def test_threads_fetching_the_same_file_all_get_a_verified_copy(tmp_path, monkeypatch):
    "Eight threads fetch one dataset at once, five times over: every call returns a file that passes its sha256."
    body = np.random.default_rng(0).bytes(3 << 20)
    f = _toy_entry(monkeypatch, tmp_path, body, [_mirror(tmp_path, 'mirror', body)])
    for round_ in range(5):
        (tmp_path / 'cache' / 'toy' / 'toy.bin').unlink(missing_ok=True)
        start, errors, bad = threading.Barrier(8), [], []
        def worker():
            start.wait()
            try:
                got = fetch('toy', download=False) / 'toy.bin'
                if D.sha256_file(got) != f.sha256: bad.append(got.stat().st_size)
            except Exception as e: errors.append(repr(e))
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        assert errors == [] and bad == [], f'round {round_}: errors {errors}, bad sizes {bad}'
        assert sorted(p.name for p in (tmp_path / 'cache' / 'toy').iterdir()) == ['toy.bin'], 'a temporary was left behind'


def test_corrupt_first_mirror_falls_through_to_a_good_second(tmp_path, monkeypatch):
    "Mirror A has a damaged copy, mirror B a good one: B is used."
    body = b'good bytes' * 100
    _toy_entry(monkeypatch, tmp_path, body, [_mirror(tmp_path, 'A', b'bad'), _mirror(tmp_path, 'B', body)])
    assert (fetch('toy', download=False) / 'toy.bin').read_bytes() == body


def test_corrupt_cache_and_no_mirror_says_what_was_wrong(tmp_path, monkeypatch):
    "A damaged cached file with no mirror is reported as damaged, not as 'not in the cache'."
    body = b'good bytes' * 100
    _toy_entry(monkeypatch, tmp_path, body, [])
    (tmp_path / 'cache' / 'toy').mkdir(parents=True)
    (tmp_path / 'cache' / 'toy' / 'toy.bin').write_bytes(b'damaged')
    with pytest.raises(DataError) as e: fetch('toy', download=False)
    msg = str(e.value)
    assert 'cache' in msg and 'sha256 mismatch' in msg and 'download disabled' in msg and 'not in the cache' not in msg


def test_every_failed_source_is_listed(tmp_path, monkeypatch):
    "Damaged cache, damaged mirror A, mirror B without the file, download disabled: each named with its fault."
    body = b'good bytes' * 100
    a, b = _mirror(tmp_path, 'A', b'bad'), tmp_path / 'B'
    b.mkdir()
    _toy_entry(monkeypatch, tmp_path, body, [a, b])
    (tmp_path / 'cache' / 'toy').mkdir(parents=True)
    (tmp_path / 'cache' / 'toy' / 'toy.bin').write_bytes(b'damaged')
    with pytest.raises(DataError) as e: fetch('toy', download=False)
    msg = str(e.value)
    assert msg.count('sha256 mismatch') == 2 and str(a) in msg and f'{b}' in msg and 'missing' in msg
    assert hashlib.sha256(b'bad').hexdigest() in msg and 'download disabled' in msg


# ---------------------------------------------------------------------------------------------------------------
# 4. Readers: every damaged input is a DataError naming the file and the line.
# ---------------------------------------------------------------------------------------------------------------

GOOD = [{'reviewerID': f'U{u}', 'asin': f'I{i}', 'overall': 5.0, 'unixReviewTime': 1000 + u * 10 + i,
         'reviewText': f'review {u} {i}', 'summary': 's'} for u in range(5) for i in range(5)]


def _gz(path, lines):
    "Write byte `lines` into a gzip file."
    with gzip.open(path, 'wb') as f: f.write(b''.join(lines))
    return path


def _line(r): return (json.dumps(r) + '\n').encode()


@pytest.mark.parametrize('bad', [b'null\n', b'[1, 2]\n', b'"a review"\n', b'5\n', _line({**GOOD[1], 'overall': None}),
                                 _line({**GOOD[1], 'overall': 'five'}), _line({**GOOD[1], 'unixReviewTime': 'n/a'}),
                                 _line({**GOOD[1], 'unixReviewTime': None}), _line({**GOOD[1], 'reviewerID': None}),
                                 _line({**GOOD[1], 'asin': None}), _line({**GOOD[1], 'reviewerID': ''}),
                                 _line({**GOOD[1], 'reviewText': 'caf\xe9'}).replace(b'\\u00e9', b'\xe9')],
                         ids=['null', 'array', 'string', 'number', 'overall null', 'overall text', 'time n/a', 'time null',
                              'reviewerID null', 'asin null', 'reviewerID empty', 'latin-1 byte'])
def test_damaged_amazon_line_names_the_line(tmp_path, bad):
    "A JSON line that parses but is not a usable review (or is not UTF-8) is a DataError naming file and line 2."
    p = _gz(tmp_path / 'r.json.gz', [_line(GOOD[0]), bad, _line(GOOD[2])])
    with pytest.raises(DataError, match=r'line 2\b') as e: D.read_amazon_reviews(p)
    assert str(p) in str(e.value)


def test_load_amazon_on_an_empty_folder(tmp_path):
    "No review file: a DataError naming the folder, not a bare StopIteration."
    with pytest.raises(DataError, match='no .*json') as e: D.load_amazon(tmp_path)
    assert str(tmp_path) in str(e.value)


def test_load_amazon_refuses_two_review_files(tmp_path):
    "Two *.json* files: refuse and name both instead of reading whichever glob returns first."
    for n in ('a.json.gz', 'b.json'): _gz(tmp_path / n, [_line(r) for r in GOOD])
    with pytest.raises(DataError) as e: D.load_amazon(tmp_path)
    assert 'a.json.gz' in str(e.value) and 'b.json' in str(e.value)


def _xrec_folder(tmp_path, trn):
    "XRec split CSVs with `trn` (bytes) as the training file."
    (tmp_path / 'total_trn.csv').write_bytes(trn)
    (tmp_path / 'total_val.csv').write_text('user,item\n0,1\n')
    (tmp_path / 'total_tst.csv').write_text('user,item\n1,0\n')
    return tmp_path


@pytest.mark.parametrize('trn,line', [
    (b'user,item\n0,0\n1,1\n0,2\n1,34', 'line 5'),      # cut mid-row: '1,345\n' lost digits and its newline
    (b'user,item\n0,0,7\n1,1,7\n', 'line 2'),           # a 2-field header over 3-field rows
    (b'user,item\n0,0\n1\n', 'line 3'),                 # a short row
    (b'user,item\n0,0\n1,x\n', 'line 3'),               # a non-integer id
    (b'user,item\n0,0\n1,1.5\n', 'line 3'),             # a float id
    (b'user,item\n0,0\n-1,1\n', 'line 3'),              # a negative id
    (b'user,item\n0,0\n1,\n', 'line 3'),                # an empty id
    (b'user,item\n0,0\n1,1\xe9\n', 'line 3'),           # a Latin-1 byte
    (b'user,item\n', 'no rows'),                        # header only
    (b'', 'empty'),                                     # nothing at all
    (b'usr,itm\n0,0\n', 'user,item'),                   # wrong header
], ids=['truncated', 'header-over-3-fields', 'short-row', 'non-int', 'float', 'negative', 'empty-id', 'latin-1',
        'header-only', 'empty-file', 'wrong-header'])
def test_damaged_pairs_csv_names_the_line(tmp_path, trn, line):
    "XRec `user,item` CSVs: every damage is a DataError naming total_trn.csv and the line (or 'no rows')."
    with pytest.raises(DataError, match=line) as e: D.read_xrec(_xrec_folder(tmp_path, trn))
    assert 'total_trn.csv' in str(e.value)


def _movielens(tmp_path, ratings=None, tags=None, movies=None):
    "A tiny MovieLens folder; pass bytes to replace a file."
    rows = ''.join(f'{u},{m},4.0,{964982703 + u * 10 + m}\n' for u in (1, 2) for m in range(1, 6))
    (tmp_path / 'ratings.csv').write_bytes(ratings if ratings is not None else ('userId,movieId,rating,timestamp\n' + rows).encode())
    (tmp_path / 'movies.csv').write_bytes(movies if movies is not None else
                                          ('movieId,title,genres\n' + ''.join(f'{m},"Film, {m} (1995)",Drama\n' for m in range(1, 6))).encode())
    (tmp_path / 'tags.csv').write_bytes(tags if tags is not None else b'userId,movieId,tag,timestamp\n1,1,funny,1445714994\n')
    return tmp_path


def test_movielens_good_folder_loads(tmp_path):
    "The fixture itself is fine: quoted titles with commas, tags as text."
    d = D.read_movielens(_movielens(tmp_path))
    assert (d.n_users, d.n_items) == (2, 5) and d.items['title'][0] == 'Film, 1 (1995)'


H = b'userId,movieId,rating,timestamp\n'


@pytest.mark.parametrize('file,content,line', [
    ('ratings', H + b'1,1,4.0,964982703\n1,2,4.0,96498', 'line 3'),
    ('ratings', H + b'1,1,4.0,964982703,extra\n', 'line 2'),
    ('ratings', H + b'1,1,4.0\n', 'line 2'),
    ('ratings', H + b'1,1,4.0,964982703\nx,2,4.0,964982703\n', 'line 3'),
    ('ratings', H + b'1,1,four,964982703\n', 'line 2'),
    ('ratings', H + b'1,1,nan,964982703\n', 'line 2'),
    ('ratings', H, 'no rows'),
    ('tags', b'userId,movieId,tag,timestamp\n1,1,caf\xe9,1445714994\n', 'line 2'),
    ('movies', b'movieId,title,genres\n1,Toy Story (1995)\n', 'line 2'),
], ids=['truncated', 'extra-field', 'short-row', 'non-int-user', 'text-rating', 'nan-rating', 'header-only', 'latin-1-tag',
        'short-movie-row'])
def test_damaged_movielens_csv_names_the_line(tmp_path, file, content, line):
    "MovieLens CSVs get the same checks: DataError naming the file and the line."
    with pytest.raises(DataError, match=line) as e: D.read_movielens(_movielens(tmp_path, **{file: content}))
    assert f'{file}.csv' in str(e.value)


# ---------------------------------------------------------------------------------------------------------------
# 5. Duplicate (user, item) reviews: dropped as before, but counted, warned about, and their effect on the k-core said.
# ---------------------------------------------------------------------------------------------------------------

def test_duplicate_reviews_are_counted_and_warned_about():
    "Three repeats of earlier reviews (one with another rating, one with other text) on an exact 5-core of 5 x 5."
    df = pd.DataFrame([{'user_raw': r['reviewerID'], 'item_raw': r['asin'], 'rating': r['overall'], 'time': r['unixReviewTime'],
                        'text': r['reviewText'], 'summary': r['summary']} for r in GOOD])
    rep = df.iloc[[0, 6, 12]].assign(time=5000)
    rep.loc[rep.index[1], 'rating'] = 1.0
    rep.loc[rep.index[2], 'text'] = 'changed my mind'
    with pytest.warns(UserWarning, match='3 duplicate'): d = D.reviews_to_recdata('toy', pd.concat([df, rep]))
    assert (d.n_users, d.n_items, sum(len(d.splits[s]) for s in D.SPLITS)) == (5, 5, 25)
    assert d.notes['duplicates_dropped'] == 3 and d.notes['duplicates_differing'] == 2
    assert d.notes['users_below_5'] == 0 and d.notes['items_below_5'] == 0


def test_deduplication_that_breaks_the_5_core_is_reported():
    "A 5-core only thanks to repeated reviews: after de-duplication two users and two items have 4, and those users no held-out item."
    df = pd.DataFrame([{'user_raw': r['reviewerID'], 'item_raw': r['asin'], 'time': r['unixReviewTime']} for r in GOOD])
    df = df[~((df.user_raw == 'U0') & (df.item_raw == 'I4')) & ~((df.user_raw == 'U4') & (df.item_raw == 'I0'))]
    twice = (df.user_raw + df.item_raw).isin(['U0I0', 'U4I4'])
    df = pd.concat([df, df[twice].assign(time=9999)])  # U0 and U4 each review one item twice: 5 rows, 4 distinct items
    with pytest.warns(UserWarning, match='5-core') as w: d = D.reviews_to_recdata('toy', df)
    assert d.notes['duplicates_dropped'] == 2 and d.notes['users_below_5'] == 2 and d.notes['items_below_5'] == 2
    assert d.notes['users_without_heldout'] == 2 and '2 users' in str(w[0].message)


def test_no_duplicates_no_warning_and_recdata_stays_compatible():
    "Clean input: no warning, zero counts; RecData built the old way (no `notes`) still works."
    df = pd.DataFrame({'user_raw': [r['reviewerID'] for r in GOOD], 'item_raw': [r['asin'] for r in GOOD]})
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        d = D.reviews_to_recdata('toy', df)
    assert d.notes['duplicates_dropped'] == 0
    old = D.RecData('old', d.user_ids, d.item_ids, d.splits)
    assert old.notes == {} and old.n_users == 5
