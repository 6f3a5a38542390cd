"""Nothing is used before the chapter that explains it.

The reading order is the one `nbs/index.ipynb` gives a student under "Where to go next": the method chapters in a
numbered list, then the **Reference chapters** a student may skip (infrastructure). This test reads that list (so the
tour and the test cannot drift apart), maps every module to the chapter that exports it (`#| default_exp`), and checks
each chapter's exported cells: a name imported from the package must come from a reference chapter, from the chapter
itself, or from a method chapter earlier in the list; a reference chapter imports from reference chapters only.
"""
import ast, json, re
import pytest
from conftest import ROOT

NBS = ROOT / 'nbs'
EXPORT = re.compile(r'\s*#\|\s*export\b')


def cells(path, kind='code'):
    "Sources of the cells of `kind` in the notebook at `path`."
    return [''.join(c['source']) for c in json.loads(path.read_text())['cells'] if c['cell_type'] == kind]


def reading_order():
    "(method chapters in reading order, reference chapters), as nbs/index.ipynb's 'Where to go next' lists them."
    text = next((s for s in cells(NBS / 'index.ipynb', 'markdown') if '## Where to go next' in s), None)
    assert text, "nbs/index.ipynb has no '## Where to go next' section"
    text = text.split('## Where to go next', 1)[1]
    assert '**Reference chapters**' in text, "'Where to go next' does not name the **Reference chapters**"
    method, reference = text.split('**Reference chapters**', 1)
    link = re.compile(r'\]\((\d\d_\w+)\.ipynb\)')  # chapters sit in nbs/ itself; experiments/... are not matched
    return link.findall(method), link.findall(reference)


METHOD, REFERENCE = reading_order()
CHAPTERS = sorted(p.stem for p in NBS.glob('[0-9][0-9]_*.ipynb'))


def default_exp(chapter):
    "The module a chapter exports to (its `#| default_exp` line), or None."
    for s in cells(NBS / f'{chapter}.ipynb'):
        m = re.match(r'\s*#\|\s*default_exp\s+(\S+)', s)
        if m: return m.group(1)
    return None


MODULE_OF = {c: default_exp(c) for c in CHAPTERS}
CHAPTER_OF = {m: c for c, m in MODULE_OF.items() if m}


def parse(src, where):
    "The AST of a cell, with IPython magics and shell lines left out."
    code = '\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in src.splitlines())
    try: return ast.parse(code)
    except SyntaxError as e: pytest.fail(f'{where}: an exported cell does not parse: {e}')


def package_imports(tree):
    "(module, name) of every import from lmmrec_nb in `tree`, relative imports resolved against the package."
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            src = node.module or ''
            if node.level == 1: src = f'lmmrec_nb.{src}' if src else 'lmmrec_nb'
            if src == 'lmmrec_nb': out += [(a.name, '*') for a in node.names]  # from lmmrec_nb import data
            elif src.startswith('lmmrec_nb.'): out += [(src.split('.')[1], a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name.split('.')[1], '*') for a in node.names if a.name.startswith('lmmrec_nb.')]
    return out


def exported_imports(chapter):
    "(module, name) of every package import in the exported cells of `chapter`."
    return [imp for i, s in enumerate(cells(NBS / f'{chapter}.ipynb')) if EXPORT.match(s)
            for imp in package_imports(parse(s, f'{chapter}, code cell {i}'))]


def defined_in(chapter):
    "Names a chapter's exported cells define at top level (functions, classes, assignments)."
    names = set()
    for i, s in enumerate(cells(NBS / f'{chapter}.ipynb')):
        if not EXPORT.match(s): continue
        for node in parse(s, f'{chapter}, code cell {i}').body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


DEFINED = {c: defined_in(c) for c in CHAPTERS}


def origins(module, name):
    "Chapters a name imported from `module` comes from: the module's chapter, and where it is defined if re-exported."
    own = CHAPTER_OF[module]
    if name == '*' or name in DEFINED[own]: return {own}
    return {own, *(c for c in CHAPTERS if name in DEFINED[c])}


def rank(chapter):
    "Reference chapters first (a student may read them any time), then the method chapters in the tour's order."
    if chapter in REFERENCE: return -1
    return METHOD.index(chapter) if chapter in METHOD else len(METHOD)  # unplaced: last (the listing test fails)


def test_the_tour_lists_every_chapter_once():
    assert len(METHOD) >= 5 and len(REFERENCE) >= 3, (METHOD, REFERENCE)
    assert len(set(METHOD)) == len(METHOD) and not set(METHOD) & set(REFERENCE), (METHOD, REFERENCE)
    unlisted = sorted(set(CHAPTERS) - set(METHOD) - set(REFERENCE))
    assert not unlisted, f"chapters that index.ipynb's 'Where to go next' does not place: {unlisted}"
    missing = sorted(set(METHOD + REFERENCE) - set(CHAPTERS))
    assert not missing, f"'Where to go next' links chapters that do not exist: {missing}"


def test_every_module_has_one_chapter():
    mods = [m for m in MODULE_OF.values() if m]
    assert len(mods) == len(set(mods)), f'two chapters export into one module: {MODULE_OF}'


def late_uses(chapter, imports):
    "The (module, name) imports of `chapter` that come from a chapter it may not use yet, as readable strings."
    late = []
    for module, name in imports:
        assert module in CHAPTER_OF, f'{chapter} imports from lmmrec_nb.{module}, which no chapter exports'
        late += [f'{name} from lmmrec_nb.{module} ({src})' for src in sorted(origins(module, name))
                 if src != chapter and rank(src) >= max(rank(chapter), 0)]
    return late


def test_the_rule_catches_a_use_before_definition():
    "The check itself flags an import from a later method chapter, and a reference chapter using a method chapter."
    first, last, ref = METHOD[0], METHOD[-1], REFERENCE[0]
    tree = ast.parse(f'from .{MODULE_OF[last]} import early\nfrom lmmrec_nb.{MODULE_OF[ref]} import infra')
    imports = package_imports(tree)
    assert imports == [(MODULE_OF[last], 'early'), (MODULE_OF[ref], 'infra')]
    assert late_uses(first, imports) == [f'early from lmmrec_nb.{MODULE_OF[last]} ({last})']
    assert late_uses(last, imports) == []  # the last method chapter may use every other
    assert late_uses(ref, imports) == [f'early from lmmrec_nb.{MODULE_OF[last]} ({last})']  # a reference chapter may not


@pytest.mark.parametrize('chapter', CHAPTERS)
def test_nothing_is_used_before_its_chapter(chapter):
    late = late_uses(chapter, exported_imports(chapter))
    where = 'a reference chapter may use only reference chapters' if chapter in REFERENCE else \
        f'{chapter} is number {rank(chapter) + 1} of the reading order {METHOD}'
    assert not late, f"{chapter} uses {', '.join(late)} before the chapter that explains it; {where}"
