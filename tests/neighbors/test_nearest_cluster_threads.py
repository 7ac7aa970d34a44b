"""A fitted KNearestClusterClassifier called from 8 threads at once gives the
results of one thread (web servers do this)."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from threadpoolctl import threadpool_limits

from sklearn_clmle import KNearestClusterClassifier
from tests._threads import N_THREADS, blas_threads, call_concurrently

ALGORITHMS = ["brute", "kd_tree", "ball_tree"]
try:
    import faiss  # noqa: F401

    ALGORITHMS.append("faiss")
except ImportError:
    pass


def data(n, d, seed, as_sparse):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.choice(5, size=n, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    X[:, :5] += 2.0 * np.eye(5)[y]
    if as_sparse:
        X[rng.random(X.shape) < 0.6] = 0
        X[:, 0] = np.where(X[:, 0] == 0, 0.1, X[:, 0])  # no empty row
        X = sparse.csr_matrix(X)
    return X, y


@pytest.mark.parametrize("as_sparse", [False, True])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_predict_and_proba_from_8_threads_equal_one_thread(algorithm, as_sparse):
    X, y = data(4000, 12, 0, as_sparse)
    clf = KNearestClusterClassifier(
        8, cluster_size=10, algorithm=algorithm, random_state=0
    ).fit(X, y)
    sets = [data(3000, 12, seed, as_sparse)[0] for seed in range(1, 5)]
    before = blas_threads()
    expected = [
        (clf.predict(Q), clf.predict_proba(Q), clf.decision_function(Q)) for Q in sets
    ]

    def task(i):
        Q = sets[i % len(sets)]
        return (
            i % len(sets), clf.predict(Q), clf.predict_proba(Q),
            clf.decision_function(Q),
        )

    results = call_concurrently(task, 3 * N_THREADS)
    assert blas_threads() == before
    for j, labels, proba, scores in results:
        assert_array_equal(labels, expected[j][0])
        assert_array_equal(proba, expected[j][1])
        assert_array_equal(scores, expected[j][2])


def test_multilabel_from_8_threads_equal_one_thread():
    X, y = data(3000, 12, 0, False)
    Y = np.c_[y == 0, y >= 3].astype(int)
    clf = KNearestClusterClassifier(5, cluster_size=10, random_state=0).fit(X, Y)
    Q = data(2000, 12, 1, False)[0]
    expected_pred, expected_proba = clf.predict(Q), clf.predict_proba(Q)
    results = call_concurrently(
        lambda i: (clf.predict(Q), clf.predict_proba(Q)), 2 * N_THREADS
    )
    for pred, proba in results:
        assert_array_equal(pred, expected_pred)
        for p, e in zip(proba, expected_proba):
            assert_array_equal(p, e)


def test_while_another_thread_holds_blas_limits():
    # threadpoolctl lets only the thread holding the limits change them: the
    # calls from other threads then run their blocks one after the other on
    # BLAS's own threads.  They agree with each other exactly, and with a
    # call from the holding thread to rounding.
    X, y = data(3000, 12, 0, False)
    clf = KNearestClusterClassifier(8, cluster_size=10, random_state=0).fit(X, y)
    Q = data(3000, 12, 1, False)[0]
    with threadpool_limits(limits=2, user_api="blas"):
        expected = clf.predict_proba(Q)
        results = call_concurrently(lambda i: clf.predict_proba(Q), 2 * N_THREADS)
    for proba in results:
        assert_array_equal(proba, results[0])
        np.testing.assert_allclose(proba, expected, rtol=1e-12, atol=1e-12)
