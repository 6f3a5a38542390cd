"""The chapters as a student runs them: "Run All" in Jupyter executes every cell, including `#| cuda` ones."""
import json
import pytest
from conftest import ROOT

CHAPTERS = sorted((ROOT / 'nbs').glob('[0-9]*.ipynb'))


def cuda_cells(nb):
    cells = json.loads(nb.read_text())['cells']
    return [''.join(c['source']) for c in cells if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| cuda')]


@pytest.mark.parametrize('nb', CHAPTERS, ids=lambda p: p.stem)
def test_cuda_cells_skip_themselves_on_a_cpu_machine(nb):
    """Every `#| cuda` cell runs its body under `if cuda_here(...)`, which prints "skipped" on a CPU machine."""
    for src in cuda_cells(nb):
        body = [l for l in src.splitlines()[1:] if l.strip() and not l.startswith(('#', 'from ', 'import '))]
        assert body and body[0].startswith('if cuda_here('), f'{nb.name}: a #| cuda cell does not start with `if cuda_here(`'
        assert all(l.startswith((' ', '\t')) for l in body[1:]), f'{nb.name}: a #| cuda cell has code outside its `if cuda_here(` block'


def test_a_cuda_cell_really_runs_to_the_end_on_this_machine(tmp_path):
    """Execute 20_graph's cells in order, `#| cuda` included, as Jupyter's Run All does: no cell raises."""
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    nb = read_nb(ROOT / 'nbs' / '20_graph.ipynb')
    shell = CaptureShell(path=ROOT / 'nbs')
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        shell.run(cell.source)
        assert not shell.exc, f'cell {cell.source[:80]!r} raised {shell.exc!r}'
