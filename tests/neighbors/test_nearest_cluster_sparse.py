"""Sparse (CSR) input to KNearestClusterClassifier: the dense path's results.

The rule's results are compared bit for bit (to float rounding), so these
tests use ``head="none"``; the linear head (a scikit-learn logistic
regression, fitted to its solver's tolerance) has its own test.
"""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer

from sklearn_clmle import KNearestClusterClassifier

ALGORITHMS = ["auto", "brute", "kd_tree", "ball_tree"]
try:  # the optional search backend, tested when installed
    import faiss  # noqa: F401

    ALGORITHMS.append("faiss")
except ImportError:
    pass


def tfidf_docs(n, d, n_classes=4, seed=0, dtype=np.float64, words=5):
    """TF-IDF vectors of random documents whose words (about ``words + 1``)
    depend on their class, with long-tailed class sizes; no document is
    empty."""
    rng = np.random.default_rng(seed)
    p = 0.5 ** np.arange(n_classes)
    y = rng.choice(n_classes, size=n, p=p / p.sum())
    topics = rng.dirichlet(np.full(d, 0.2), size=n_classes)
    counts = np.zeros((n, d))
    for i in range(n):
        drawn = rng.choice(d, size=1 + rng.poisson(words), p=topics[y[i]])
        np.add.at(counts[i], drawn, 1)
    X = TfidfTransformer(norm=None).fit_transform(sparse.csr_matrix(counts))
    return sparse.csr_matrix(X, dtype=dtype), np.array(["a", "b", "c", "d"])[y]


def assert_same_fit(dense, sp, rtol=1e-10):
    assert_allclose(sp.cluster_centers_, dense.cluster_centers_, rtol=rtol, atol=rtol)
    assert_array_equal(sp.cluster_classes_, dense.cluster_classes_)
    assert_array_equal(sp.cluster_sizes_, dense.cluster_sizes_)
    assert_allclose(sp.class_prior_, dense.class_prior_)
    assert isinstance(sp.cluster_centers_, np.ndarray)


