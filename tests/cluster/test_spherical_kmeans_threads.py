"""A fitted SphericalKMeans called from 8 threads at once gives the results of
one thread, and leaves the BLAS thread limits as it found them."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from threadpoolctl import threadpool_limits

from sklearn_clmle import SphericalKMeans
from tests._threads import N_THREADS, blas_threads, call_concurrently


def queries(n_sets, n, d, as_sparse):
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n_sets):
        Q = rng.normal(size=(n, d))
        if as_sparse:
            Q[rng.random(Q.shape) < 0.7] = 0
            Q[:, 0] = 1.0  # no empty row
            Q = sparse.csr_matrix(Q)
        out.append(Q)
    return out


@pytest.mark.parametrize("as_sparse", [False, True])
@pytest.mark.parametrize("equal_size", [False, True])
def test_predict_transform_score_from_8_threads_equal_one_thread(as_sparse, equal_size):
    d = 12
    (X,) = queries(1, 3000, d, as_sparse)
    # 300 centroids: several blocks of rows per call, so the calls themselves
    # run blocks on threads too
    km = SphericalKMeans(300, equal_size=equal_size, max_iter=5, random_state=0)
    km.fit(X)
    sets = queries(4, 5000, d, as_sparse)
    before = blas_threads()
    expected = [(km.predict(Q), km.transform(Q), km.score(Q)) for Q in sets]

    def task(i):
        Q = sets[i % len(sets)]
        return i % len(sets), km.predict(Q), km.transform(Q), km.score(Q)

    results = call_concurrently(task, 4 * N_THREADS)
    assert blas_threads() == before
    for j, labels, sims, score in results:
        assert_array_equal(labels, expected[j][0])
        assert_array_equal(sims, expected[j][1])
        assert score == expected[j][2]


def test_concurrent_calls_restore_blas_limits_they_found():
    X = np.random.default_rng(0).normal(size=(4000, 8))
    km = SphericalKMeans(200, max_iter=3, random_state=0).fit(X)
    expected = km.transform(X)
    before = blas_threads()
    results = call_concurrently(lambda i: km.transform(X), 3 * N_THREADS)
    assert blas_threads() == before
    # and under a limit set by the caller's main thread
    with threadpool_limits(limits=1, user_api="blas"):
        results += call_concurrently(lambda i: km.transform(X), 3 * N_THREADS)
        assert blas_threads() == [1] * len(before)
    assert blas_threads() == before
    for sims in results:
        assert_array_equal(sims, expected)
