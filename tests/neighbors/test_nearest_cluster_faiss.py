"""KNearestClusterClassifier(algorithm="faiss"): faiss clustering and faiss
search (flat, and IVF from many centroids), against the brute search.

Only the missing-faiss test runs without faiss.
"""

import pickle
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_clmle import KNearestClusterClassifier
from sklearn_clmle.cluster import SphericalKMeans
from sklearn_clmle.cluster import _per_class
from sklearn_clmle.neighbors import _faiss_search, _scoring

RULE = dict(scale=16.0, aggregate="max", prior_correction=0.0, head="none")


@pytest.fixture
def faiss():
    """The faiss module; the tests that take it are skipped without it."""
    return pytest.importorskip("faiss")


@pytest.fixture
def ivf_from_50(monkeypatch):
    """IVF for any index of 50 centroids or more."""
    monkeypatch.setattr(_faiss_search, "IVF_MIN_CENTROIDS", 50)


def problem(n_classes=5, n=1500, d=16, seed=0):
    """Long-tailed classes, each a few sub-blobs on the sphere; queries from
    the same distribution."""
    rng = np.random.default_rng(seed)
    p = 0.6 ** np.arange(n_classes)
    means = rng.normal(size=(n_classes, 3, d))
    y = rng.choice(n_classes, size=n + 400, p=p / p.sum())
    X = means[y, rng.integers(0, 3, size=y.size)] + 0.35 * rng.normal(size=(y.size, d))
    return X[:n], y[:n], X[n:], y[n:]


