"""The tour (nbs/index.ipynb) keeps its outputs: a reader sees every printed example, table and figure without running it.

The outputs are made by `bash ci/refresh_outputs.sh`, never by hand. These tests read the committed notebook only;
`nbdev_test` executes it (and would fail on any exception). What they check: every cell that should show something
does, nothing shows an error, a warning, a progress bar or a path of the machine that ran it, there are figures, the
file stays small, and every chapter link points at a notebook that exists.
"""
import ast, getpass, json, re
import pytest
from conftest import ROOT

TOUR = ROOT / 'nbs' / 'index.ipynb'
MAX_BYTES = 300 * 1024
MACHINE_PATH = re.compile(r'/work\b|/root\b|/home/|/tmp\b|/Users/|/private/var|[A-Za-z]:\\\\?Users|ipykernel_\d+')
PROGRESS_BAR = re.compile(r'\d+%\|')  # tqdm's "42%|####  |"


@pytest.fixture(scope='module')
def nb():
    return json.loads(TOUR.read_text())


def code_cells(nb):
    return [c for c in nb['cells'] if c['cell_type'] == 'code']


def src(cell):
    return ''.join(cell['source'])


def output_texts(cell):
    "Every piece of text a cell's outputs hold (streams, text/plain, text/html, error tracebacks)."
    for o in cell.get('outputs', []):
        if o['output_type'] == 'stream': yield ''.join(o['text'])
        elif o['output_type'] == 'error': yield '\n'.join([o.get('ename', ''), o.get('evalue', ''), *o.get('traceback', [])])
        else:
            for mime, v in o.get('data', {}).items():
                if mime.startswith('text/'): yield ''.join(v) if isinstance(v, list) else str(v)


def should_show(source):
    "Whether a cell is meant to show something: it prints, shows a figure, or ends with a bare expression."
    tree = ast.parse('\n'.join(l for l in source.splitlines() if not l.lstrip().startswith('%')))
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, 'id', None)
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    last = tree.body[-1] if tree.body else None
    ends_with_value = isinstance(last, ast.Expr) and not source.rstrip().endswith(';') and not (
        isinstance(last.value, ast.Call) and getattr(last.value.func, 'attr', None) in {'show', 'update', 'legend'})
    return bool({'print', 'display', 'show'} & calls) or ends_with_value


def test_size(nb):
    assert TOUR.stat().st_size <= MAX_BYTES, f'{TOUR.name} is {TOUR.stat().st_size / 1024:.0f} KiB (budget {MAX_BYTES // 1024} KiB)'


def test_it_is_not_an_export_notebook(nb):
    for c in code_cells(nb):
        assert not re.search(r'^#\|\s*(default_exp|export)', src(c), re.M), src(c)[:80]


def test_every_cell_that_should_show_something_does(nb):
    cells = code_cells(nb)
    assert sum(should_show(src(c)) for c in cells) >= 10  # the tour shows an output at nearly every step
    missing = [src(c)[:80] for c in cells if should_show(src(c)) and not c.get('outputs')]
    assert not missing, f'cells without their outputs (run `bash ci/refresh_outputs.sh`): {missing}'


def test_no_errors_warnings_or_progress_bars(nb):
    for c in code_cells(nb):
        for o in c.get('outputs', []):
            assert o['output_type'] != 'error', f"{src(c)[:80]!r} raised {o.get('ename')}: {o.get('evalue')}"
            assert not (o['output_type'] == 'stream' and o['name'] == 'stderr'), f"stderr in {src(c)[:80]!r}: {''.join(o['text'])[:300]}"
            assert 'application/vnd.jupyter.widget-view+json' not in o.get('data', {}), f'a widget (progress bar?) in {src(c)[:80]!r}'
        for t in output_texts(c):
            assert 'Traceback' not in t and 'Warning:' not in t, f'{src(c)[:80]!r}: {t[:300]}'
            assert not PROGRESS_BAR.search(t), f'a progress bar in {src(c)[:80]!r}: {t[:200]}'


def test_no_machine_paths_or_user_names(nb):
    user = getpass.getuser()
    names = [user] if len(user) > 3 and user not in {'root', 'runner', 'user'} else []  # too common to search for
    for c in code_cells(nb):
        for t in output_texts(c):
            m = MACHINE_PATH.search(t)
            assert not m, f'a machine path ({m.group()!r}) in the output of {src(c)[:80]!r}'
            for n in names: assert n not in t, f'the user name {n!r} in the output of {src(c)[:80]!r}'


def test_figures(nb):
    pngs = [o['data']['image/png'] for c in code_cells(nb) for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
    assert pngs, 'the tour has no figure output'
    assert all(len(p) < 100_000 for p in pngs), 'a figure is over 100 kB of base64: lower its dpi or size'


def test_outputs_are_cleaned(nb):
    "`nbdev_clean` ran after execution: no execution counts, no cell metadata beyond tags."
    for c in code_cells(nb):
        assert c.get('execution_count') is None, src(c)[:80]
        assert set(c.get('metadata', {})) <= {'tags'}, (src(c)[:80], c['metadata'])


def test_chapter_links_resolve(nb):
    "Every relative link (chapters, experiments, the motivations' card) points at a file that exists."
    targets = {m for c in nb['cells'] if c['cell_type'] == 'markdown' for m in re.findall(r'\]\(([^)\s]+)\)', src(c))}
    relative = {t for t in targets if not re.match(r'[a-z]+:|#', t)}
    missing = sorted(t for t in relative if not (TOUR.parent / t).exists())
    assert not missing, f'links to files that do not exist: {missing}'
    links = {t for t in relative if t.endswith('.ipynb')}
    assert len(links) >= 15, sorted(links)
    chapters = {p.name for p in TOUR.parent.glob('[0-9]*.ipynb')}
    assert chapters <= links, f'chapters the tour does not link to: {sorted(chapters - links)}'


def test_readable_lines(nb):
    long = [(len(l), l) for c in nb['cells'] for l in src(c).splitlines() if len(l) > 110]
    assert not long, long
