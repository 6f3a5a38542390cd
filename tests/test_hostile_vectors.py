"""Text-vector files (the embedding cache's shards, the shipped frozen vectors) under damage or tampering."""
import io, json
import numpy as np, pytest
from lmmrec_nb.text_encoder import VECTORS, EmbeddingCache, read_vectors, shipped_vectors
from conftest import Boom



def test_a_truncated_shard_is_named(tmp_path):
    """A shard cut short (a copy interrupted by hand) raises a ValueError naming the file."""
    buf = io.BytesIO(); np.savez(buf, keys=np.array(['a' * 64]), vecs=np.ones((1, 4), np.float32))
    (tmp_path / 'x.npz').write_bytes(buf.getvalue()[:50])
    with pytest.raises(ValueError, match=r'x\.npz: not a readable vector file'): EmbeddingCache(tmp_path, frozen={})


def test_a_shard_of_objects_is_refused_without_running_them(tmp_path):
    """An .npz whose arrays are pickled objects is refused (allow_pickle=False), and the payload never runs."""
    marker = tmp_path / 'pwned'
    np.savez(tmp_path / 'evil.npz', keys=np.array([Boom(marker)], dtype=object), vecs=np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match='evil.npz: not a readable vector file'): EmbeddingCache(tmp_path, frozen={})
    assert not marker.exists()


def test_a_shard_with_mismatched_rows_is_refused(tmp_path):
    """Two keys for one vector (or float64 vectors) is not a vector file."""
    np.savez(tmp_path / 'odd.npz', keys=np.array(['a', 'b']), vecs=np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match='expected keys'): read_vectors(tmp_path / 'odd.npz')


def test_shipped_vectors_are_checked_against_the_manifest(tmp_path):
    """Every shipped file matches its manifest's sha256; a changed byte is caught."""
    man = json.loads((VECTORS / 'MANIFEST.json').read_text())
    assert {'amazon-musical-instruments-2014.npz', 'xrec-yelp-profiled.npz'} <= set(man)
    assert len(shipped_vectors()) == sum(m['rows'] for m in man.values())
    name = 'amazon-musical-instruments-2014.npz'
    (tmp_path / 'MANIFEST.json').write_text(json.dumps({name: man[name]}))
    data = bytearray((VECTORS / name).read_bytes()); data[-100] ^= 1
    (tmp_path / name).write_bytes(bytes(data))
    with pytest.raises(ValueError, match='does not match'): shipped_vectors(tmp_path)
