"""Open a notebook in JupyterLab in a real (headless) browser, Run All through the UI, and check no cell failed.

Usage: python ci/browser_check.py [nbs/index.ipynb] [--timeout 600] [--shot ci/results/browser_tour.png]
Starts `jupyter lab` on 127.0.0.1 with a random token (autosave and news off, so nothing on disk changes), drives
Debian's Chromium with Playwright (its own browser download is not needed), clicks Run > Run All Cells, waits for
every code cell to get an execution count, fails if any output is an error, and saves screenshots.
Last line: JSON with the cell counts and the seconds taken.
"""
import argparse, json, os, secrets, shutil, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def lab_settings(folder: Path):
    "A JupyterLab settings folder: autosave and news off, every cell rendered (no windowing), so prompts can be read."
    for plugin, value in (('docmanager-extension/plugin', {'autosave': False}),
                          ('notebook-extension/tracker', {'windowingMode': 'none'}),
                          ('apputils-extension/notification', {'fetchNews': 'false', 'checkForUpdates': False})):
        f = folder / '@jupyterlab' / f'{plugin}.jupyterlab-settings'
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))


def start_lab(port: int, token: str, settings: Path):
    "Start JupyterLab on 127.0.0.1 (settings and workspaces in the temporary `settings` folder); wait until it answers."
    env = {**os.environ, 'JUPYTERLAB_SETTINGS_DIR': str(settings), 'JUPYTERLAB_WORKSPACES_DIR': str(settings / 'ws')}
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={ROOT}', '--ServerApp.open_browser=False', '--allow-root']
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2)
            return proc
        except OSError: time.sleep(0.5)
    proc.kill()
    raise SystemExit('jupyter lab did not answer on 127.0.0.1 within 60 s')


ERRORS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'  # tracebacks and warnings


def tracebacks(page):
    "The error outputs on the page (stderr that holds a traceback or an error, not a warning)."
    return [e for e in page.locator(ERRORS).all_inner_texts() if 'Traceback' in e or 'Error' in e]


def prompts(page):
    "The input prompts of every code cell, e.g. ['[1]:', '[*]:', '[ ]:']."
    return [p.strip() for p in page.locator('.jp-CodeCell .jp-InputPrompt').all_inner_texts()]


def click_run_all(page):
    "Run > Run All Cells, through the menu as a student would."
    page.get_by_role('menuitem', name='Run', exact=True).click()
    page.wait_for_timeout(500)
    page.get_by_role('menuitem', name='Run All Cells', exact=True).click()


def run_all(page, timeout: float):
    "Run All, and wait until every code cell has run; click again if the queue stopped short with no error shown."
    click_run_all(page); clicks, deadline, idle_since = 1, time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        ps = prompts(page)
        if ps and all(p not in ('[ ]:', '[*]:', '') for p in ps): return len(ps)
        idle = '[*]:' not in ps and page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count() > 0
        idle_since = (idle_since or time.monotonic()) if idle else None
        if idle_since and time.monotonic() - idle_since > 20:  # nothing queued, nothing running, cells left
            if tracebacks(page) or clicks == 3: return len(ps)  # main() reports the error, or the cells left
            for text in page.locator('.jp-Dialog').all_inner_texts():  # e.g. a lost connection under load: say, dismiss
                print(f'JupyterLab showed a dialog (dismissed, Run All again): {text[:300]!r}; prompts: {ps}', flush=True)
                page.locator('.jp-Dialog button').last.click()
            click_run_all(page); clicks, idle_since = clicks + 1, None  # a click under load can run one cell only
        time.sleep(2)
    raise SystemExit(f'Run All did not finish within {timeout:.0f} s; prompts: {prompts(page)}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('notebook', nargs='?', default='nbs/index.ipynb')
    ap.add_argument('--timeout', type=float, default=600)
    ap.add_argument('--shot', default='ci/results/browser_tour.png')
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    if not chromium: raise SystemExit('Chromium is not installed (Debian: apt-get install chromium)')
    port, token, t0 = free_port(), secrets.token_hex(16), time.monotonic()
    with tempfile.TemporaryDirectory() as settings:
        lab_settings(Path(settings))
        lab = start_lab(port, token, Path(settings))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={'width': 1400, 'height': 1000})
                page.goto(f'http://127.0.0.1:{port}/lab/tree/{a.notebook}?token={token}')
                page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=120_000)
                page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=120_000)
                n = run_all(page, a.timeout); done = prompts(page)
                errors = tracebacks(page)  # warnings are stderr too: only tracebacks count
                Path(a.shot).parent.mkdir(parents=True, exist_ok=True)
                figures = page.locator('.jp-OutputArea-output img')
                (figures.last if figures.count() else page.locator('.jp-Cell').last).scroll_into_view_if_needed()
                page.screenshot(path=a.shot)  # the last figure the run drew, as the student sees it
                browser.close()
        finally:
            lab.terminate()
            lab.wait(timeout=30)
    secs = time.monotonic() - t0
    left = [p for p in done if p in ('[ ]:', '[*]:', '')]
    if left and not errors: raise SystemExit(f'{len(left)} of {n} code cells never ran (Run All clicked 3 times)')
    print(f'{a.notebook}: {n} code cells executed in JupyterLab (Chromium), {len(errors)} with an error; '
          f'screenshot {a.shot}; {secs:.0f} s')
    print(json.dumps({'notebook': a.notebook, 'code_cells': n, 'errors': len(errors), 'seconds': round(secs, 1)}))
    if errors: raise SystemExit('error output:\n' + '\n---\n'.join(t[:2000] for t in errors))


if __name__ == '__main__': main()
