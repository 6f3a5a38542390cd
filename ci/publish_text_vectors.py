"""Write the shipped frozen text vectors (lmmrec_nb/artifacts/text_vectors/) of the datasets our experiments train on.

Run from the repository root after the motivations change: `python ci/publish_text_vectors.py [dataset ...]`.
Per dataset, one file holds every distinct user and item text of every kind that `motivation_texts` gives
(`TEXT_KINDS`: the combined text, the summary, the motivations; XRec profiles are one text, the same for every
kind), so a run with either text choice (`TEXTS` in the experiments) trains on shipped vectors. New texts are
encoded one per forward pass; vectors the file already holds are kept bit for bit, and a file that already holds
exactly these texts is left as it is (MANIFEST.json too).
"""
import sys
from lmmrec_nb.data import load
from lmmrec_nb.extract import TEXT_KINDS, motivation_texts
from lmmrec_nb.text_encoder import VECTORS, publish_vectors

DATASETS = sys.argv[1:] or ['amazon-musical-instruments-2014', 'xrec-yelp-profiled']

for name in DATASETS:
    d = load(name)
    texts = {t for kind in TEXT_KINDS for table in motivation_texts(d, kind=kind).values() for t in table.text}
    path = publish_vectors(name, sorted(texts), folder=VECTORS)
    print(name, '->', path, f'{len(texts)} texts, {path.stat().st_size / 2**20:.1f} MiB', flush=True)
