"""The font verification benchmark's protocol (benchmarks/bench_font_verification.py)
on hand-made embeddings and tiny DejaVu data (no training)."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks import bench_font_verification as bench

mpl = pytest.importorskip("matplotlib")
DEJAVU = sorted((Path(mpl.get_data_path()) / "fonts" / "ttf").glob("DejaVu*.ttf"))


def _identities(sizes):
    return np.repeat(np.arange(len(sizes)), sizes)


def test_evaluate_perfect_and_useless_embeddings():
    y = _identities([6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1])
    perfect = np.eye(11)[y]
    rep, (fpr, tpr) = bench.evaluate(perfect, y, seed=0)
    assert rep["accuracy"] == 1.0 and rep["auc"] == 1.0
    assert rep["tar@far=0.001"] == 1.0 and rep["rank1"] == 1.0
    # identical embeddings: every pair scores the same, rank-1 is the
    # documented tie rule's (ties count against the probe)
    same = np.ones((len(y), 3))
    rep, _ = bench.evaluate(same, y, seed=0)
    assert rep["auc"] == 0.5 and rep["rank1"] == 0.0
    assert rep["rank10"] == 0.0


def test_evaluate_gallery_holds_every_identity():
    # probes of identity 0 are nearer to the singleton identity 2 than to
    # identity 0's enrolled image: rank-1 must count that as a miss
    y = np.r_[0, 0, 1, 1, 2, _identities([4] * 6) + 3]
    Z = np.zeros((len(y), 11))
    Z[:5, :2] = [[1, 0.0], [0.6, 0.8], [0, 1.0], [0.05, 1.0], [0.62, 0.78]]
    Z[5:, 2:8] = np.eye(6)[y[5:] - 3]  # well-separated other identities
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    rep, _ = bench.evaluate(Z, y, seed=0)
    assert rep["rank1"] < 1.0 and rep["rank5"] == 1.0


def test_validation_split_is_identities_of_a_only():
    y = _identities([4, 3, 3, 2, 2, 2])
    X = np.arange(len(y))[:, None].astype(float)
    Xa, ya, Xv, yv = bench.validation_split(X, y, n_val=2, seed=0)
    assert len(np.unique(yv)) == 2
    assert not set(ya) & set(yv)
    assert len(ya) + len(yv) == len(y)
    np.testing.assert_array_equal(np.sort(np.r_[Xa[:, 0], Xv[:, 0]]),
                                  np.arange(len(y)))


def test_write_csv_takes_rows_with_different_keys(tmp_path):
    bench.write_csv([dict(a=1.0, b=2), dict(a=0.123456789, b=3, chosen=True)],
                    tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_text().splitlines() == [
        "a,b,chosen", "1.0,2,", "0.12346,3,True"]


def test_load_split_disjoint_identities(monkeypatch):
    monkeypatch.setitem(bench.TASKS, "tiny", dict(
        loader=dict(task="fonts", characters="0123456789", n_max=6,
                    imbalance_ratio=3, font_paths=tuple(DEJAVU)),
        n_train=7, n_val=2, n_test=5))
    Xtr, ytr, Xte, yte, data = bench.load_split("tiny", 0)
    assert not set(ytr) & set(yte)
    assert len(np.unique(ytr)) == 7 and len(np.unique(yte)) == 5
    assert Xtr.shape[1] == bench.IMAGE_SIZE ** 2
    assert len(ytr) + len(yte) == len(data.target)
