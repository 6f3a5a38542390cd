"""Write the shipped frozen text vectors (artifacts/text_vectors/) of the datasets our experiments train on.

Run from the repository root after the motivations change: `python ci/publish_text_vectors.py`. It encodes every
user and item text that `motivation_texts` gives (one text per forward pass) and rewrites the files and MANIFEST.json.
"""
import sys
from lmmrec_nb.data import load
from lmmrec_nb.extract import motivation_texts
from lmmrec_nb.text_encoder import VECTORS, publish_vectors

DATASETS = sys.argv[1:] or ['amazon-musical-instruments-2014', 'xrec-yelp-profiled']

for name in DATASETS:
    texts = motivation_texts(load(name))
    path = publish_vectors(name, [t for kind in ('user', 'item') for t in texts[kind].text], folder=VECTORS)
    print(name, '->', path, f'{path.stat().st_size / 2**20:.1f} MiB')