def unit_rows(n, d, seed):
    X = np.random.default_rng(seed).normal(size=(n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_missing_faiss_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # "import faiss" fails
    X, y, _, _ = problem(n=60)
    with pytest.raises(ImportError, match=r"pip install sklearn-clmle\[faiss\]"):
        KNearestClusterClassifier(algorithm="faiss").fit(X, y)


def test_per_class_clustering_goes_through_faiss_kmeans(monkeypatch, faiss):
    used = []

    class Spy(SphericalKMeans):
        def fit(self, X, y=None, sample_weight=None):
            used.append((self.algorithm, self.equal_size))
            return super().fit(X, y, sample_weight)

    # the one per-class clustering (cluster._per_class) that _clusters calls
    monkeypatch.setattr(_per_class, "SphericalKMeans", Spy)
    X, y, _, _ = problem(n=400)
    clf = KNearestClusterClassifier(5, cluster_size=20, algorithm="faiss", **RULE,
                                    random_state=0).fit(X, y)
    assert used and set(used) == {("faiss", True)}
    KNearestClusterClassifier(5, cluster_size=20, algorithm="brute", **RULE,
                              random_state=0).fit(X, y)
    assert ("lloyd", True) in used
    # equal sizes within every class, as with the numpy clustering
    for c in clf.classes_:
        sizes = clf.cluster_sizes_[clf.cluster_classes_ == c]
        assert sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("ivf", [False, True])
def test_faiss_search_predicts_as_brute(ivf, monkeypatch, faiss):
    if ivf:
        monkeypatch.setattr(_faiss_search, "IVF_MIN_CENTROIDS", 50)
    X, y, Q, y_q = problem()
    clf = KNearestClusterClassifier(8, cluster_size=10, algorithm="faiss", **RULE,
                                    random_state=0).fit(X, y)
    assert clf.cluster_centers_.shape[0] > 100
    assert _faiss_search.is_ivf(clf._index._tree) == ivf
    # the brute search over the same centroids
    brute = pickle.loads(pickle.dumps(clf))
    brute._index = _scoring.CentroidIndex(clf.cluster_centers_, "brute")
    assert_array_equal(clf.predict(Q), brute.predict(Q))
    assert_allclose(clf.predict_proba(Q), brute.predict_proba(Q), atol=1e-4)
    # and the whole brute classifier (numpy clustering) is as accurate
    whole = KNearestClusterClassifier(8, cluster_size=10, algorithm="brute", **RULE,
                                      random_state=0).fit(X, y)
    assert np.mean(clf.predict(Q) == y_q) >= np.mean(whole.predict(Q) == y_q) - 0.03


def test_ivf_index_recall_and_layout(ivf_from_50, faiss):
    C = unit_rows(400, 8, 1)
    index = _scoring.CentroidIndex(C, "faiss", n_neighbors=5)
    tree = index._tree
    assert isinstance(tree, faiss.IndexIVFFlat)
    assert tree.nlist == 80  # round(4 * sqrt(400))
    assert tree.metric_type == faiss.METRIC_INNER_PRODUCT
    assert 1 <= tree.nprobe <= tree.nlist
    assert index.calibration["recall"] >= _faiss_search.IVF_TARGET_RECALL
    assert index.calibration["nprobe"] == tree.nprobe
    # fewer probes would not have reached the target
    if tree.nprobe > 1:
        tree.nprobe //= 2
        _, exact = _scoring.CentroidIndex(C, "brute").query(C, 5)
        idx, _ = index.query(C, 5)
        recall = np.mean([np.intersect1d(a, b).size / 5 for a, b in zip(idx, exact)])
        assert recall < _faiss_search.IVF_TARGET_RECALL
    below = _scoring.CentroidIndex(C[:49], "faiss", n_neighbors=5)
    assert isinstance(below._tree, faiss.IndexFlatIP)


def test_flat_is_kept_when_ivf_would_probe_most_lists(ivf_from_50, faiss):
    # random directions in 48 dimensions: the 10 nearest of a centroid lie
    # in many lists, so a 99 % recall needs most of them probed
    C = unit_rows(400, 48, 4)
    index = _scoring.CentroidIndex(C, "faiss", n_neighbors=10)
    assert isinstance(index._tree, faiss.IndexFlatIP)
    assert index.calibration["recall"] >= _faiss_search.IVF_TARGET_RECALL
    assert index.calibration["nprobe"] > 0.25 * index.calibration["nlist"]
    assert not index.own_threads


def test_ivf_rows_with_too_few_probed_centroids_are_searched_exactly(
        ivf_from_50, faiss):
    C = unit_rows(200, 6, 2)
    Q = unit_rows(30, 6, 3)
    index = _scoring.CentroidIndex(C, "faiss", n_neighbors=3)
    index._tree.nprobe = 1  # one list holds far fewer than 40 centroids
    idx, sims = index.query(Q, 40)
    assert (idx >= 0).all()
    exact_sims = np.sort(Q @ C.T, axis=1)[:, ::-1][:, :40]
    assert_allclose(np.sort(sims, axis=1)[:, ::-1], exact_sims, atol=1e-6)
    assert_allclose(sims, np.take_along_axis(Q @ C.T, idx, axis=1), atol=1e-6)


def test_pickle_round_trip_keeps_the_trained_ivf_index(ivf_from_50, faiss):
    X, y, Q, _ = problem(n=800)
    clf = KNearestClusterClassifier(6, cluster_size=5, algorithm="faiss", **RULE,
                                    random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    assert isinstance(loaded._index._tree, faiss.IndexIVFFlat)
    assert loaded._index._tree.nprobe == clf._index._tree.nprobe
    assert_array_equal(loaded.predict(Q), clf.predict(Q))
    assert_array_equal(loaded.decision_function(Q), clf.decision_function(Q))
    # the flat index is rebuilt on load
    flat = KNearestClusterClassifier(6, cluster_size=100, algorithm="faiss", **RULE,
                                     random_state=0).fit(X, y)
    assert_array_equal(pickle.loads(pickle.dumps(flat)).predict(Q), flat.predict(Q))


def test_clone_and_grid_search(faiss):
    X, y, Q, _ = problem(n=300)
    clf = KNearestClusterClassifier(5, cluster_size=10, algorithm="faiss", **RULE,
                                    random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    search = GridSearchCV(clf, {"n_neighbors": [3, 9]}, cv=3).fit(X, y)
    assert search.best_estimator_.algorithm == "faiss"
    assert search.predict(Q).shape == (Q.shape[0],)


def test_auto_settings_run_through_faiss(faiss):
    X, y, Q, y_q = problem(n=600)
    clf = KNearestClusterClassifier(algorithm="faiss", random_state=0).fit(X, y)
    assert clf.auto_scores_ is not None
    assert np.mean(clf.predict(Q) == y_q) > 0.8
