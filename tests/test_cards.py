"""Every data card states what its loader computes, and every registered dataset has a card."""
import pytest
from conftest import ROOT
from lmmrec_nb.cards import card_problems, card_status
from lmmrec_nb.data import REGISTRY

CARDS = ROOT / 'data_cards'


def test_every_dataset_has_a_card():
    assert sorted(p.stem for p in CARDS.glob('*.md')) == sorted(REGISTRY)


@pytest.mark.parametrize('name', sorted(REGISTRY))
def test_card_matches_loader(name):
    card, fresh = card_status(CARDS / f'{name}.md')
    assert card == fresh, f'data_cards/{name}.md disagrees with its loader: run lmmrec_nb.cards.update_cards()'


@pytest.mark.parametrize('name', sorted(REGISTRY))
def test_card_has_required_sections(name):
    text = (CARDS / f'{name}.md').read_text()
    assert text.startswith('---\n') and 'license:' in text.split('---')[1]
    for section in ('## Source and citation', '## Terms', '## Preprocessing', '## Split protocol', '## Statistics',
                    '## Text sent to an LLM', '## Personal and sensitive information', '## Known biases and limits', '## Intended use'):
        assert section in text, f'{name}: missing {section!r}'


@pytest.mark.parametrize('name', sorted(REGISTRY))
def test_card_metadata_valid(name):
    "Each card parses with huggingface_hub's DatasetCard (offline) and its required YAML fields are present and valid."
    from huggingface_hub import DatasetCard
    card = DatasetCard.load(CARDS / f'{name}.md')
    assert card.data.to_dict().get('pretty_name')
    assert card_problems(CARDS / f'{name}.md') == [], f'data_cards/{name}.md'


def test_card_problems_found(tmp_path):
    "A card without a licence and with a size category its statistics contradict is reported."
    text = (CARDS / 'xrec-yelp-profiled.md').read_text().replace('license: other\n', '').replace('10K<n<100K', '1M<n<10M')
    (tmp_path / 'c.md').write_text(text)
    probs = card_problems(tmp_path / 'c.md')
    assert 'missing license' in probs and any(p.startswith("size_categories ['1M<n<10M'] but 35,073") for p in probs)
