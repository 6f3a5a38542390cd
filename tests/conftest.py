"""Shared pytest set-up: data mirror and cache paths, the repository root, and papermill execution."""
import json, math, os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((ROOT / 'nbs' / 'experiments').glob('e*.ipynb'))
if not os.environ.get('LMMREC_DATA_MIRROR') and (ROOT.parent / 'shared' / 'data').is_dir():
    os.environ['LMMREC_DATA_MIRROR'] = str(ROOT.parent / 'shared' / 'data')
os.environ.setdefault('LMMREC_CACHE', str(ROOT / '.cache' / 'lmmrec_nb'))
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')


def parameters_cells(nb_path):
    "Code cells of a notebook tagged `parameters`."
    nb = json.loads(Path(nb_path).read_text())
    return [c for c in nb['cells'] if c['cell_type'] == 'code' and 'parameters' in c.get('metadata', {}).get('tags', [])]


def run_notebook(nb_path, out_dir, **params):
    "Execute an experiment notebook with papermill; return its records."
    import papermill as pm
    from lmmrec_nb.core import read_records
    out_nb = Path(out_dir) / Path(nb_path).name
    pm.execute_notebook(str(nb_path), str(out_nb), parameters=params, kernel_name='python3', language='python', cwd=str(ROOT), progress_bar=False)
    return read_records(out_nb)


def is_finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


class Boom:
    "A pickle payload for the hostile-input tests: unpickling it would create the file `marker`."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, (f'touch {self.marker}',))
