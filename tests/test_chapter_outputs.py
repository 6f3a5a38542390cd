"""Chapters that keep their outputs (those listed in `ci/refresh_outputs.sh`) hold what the tour's test asks of it.

The outputs are made by `bash ci/refresh_outputs.sh`, never by hand; these tests read the committed notebooks only
(`nbdev_test` executes them). For every notebook in the script's NOTEBOOKS list: the file stays small, outputs are
present, nothing shows an error, stderr, a warning, a progress bar or a path of the machine that ran it, figures are
small PNGs, and `nbdev_clean` ran after execution. The method chapters also keep their exercises: a question, then a
"Solution (try first)" heading and a code cell that checks its answer (`assert` or `test_...`), so CI runs it.
"""
import getpass, json, re
import pytest
from conftest import ROOT
from test_tour import MACHINE_PATH, MAX_BYTES, PROGRESS_BAR, output_texts, src

SCRIPT = ROOT / 'ci' / 'refresh_outputs.sh'
WITH_EXERCISES = {'03_cards': 2, '00_core': 2, '01_data': 2, '02_eval': 2, '10_prompts': 2, '11_llm': 2, '12_extract': 2, '20_graph': 2, '21_backbones': 2, '22_train': 2, '23_distributed': 2, '30_text_encoder': 2, '31_losses': 2, '32_lmmrec': 2, '40_cli': 2}  # chapter -> fewest


def listed():
    "The NOTEBOOKS=(...) list of ci/refresh_outputs.sh."
    m = re.search(r'^NOTEBOOKS=\(([^)]*)\)', SCRIPT.read_text(), re.M)
    assert m, 'no NOTEBOOKS=(...) line in ci/refresh_outputs.sh'
    return m.group(1).split()


NOTEBOOKS = listed()


def load(name):
    return json.loads((ROOT / 'nbs' / f'{name}.ipynb').read_text())


def code_cells(nb):
    return [c for c in nb['cells'] if c['cell_type'] == 'code']


def test_the_list():
    assert 'index' in NOTEBOOKS and set(WITH_EXERCISES) <= set(NOTEBOOKS), NOTEBOOKS
    missing = [n for n in NOTEBOOKS if not (ROOT / 'nbs' / f'{n}.ipynb').exists()]
    assert not missing, f'refresh_outputs.sh lists notebooks that do not exist: {missing}'


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_size(name):
    size = (ROOT / 'nbs' / f'{name}.ipynb').stat().st_size
    assert size <= MAX_BYTES, f'{name}.ipynb is {size / 1024:.0f} KiB (budget {MAX_BYTES // 1024} KiB)'


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_has_outputs(name):
    "The committed notebook was executed: some cell shows something (run `bash ci/refresh_outputs.sh`)."
    assert any(c.get('outputs') for c in code_cells(load(name))), f'{name}.ipynb has no outputs'


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_no_errors_warnings_or_progress_bars(name):
    for c in code_cells(load(name)):
        for o in c.get('outputs', []):
            assert o['output_type'] != 'error', f"{name}: {src(c)[:80]!r} raised {o.get('ename')}: {o.get('evalue')}"
            assert not (o['output_type'] == 'stream' and o['name'] == 'stderr'), \
                f"{name}: stderr in {src(c)[:80]!r}: {''.join(o['text'])[:300]}"
            assert 'application/vnd.jupyter.widget-view+json' not in o.get('data', {}), f'{name}: a widget in {src(c)[:80]!r}'
        for t in output_texts(c):
            assert 'Traceback' not in t and 'Warning:' not in t, f'{name}: {src(c)[:80]!r}: {t[:300]}'
            assert not PROGRESS_BAR.search(t), f'{name}: a progress bar in {src(c)[:80]!r}: {t[:200]}'


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_no_machine_paths_or_user_names(name):
    user = getpass.getuser()
    names = [user] if len(user) > 3 and user not in {'root', 'runner', 'user'} else []
    for c in code_cells(load(name)):
        for t in output_texts(c):
            m = MACHINE_PATH.search(t)
            assert not m, f'{name}: a machine path ({m.group()!r}) in the output of {src(c)[:80]!r}'
            for n in names: assert n not in t, f'{name}: the user name {n!r} in the output of {src(c)[:80]!r}'


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_small_figures(name):
    pngs = [o['data']['image/png'] for c in code_cells(load(name)) for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
    assert all(len(p) < 100_000 for p in pngs), f'{name}: a figure is over 100 kB of base64: lower its dpi or size'


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_outputs_are_cleaned(name):
    "`nbdev_clean` ran after execution: no execution counts, no cell metadata beyond tags."
    for c in load(name)['cells']:
        assert c.get('execution_count') is None, f'{name}: {src(c)[:80]}'
        assert set(c.get('metadata', {})) <= {'tags'}, (name, src(c)[:80], c['metadata'])


def exercises(nb):
    "(question, solution code) of each exercise: a '**Exercise n.**' cell, a 'Solution' heading, then a code cell."
    cells, out = nb['cells'], []
    for i, c in enumerate(cells):
        if c['cell_type'] == 'markdown' and re.match(r'\*\*Exercise \d+\.\*\*', src(c)):
            rest = cells[i + 1:i + 3]
            heading = rest[0] if rest and rest[0]['cell_type'] == 'markdown' else None
            solution = rest[1] if heading and len(rest) > 1 and rest[1]['cell_type'] == 'code' else None
            out.append((src(c), heading and src(heading), solution and src(solution)))
    return out


@pytest.mark.parametrize('name', sorted(WITH_EXERCISES))
def test_exercises(name):
    ex = exercises(load(name))
    assert len(ex) >= WITH_EXERCISES[name], f'{name}: {len(ex)} exercises, want at least {WITH_EXERCISES[name]}'
    for q, heading, sol in ex:
        assert '?' in q, f'{name}: an exercise that asks nothing: {q[:80]!r}'
        assert heading and re.match(r'#+ Solution \d+ \(try first\)', heading), f'{name}: no Solution heading after {q[:60]!r}'
        assert sol, f'{name}: no solution cell after {q[:60]!r}'
        assert re.search(r'\bassert\b|\btest_\w+\(', sol), f'{name}: a solution that checks nothing: {sol[:80]!r}'
        assert not re.match(r'#\|\s*(export|hide|eval:\s*false|notest|slow|cuda)', sol), f'{name}: CI would skip {sol[:60]!r}'
