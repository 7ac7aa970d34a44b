"""The sparse-text benchmark's corpus reader and metric."""

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from benchmarks import bench_sparse_text as bench

HEADER = "  1 This software and database is being provided to you, the LICENSEE\n"


def write_wordnet(directory, lines_by_pos):
    for pos in ("noun", "verb", "adj", "adv"):
        text = HEADER + "".join(lines_by_pos.get(pos, []))
        (directory / f"data.{pos}").write_text(text)


def test_reader_on_a_hand_written_dict(tmp_path):
    write_wordnet(tmp_path, {
        "noun": [
            "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is "
            "perceived or known  \n",
            "02084071 05 n 02 dog 0 domestic_dog 0 001 @ 02083346 n 0000 | a "
            "member of the genus Canis; \"the dog barked all night\"  \n",
        ],
        "verb": ["01835496 38 v 01 travel 0 000 | change location  \n"],
        "adj": ["00001740 00 a 01 able(p) 0 000 | having the necessary means  \n"],
        "adv": ["00001740 02 r 01 a_cappella 0 000 | without musical accompaniment  \n"],
    })
    docs, labels = bench.load_wordnet_glosses(tmp_path)
    assert docs == [
        "entity. that which is perceived or known",
        'dog domestic dog. a member of the genus Canis; "the dog barked all night"',
        "travel. change location",
        "able. having the necessary means",
        "a cappella. without musical accompaniment",
    ]
    assert labels.tolist() == [
        "noun.Tops", "noun.animal", "verb.motion", "adj.all", "adv.all",
    ]


def test_reader_names_the_package_when_files_are_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="wordnet-base"):
        bench.load_wordnet_glosses(tmp_path)


@pytest.mark.skipif(
    not (Path(bench.WORDNET_DIR) / "data.noun").is_file(),
    reason="the Debian package wordnet-base is not installed",
)
def test_the_installed_corpus():
    docs, labels = bench.load_wordnet_glosses()
    assert len(docs) == 117_659  # WordNet 3.0's synsets
    assert len(set(labels)) == len(bench.LEXNAMES) == 45
    assert all(doc.strip() for doc in docs)


def test_mean_cosine_matches_the_dense_computation():
    rng = np.random.default_rng(0)
    X = sparse.random(50, 30, density=0.2, format="csr", random_state=1)
    X = X[np.diff(X.indptr) > 0]
    D = X.toarray()
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = sparse.csr_matrix(D)
    centers = rng.normal(size=(4, 30))
    labels = rng.integers(0, 4, size=X.shape[0])
    unit = centers / np.linalg.norm(centers, axis=1, keepdims=True)
    expected = np.mean([D[i] @ unit[labels[i]] for i in range(X.shape[0])])
    assert bench.mean_cosine(X, centers, labels) == pytest.approx(expected)
