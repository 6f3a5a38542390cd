"""The `lmmrec-nb` command line (nbs/40_cli.ipynb) on a small synthetic review file, end to end.

data add / list (and their errors: a damaged line, a changed copy, a bad domain), extract with a scripted LLM for a
slice of items (partial text), train LMMRec on that partial text, explain a user; every error exits with status 2
and one line naming the problem. The real-data walk-through is the chapter itself.
"""
import json
import numpy as np, pytest
from lmmrec_nb import cli
from lmmrec_nb.llm import Backend
from lmmrec_nb.prompts import get_domain


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv('LMMREC_CACHE', str(tmp_path / 'cache'))
    return tmp_path / 'cache'


@pytest.fixture
def reviews(tmp_path):
    "30 users with 6 reviews each of 20 cafés (ids are strings), every review with text."
    rng, lines = np.random.default_rng(0), ['user,item,text,rating']
    for u in range(30):
        for i in rng.choice(20, 6, replace=False):
            lines.append(f'u{u},cafe{i},"quiet corner, good coffee and fast wifi near cafe{i}",{rng.integers(1, 6)}')
    f = tmp_path / 'reviews.csv'
    f.write_text('\n'.join(lines) + '\n')
    return f


class Scripted(Backend):
    "Answers every prompt with a valid motivation in the local-business taxonomy."
    model_id = 'scripted'
    def complete(self, messages, settings):
        cat = next(iter(get_domain('local business').taxonomy))
        return json.dumps({'reasoning': 'Every review praises the quiet corner.', 'summary': 'People come here to work in quiet.',
                           'motivations': [{'category': cat, 'label': 'a quiet place to work', 'evidence': 'quiet corner'}]})


def run(capsys, *argv):
    cli.main(list(argv))
    return capsys.readouterr().out


def test_data_add_and_list(cache, reviews, capsys):
    out = run(capsys, 'data', 'add', str(reviews), '--name', 'cafes', '--domain', 'local business')
    assert 'added cafes (csv, domain local business' in out and '30 users, 20 items' in out
    assert 'cafes\tcsv\tlocal business' in run(capsys, 'data', 'list')
    assert cli.load_dataset('cafes').n_users == 30


def test_errors_exit_2_with_one_line(cache, reviews, tmp_path, capsys):
    bad = tmp_path / 'bad.csv'
    bad.write_text('user,item,rating\nu1,i1,5\nu2,i2,five\n')
    for argv, says in [(['data', 'add', str(bad), '--name', 'bad'], 'line 3: rating is'),
                       (['data', 'add', str(reviews), '--name', 'x', '--domain', 'jazz'], "unknown domain 'jazz'"),
                       (['train', 'nobody'], "unknown dataset 'nobody'")]:
        with pytest.raises(SystemExit) as e: cli.main(argv)
        assert e.value.code == 2 and says in capsys.readouterr().err, argv
    cli.main(['data', 'add', str(reviews), '--name', 'cafes'])
    with pytest.raises(SystemExit): cli.main(['train', 'cafes', '--max-epochs', '1'])  # no motivations yet
    assert 'has no motivations yet' in capsys.readouterr().err


def test_extract_a_slice_then_train_and_explain(cache, reviews, monkeypatch, capsys):
    import lmmrec_nb.llm
    monkeypatch.setattr(lmmrec_nb.llm, 'get_backend', lambda name, **kw: Scripted())
    cli.main(['data', 'add', str(reviews), '--name', 'cafes', '--domain', 'local business'])
    m = cli.extract('cafes', limit_items=5, progress=False)
    assert len(m.items) == 5 and 0 < len(m.users) < 30  # five cafés and the users who reviewed them
    asked = [json.loads(l)['key'] for l in (cli.dataset_dir('cafes') / 'responses.jsonl').read_text().splitlines()]
    assert len(asked) == len(set(asked)) == 5 + len(m.users)
    model, r, run_dir = cli.train('cafes', max_epochs=2, patience=1, progress=False)  # partial text: 5 of 20 items
    assert int(model.has_int[30:].sum()) == 5 and (run_dir / 'model.pt').exists()
    user = next(u for u in m.users['raw_id'])
    capsys.readouterr()
    out = run(capsys, 'explain', 'cafes', '--user', user, '--run', str(run_dir), '-k', '3')
    assert 'items with text 5/20' in out  # the coverage line, then the table
    table = out.splitlines()[-4:]
    assert 'recommended because' in table[0] and any('a quiet place to work' in l for l in table[1:])
    again = cli.extract('cafes', limit_items=5, progress=False)  # resumable: nothing asked twice
    assert len((cli.dataset_dir('cafes') / 'responses.jsonl').read_text().splitlines()) == len(asked)