def assert_same_predictions(dense, sp, Q, rtol=1e-10):
    assert_array_equal(sp.predict(Q), dense.predict(Q.toarray()))
    assert_allclose(
        sp.predict_proba(Q), dense.predict_proba(Q.toarray()), rtol=rtol, atol=rtol
    )
    assert_allclose(
        sp.decision_function(Q), dense.decision_function(Q.toarray()),
        rtol=rtol, atol=rtol,
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("aggregate", ["min", "max"])
def test_fit_and_predict_equal_dense_path(algorithm, aggregate):
    # The trees and faiss return any of several centroids at exactly the same
    # similarity (short documents sharing no word with several centroids
    # have cosine 0 to all of them), and which one depends on the last bit of
    # the normalised rows, which the sparse and dense normalisations may
    # round differently: their queries here are long enough to leave no such
    # ties.  The brute search breaks ties identically on both paths.
    words = 5 if algorithm in ("auto", "brute") else 40
    X, y = tfidf_docs(400, 50, seed=1, words=words)
    Q, _ = tfidf_docs(120, 50, seed=2, words=words)
    params = dict(
        n_neighbors=6, cluster_size=15, aggregate=aggregate, algorithm=algorithm,
        prior_correction=0.5, scale=4.0, head="none", random_state=0,
    )
    dense = KNearestClusterClassifier(**params).fit(X.toarray(), y)
    sp = KNearestClusterClassifier(**params).fit(X, y)
    # the faiss search runs in float32 whatever the input
    rtol = 1e-5 if algorithm == "faiss" else 1e-10
    assert_same_fit(dense, sp)
    assert_same_predictions(dense, sp, Q, rtol)
    # a sparse-fitted model predicts dense queries, and the reverse
    assert_array_equal(sp.predict(Q.toarray()), dense.predict(Q))


@pytest.mark.parametrize(
    "container", [sparse.csr_array, sparse.csc_matrix, sparse.coo_matrix]
)
def test_other_formats(container):
    X, y = tfidf_docs(200, 30, seed=3)
    dense = KNearestClusterClassifier(5, cluster_size=10, head="none", random_state=0)
    dense.fit(X.toarray(), y)
    sp = KNearestClusterClassifier(5, cluster_size=10, head="none", random_state=0)
    sp.fit(container(X), y)
    assert_same_fit(dense, sp)
    assert_array_equal(sp.predict(container(X)), dense.predict(X.toarray()))


def test_float32_equals_dense_path():
    X, y = tfidf_docs(300, 40, seed=4, dtype=np.float32)
    params = dict(n_neighbors=5, cluster_size=12, head="none", random_state=0)
    dense = KNearestClusterClassifier(**params).fit(X.toarray(), y)
    sp = KNearestClusterClassifier(**params).fit(X, y)
    assert sp.cluster_centers_.dtype == np.float32
    assert_same_fit(dense, sp, rtol=1e-5)
    assert_same_predictions(dense, sp, X, rtol=1e-5)


@pytest.mark.parametrize("multilabel_features", ["shared", "blocks"])
def test_multilabel_equals_dense_path(multilabel_features):
    X, y = tfidf_docs(300, 40, seed=5)
    # blocks of 20 features: keep only documents with a word in both blocks
    both = (X[:, :20].getnnz(axis=1) > 0) & (X[:, 20:].getnnz(axis=1) > 0)
    X, y = X[np.flatnonzero(both)], y[both]
    Y = np.c_[y == "a", np.isin(y, ["b", "c"])].astype(int)
    params = dict(
        n_neighbors=4, cluster_size=10, multilabel_features=multilabel_features,
        head="none", random_state=0,
    )
    dense = KNearestClusterClassifier(**params).fit(X.toarray(), Y)
    sp = KNearestClusterClassifier(**params).fit(X, Y)
    for d, s in zip(dense.estimators_, sp.estimators_):
        assert_same_fit(d, s)
    assert_array_equal(sp.predict(X), dense.predict(X.toarray()))
    for p_sp, p_dense in zip(sp.predict_proba(X), dense.predict_proba(X.toarray())):
        assert_allclose(p_sp, p_dense, rtol=1e-10, atol=1e-12)
    assert_allclose(sp.decision_function(X), dense.decision_function(X.toarray()))


def test_rule_matches_a_naive_reference_on_sparse_queries():
    # Eq. 10 written out with a loop over queries and classes
    X, y = tfidf_docs(250, 30, seed=6)
    clf = KNearestClusterClassifier(
        5, cluster_size=10, scale=1.0, prior_correction=0.0, aggregate="min",
        head="none", random_state=0,
    ).fit(X, y)
    Q, _ = tfidf_docs(40, 30, seed=7)
    Qn = Q.toarray() / np.linalg.norm(Q.toarray(), axis=1, keepdims=True)
    sims = Qn @ clf.cluster_centers_.T
    scores = clf.decision_function(Q)
    for i in range(Q.shape[0]):
        top = np.argsort(-sims[i])[:5]
        for c, label in enumerate(clf.classes_):
            own = top[clf.cluster_classes_[top] == label]
            other = top[clf.cluster_classes_[top] != label]
            if own.size == 0:
                continue
            lse = np.log(np.exp(sims[i, other]).sum()) if other.size else -1.0
            assert scores[i, c] == pytest.approx(sims[i, own].min() - lse)


def test_zero_rows_refused_at_fit_and_predict():
    X, y = tfidf_docs(100, 20, seed=8)
    Z = X.tolil()
    Z[[4, 9], :] = 0
    Z = Z.tocsr()
    with pytest.raises(ValueError) as dense_info:
        KNearestClusterClassifier(cluster_size=10).fit(Z.toarray(), y)
    with pytest.raises(ValueError) as info:
        KNearestClusterClassifier(cluster_size=10).fit(Z, y)
    assert str(info.value).startswith(str(dense_info.value))
    clf = KNearestClusterClassifier(cluster_size=10, random_state=0).fit(X, y)
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(ValueError, match=r"rows 4, 9\)"):
            method(Z)


def test_input_is_not_modified():
    X, y = tfidf_docs(120, 20, seed=9)
    X = X * 2.5
    before = X.copy()
    clf = KNearestClusterClassifier(cluster_size=10, random_state=0).fit(X, y)
    clf.predict(X), clf.predict_proba(X), clf.decision_function(X)
    assert_array_equal(X.data, before.data)
    assert_array_equal(X.indices, before.indices)
    assert_array_equal(X.indptr, before.indptr)


def test_fit_and_predict_are_not_densified():
    # 12,000 x 40,000 with 10 words a document: 3.8 GB dense, 1.4 MB sparse
    rng = np.random.default_rng(0)
    n, d, per_row = 12_000, 40_000, 10
    X = sparse.csr_matrix(
        (
            rng.uniform(0.1, 1.0, n * per_row),
            rng.integers(0, d, size=n * per_row),
            np.arange(0, n * per_row + 1, per_row),
        ),
        shape=(n, d),
    )
    y = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    tracemalloc.start()
    try:
        clf = KNearestClusterClassifier(
            5, cluster_size=2_000, scale=16.0, prior_correction=1.0,
            aggregate="max", head="none", random_state=0,
        )
        clf.fit(X, y)
        clf.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 6 centroids x 40,000 and the per-call transposed copy dominate
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_auto_settings_equal_dense_path():
    # "auto" scores the candidate settings on a hold-out split: the same
    # choices, the same clusters, the same predictions
    X, y = tfidf_docs(500, 40, seed=10)
    Q, _ = tfidf_docs(100, 40, seed=11)
    dense = KNearestClusterClassifier(head="none", random_state=0).fit(X.toarray(), y)
    sp = KNearestClusterClassifier(head="none", random_state=0).fit(X, y)
    for name in ("cluster_size_", "scale_", "prior_correction_", "aggregate_"):
        assert getattr(sp, name) == getattr(dense, name)
    assert sp.auto_scores_ == pytest.approx(dense.auto_scores_)
    assert_same_fit(dense, sp)
    assert_same_predictions(dense, sp, Q)


@pytest.mark.parametrize("head", ["ensemble", "linear"])
def test_linear_head_on_sparse_input(head):
    # the head is scikit-learn's LogisticRegression, which takes the CSR
    # matrix as it is; its solver rounds differently on sparse input, so the
    # two fits are compared to a tolerance (here they agree to ~1e-15)
    X, y = tfidf_docs(500, 40, seed=12)
    Q, _ = tfidf_docs(200, 40, seed=13)
    params = dict(cluster_size=10, scale=16.0, prior_correction=1.0,
                  aggregate="max", head=head, head_C=1.0, random_state=0)
    dense = KNearestClusterClassifier(**params).fit(X.toarray(), y)
    sp = KNearestClusterClassifier(**params).fit(X, y)
    assert_same_fit(dense, sp)
    assert_allclose(
        sp.head_estimator_.coef_, dense.head_estimator_.coef_, atol=1e-6
    )
    assert_allclose(sp.predict_proba(Q), dense.predict_proba(Q.toarray()), atol=1e-6)
    assert_array_equal(sp.predict(Q), dense.predict(Q.toarray()))
