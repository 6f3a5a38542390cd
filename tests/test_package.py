"""The installed package: light, silent import; version in sync with settings.ini; the committed artifacts ship in the wheel."""
import configparser, subprocess, sys
from pathlib import Path
from conftest import ROOT


def test_import_is_silent_and_light():
    code = "import sys, lmmrec_nb; print(lmmrec_nb.__version__); print('torch' in sys.modules, 'dgl' in sys.modules)"
    r = subprocess.run([sys.executable, '-W', 'error', '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stderr == '', r.stderr
    cfg = configparser.ConfigParser(); cfg.read(ROOT / 'settings.ini')
    assert r.stdout.split() == [cfg['DEFAULT']['version'], 'False', 'False']


def test_core_import_warns_nothing():
    r = subprocess.run([sys.executable, '-W', 'error', '-c', 'import lmmrec_nb.core, lmmrec_nb.data, lmmrec_nb.eval; lmmrec_nb.core.import_dgl()'],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stderr == '', r.stderr


def test_cuda_request_without_cuda_raises():
    import torch, pytest
    from lmmrec_nb.core import resolve_device
    if torch.cuda.is_available(): pytest.skip('this machine has CUDA')
    with pytest.raises(RuntimeError, match='CUDA is not available'): resolve_device('cuda:0')


def test_exported_modules_define_every_name_they_use():
    """A name imported only in a notebook's hidden test cell passes nbdev_test but breaks the exported module; pyflakes sees it."""
    r = subprocess.run([sys.executable, '-m', 'pyflakes', *sorted(str(p) for p in (ROOT / 'lmmrec_nb').glob('*.py'))], capture_output=True, text=True)
    undefined = [l for l in r.stdout.splitlines() if 'undefined name' in l]
    assert not undefined, '\n'.join(undefined)


# ---------------------------------------------------------------- the committed artifacts travel with the package
ARTIFACTS = ['lmmrec_nb/artifacts/motivations/cache.jsonl.gz', 'lmmrec_nb/artifacts/motivations/CARD.md',
             'lmmrec_nb/artifacts/motivations/summary.json', 'lmmrec_nb/artifacts/text_vectors/MANIFEST.json']

INSTALLED = r'''
import json, sys, warnings
from pathlib import Path
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    import lmmrec_nb, lmmrec_nb.text_encoder as te, lmmrec_nb.extract as ex
    from lmmrec_nb.llm import ResponseCache
    from lmmrec_nb.core import full_run_results
    out = {'file': lmmrec_nb.__file__, 'vectors': len(te.shipped_vectors()), 'VECTORS': str(te.VECTORS), 'ARTIFACT': str(ex.ARTIFACT),
           'answers': len(ResponseCache(ex.ARTIFACT / 'cache.jsonl.gz', 'replay')), 'card': (ex.ARTIFACT / 'CARD.md').is_file()}
    out['warned_before_results'] = [str(x.message) for x in w]
    out['results'] = full_run_results('e01_lightgcn_full*.json')
    out['warned'] = [str(x.message) for x in w]
print(json.dumps(out))
'''


def build_wheel(dest):
    "Build the wheel from the repository root; setuptools' build and egg-info folders go to `dest` (a stale build/ can't leak in)."
    import os
    extra = Path(dest) / 'extra.cfg'
    extra.write_text(f'[build]\nbuild_base = {Path(dest) / "build"}\n[egg_info]\negg_base = {dest}\n')
    env = {**os.environ, 'DIST_EXTRA_CONFIG': str(extra), 'PIP_NO_INPUT': '1'}
    wheels = Path(dest) / 'wheels'
    for isolation in (['--no-build-isolation'], []):
        r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', *isolation, '-q', '-w', str(wheels), '.'],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if r.returncode == 0: break
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = wheels.glob('lmmrec_nb-*.whl')
    return whl


import pytest


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    "(wheel file, the folder it is unpacked in, an environment that imports lmmrec_nb from there, a folder outside the checkout)."
    import os, zipfile
    tmp = tmp_path_factory.mktemp('wheel')
    whl = build_wheel(tmp)
    site = tmp / 'site'
    with zipfile.ZipFile(whl) as z: z.extractall(site)
    elsewhere = tmp / 'elsewhere'; elsewhere.mkdir()  # not the checkout: its lmmrec_nb can't be imported from here
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'} | {'PYTHONPATH': str(site)}
    return whl, site, env, elsewhere


def test_wheel_ships_the_artifacts_and_they_work_installed(wheel):
    """A non-editable install (the wheel, unpacked) finds the committed LLM answers and the shipped text vectors by itself."""
    import json, zipfile
    whl, site, env, elsewhere = wheel
    with zipfile.ZipFile(whl) as z:
        names = set(z.namelist())
        assert set(ARTIFACTS) <= names, sorted(set(ARTIFACTS) - names)
        listed = json.loads(z.read('lmmrec_nb/artifacts/text_vectors/MANIFEST.json'))
        assert listed and {f'lmmrec_nb/artifacts/text_vectors/{n}' for n in listed} <= names, sorted(listed)
    r = subprocess.run([sys.executable, '-c', INSTALLED], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(out['file']).resolve().is_relative_to(site.resolve()), out['file']
    assert Path(out['VECTORS']).is_relative_to(site.resolve()) and Path(out['ARTIFACT']).is_relative_to(site.resolve()), out
    assert out['vectors'] == sum(m['rows'] for m in listed.values()) and out['answers'] > 0 and out['card'], out
    assert not [m for m in out['warned_before_results'] if 'no shipped text vectors' in m], out['warned_before_results']
    # outside a checkout there are no committed full-run results: [] and a warning that says why
    assert out['results'] == [] and any(m.startswith('no full-run results to read') for m in out['warned']), out['warned']


END_TO_END = r'''
import lmmrec_nb, sys
assert 'site-packages' in lmmrec_nb.__file__, lmmrec_nb.__file__  # the installed copy, not the checkout
from lmmrec_nb.cli import explain_user, main, train
try: main(['--help'])
except SystemExit: pass  # --help exits after printing
model, r, run = train('amazon-musical-instruments-2014', max_epochs=2, patience=1, progress=False)
print(explain_user('amazon-musical-instruments-2014', 'A3VVKC910FN4EK', run, k=3).to_string())
print('RUN', type(model).__name__, r['epochs'], run)
'''


def fresh_venv(path, whl):
    "A new virtual environment outside the checkout with the wheel pip-installed (no index); its dependencies come from this venv."
    import site, sysconfig, venv
    venv.create(path, with_pip=True)
    py = Path(path) / 'bin' / 'python'
    purelib = subprocess.run([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, 'deps_from_dev_venv.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')  # torch, dgl, ... (no network)
    r = subprocess.run([str(py), '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', str(whl)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return py


def test_installed_wheel_has_the_console_script_and_runs_the_method(wheel, tmp_path):
    """pip-installed into a fresh venv: `lmmrec-nb --help` runs; the default dataset from a mirror, its motivations replayed,
    LMMRec for 2 epochs, one user explained, all from the installed package."""
    import os, zipfile
    whl, site, env, elsewhere = wheel
    py = fresh_venv(tmp_path / 'venv', whl)
    env = {k: v for k, v in env.items() if k != 'PYTHONPATH'} | {'LMMREC_CACHE': str(tmp_path / 'cache')}  # data from the mirror
    r = subprocess.run([str(py.parent / 'lmmrec-nb'), 'data', 'add', '--help'], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and 'usage: lmmrec-nb data add' in r.stdout, r.stderr[-2000:]
    r = subprocess.run([str(py), '-c', END_TO_END], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'usage: lmmrec-nb' in r.stdout and 'recommended because' in r.stdout, r.stdout[-2000:]
    run = r.stdout.split('RUN ')[1].split()
    assert run[:2] == ['LMMRec', '2'] and Path(run[2]).resolve().is_relative_to((tmp_path / 'cache').resolve()), run


def test_shipped_vectors_absent_missing_manifest_or_file(tmp_path):
    """No folder: {} and one warning. A folder without MANIFEST.json, or a manifest naming a missing file: ValueError."""
    import json, warnings, pytest
    from lmmrec_nb.text_encoder import shipped_vectors
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        assert shipped_vectors(tmp_path / 'absent') == {} and shipped_vectors(tmp_path / 'absent') == {}
    assert [str(x.message) for x in w] == [f'no shipped text vectors at {tmp_path / "absent"}: texts will be encoded on this machine, '
                                           'and results may differ in the last bits from the committed runs']
    with pytest.raises(ValueError, match='without its MANIFEST.json'): shipped_vectors(tmp_path)
    (tmp_path / 'MANIFEST.json').write_text(json.dumps({'gone.npz': {'sha256': '0'}}))
    with pytest.raises(ValueError, match=r'gone\.npz: listed in .*MANIFEST\.json but missing'): shipped_vectors(tmp_path)
