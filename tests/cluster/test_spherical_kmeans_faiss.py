"""SphericalKMeans(algorithm="faiss"): faiss's k-means behind the estimator.

Compared with the numpy path and with a naive weighted spherical Lloyd loop.
Only the missing-faiss test runs without faiss.
"""

import pickle
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_clmle import SphericalKMeans


def blobs(n_per, directions, spread, seed=0, dtype=np.float64):
    """Rows scattered around the given unit directions, and their blob."""
    rng = np.random.default_rng(seed)
    directions = np.asarray(directions, dtype=float)
    y = np.repeat(np.arange(len(directions)), n_per)
    X = directions[y] + spread * rng.normal(size=(y.size, directions.shape[1]))
    return X.astype(dtype), y


def separated(dtype=np.float64, n_per=60, seed=0):
    return blobs(n_per, np.eye(6, 8), 0.08, seed=seed, dtype=dtype)


def unit(X):
    X = np.asarray(X, dtype=np.float64)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def naive_weighted_lloyd(X, w, init, n_iter):
    """Spherical Lloyd written out plainly: assign each row to the centroid
    of highest cosine, centroid = normalised weighted sum of its rows."""
    X, C = unit(X), unit(init)
    for _ in range(n_iter):
        labels = np.argmax(X @ C.T, axis=1)
        for j in range(C.shape[0]):
            s = (w[labels == j, None] * X[labels == j]).sum(axis=0)
            C[j] = s / np.linalg.norm(s)
    return C, np.argmax(X @ C.T, axis=1)


def test_missing_faiss_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # "import faiss" fails
    X, _ = separated()
    with pytest.raises(ImportError, match=r"pip install sklearn-clmle\[faiss\]"):
        SphericalKMeans(3, algorithm="faiss").fit(X)
    # the numpy path does not need it
    SphericalKMeans(3, random_state=0).fit(X)


def test_unknown_algorithm_is_refused():
    X, _ = separated()
    with pytest.raises(ValueError, match="'algorithm' parameter"):
        SphericalKMeans(3, algorithm="elkan").fit(X)


@pytest.fixture
def faiss():
    """The faiss module; the tests that take it are skipped without it."""
    return pytest.importorskip("faiss")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_partition_and_centroids_as_numpy_path(dtype, faiss):
    # init="k-means++" on both paths: the same seeds
    X, y = separated(dtype)
    ours = SphericalKMeans(6, init="k-means++", random_state=0).fit(X)
    fa = SphericalKMeans(6, init="k-means++", algorithm="faiss", random_state=0).fit(X)
    assert adjusted_rand_score(y, fa.labels_) == 1.0
    assert adjusted_rand_score(ours.labels_, fa.labels_) == 1.0
    # match the clusters through their members, then compare the centroids
    match = [np.bincount(ours.labels_[fa.labels_ == j]).argmax() for j in range(6)]
    cosines = np.sum(fa.cluster_centers_ * ours.cluster_centers_[match], axis=1)
    assert_allclose(cosines, 1.0, atol=1e-6)
    assert fa.inertia_ == pytest.approx(ours.inertia_, rel=1e-4)
    assert fa.cluster_centers_.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert_allclose(np.linalg.norm(fa.cluster_centers_, axis=1), 1.0, atol=tol)
    assert fa.n_iter_ >= 1
    # the fitted attributes keep their meaning: labels are the nearest centroids
    assert_array_equal(fa.predict(X), fa.labels_)
    assert fa.inertia_ == pytest.approx(-fa.score(X), rel=1e-5)


def gaussian_centres(seed, n=3000, d=16, n_centres=20, spread=0.6):
    """Unit rows around ``n_centres`` Gaussian centres (not unit-norm)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_centres, d))
    y = rng.integers(0, n_centres, n)
    return unit(centres[y] + spread * rng.normal(size=(n, d)))


def mean_cosine(X, km):
    return float(np.mean(np.sum(X * km.cluster_centers_[km.labels_], axis=1)))


@pytest.mark.parametrize("seed", range(4))
def test_as_cohesive_as_the_numpy_path_at_the_same_seed(seed, faiss):
    # init="auto" and n_init="auto" mean what they mean on the numpy path
    # (k-means++ here, one run), so faiss's Lloyd iterations start from the
    # same seeds and reach the same partition.  (init="auto" once meant one
    # run from random rows with faiss: mean cosine 0.826 against 0.856 at
    # seed 0.)
    X = gaussian_centres(seed)
    ours = SphericalKMeans(20, random_state=seed).fit(X)
    fa = SphericalKMeans(20, algorithm="faiss", random_state=seed).fit(X)
    assert_array_equal(fa.labels_, ours.labels_)
    assert mean_cosine(X, fa) >= mean_cosine(X, ours) - 1e-9  # float32 rounding
    plus = SphericalKMeans(20, init="k-means++", n_init=1, algorithm="faiss",
                           random_state=seed).fit(X)
    assert_array_equal(fa.cluster_centers_, plus.cluster_centers_)


def test_random_init_runs_n_init_times(faiss):
    X, y = separated()
    # random seeds can share a blob; ten runs (n_init="auto") find the blobs
    best = SphericalKMeans(6, init="random", algorithm="faiss", random_state=0).fit(X)
    assert adjusted_rand_score(y, best.labels_) == 1.0
    ten = SphericalKMeans(6, init="random", n_init=10, algorithm="faiss",
                          random_state=0).fit(X)
    assert_array_equal(ten.cluster_centers_, best.cluster_centers_)


def test_weighted_iterations_equal_naive_reference(faiss):
    X, _ = blobs(40, unit(np.random.default_rng(1).normal(size=(4, 5))), 0.6, seed=2)
    w = np.random.default_rng(3).uniform(0.1, 5.0, size=X.shape[0])
    init = X[[0, 50, 90, 130]]
    for n_iter in (1, 4):
        km = SphericalKMeans(4, init=init, max_iter=n_iter, tol=0, algorithm="faiss")
        km.fit(X, sample_weight=w)
        C, labels = naive_weighted_lloyd(X, w, init, n_iter)
        assert_allclose(km.cluster_centers_, C, atol=2e-6)
        assert_array_equal(km.labels_, labels)
        assert km.n_iter_ == n_iter
    unweighted = SphericalKMeans(4, init=init, max_iter=4, tol=0, algorithm="faiss")
    assert not np.allclose(unweighted.fit(X).cluster_centers_, C, atol=1e-3)


def test_integer_weights_equal_repeated_rows(faiss):
    X, _ = separated(n_per=20)
    w = np.random.default_rng(0).integers(1, 4, size=X.shape[0])
    init = X[::20][:6]
    params = dict(init=init, max_iter=10, algorithm="faiss")
    weighted = SphericalKMeans(6, **params).fit(X, sample_weight=w)
    repeated = SphericalKMeans(6, **params).fit(np.repeat(X, w, axis=0))
    assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, atol=1e-6)


def test_tiny_weights_and_an_empty_cluster(faiss):
    # a seed opposite to all the data gets no member in the first iteration:
    # faiss refills it by splitting a cluster, with probability (sum of its
    # weights - 1) / (n - k), which would never happen if the weights
    # summed to less than one; they are rescaled, which changes no centroid.
    X, _ = blobs(30, np.eye(3), 0.05, seed=4)
    init = np.r_[np.eye(3)[:2], [[-1.0, -1.0, -1.0]]]
    w = np.random.default_rng(5).uniform(1, 2, size=X.shape[0])
    params = dict(init=init, max_iter=5, algorithm="faiss")
    small = SphericalKMeans(3, **params).fit(X, sample_weight=w * 1e-6)
    large = SphericalKMeans(3, **params).fit(X, sample_weight=w)
    assert_allclose(small.cluster_centers_, large.cluster_centers_, atol=1e-6)
    assert len(np.unique(small.labels_)) == 3


def test_tol_and_max_iter_are_honoured(faiss):
    X, _ = blobs(100, unit(np.random.default_rng(6).normal(size=(5, 6))), 1.0, seed=7)
    init = X[:5]
    long_run = SphericalKMeans(5, init=init, tol=0, algorithm="faiss").fit(X)
    assert 2 < long_run.n_iter_ < 300  # stopped when the assignment repeated
    one = SphericalKMeans(5, init=init, max_iter=1, algorithm="faiss").fit(X)
    assert one.n_iter_ == 1
    loose = SphericalKMeans(5, init=init, tol=10.0, algorithm="faiss").fit(X)
    assert loose.n_iter_ == 1  # every movement is below tol=10
    assert_allclose(loose.cluster_centers_, one.cluster_centers_)
    # the numpy path from the same seeds stops after as many iterations
    ours = SphericalKMeans(5, init=init, tol=0).fit(X)
    assert ours.n_iter_ == long_run.n_iter_
    assert_allclose(ours.cluster_centers_, long_run.cluster_centers_, atol=1e-5)


def test_n_init_keeps_the_best_run_and_random_state_reproduces(faiss):
    X, _ = blobs(50, unit(np.random.default_rng(8).normal(size=(8, 4))), 0.7, seed=9)
    one = SphericalKMeans(8, n_init=1, algorithm="faiss", random_state=3).fit(X)
    again = SphericalKMeans(8, n_init=1, algorithm="faiss", random_state=3).fit(X)
    assert_array_equal(one.cluster_centers_, again.cluster_centers_)
    # the first of the five runs is the run above; the kept one is no worse
    five = SphericalKMeans(8, n_init=5, algorithm="faiss", random_state=3).fit(X)
    assert five.inertia_ <= one.inertia_
    runs = [SphericalKMeans(8, algorithm="faiss", random_state=s).fit(X).inertia_
            for s in range(5)]
    assert len(set(np.round(runs, 6))) > 1  # the seeds do change the result


@pytest.mark.parametrize("n_samples", [60, 61, 65])
def test_equal_size_on_faiss_centroids(n_samples, faiss):
    X, _ = blobs(70, unit([[1, 0, 0], [1, 1, 0], [0, 0, 1]]), 0.3, seed=10)
    X = X[np.random.default_rng(11).permutation(len(X))[:n_samples]]
    km = SphericalKMeans(6, equal_size=True, algorithm="faiss", random_state=0).fit(X)
    sizes = np.bincount(km.labels_, minlength=6)
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == n_samples
    # the centroids are their members' mean directions, as on the numpy path
    for j in range(6):
        s = unit(X[km.labels_ == j]).sum(axis=0)
        assert_allclose(km.cluster_centers_[j], s / np.linalg.norm(s), atol=1e-6)


def test_sparse_input_equals_dense(faiss):
    rng = np.random.default_rng(12)
    X = rng.random((120, 30)) * (rng.random((120, 30)) < 0.3)
    X[:, 0] += 0.05  # no empty row
    dense = SphericalKMeans(4, algorithm="faiss", random_state=0).fit(X)
    sp = SphericalKMeans(4, algorithm="faiss", random_state=0).fit(sparse.csr_matrix(X))
    assert_array_equal(sp.labels_, dense.labels_)
    assert_allclose(sp.cluster_centers_, dense.cluster_centers_, atol=1e-7)
    assert isinstance(sp.cluster_centers_, np.ndarray)


def test_gpu_index_is_used_when_faiss_sees_a_gpu(monkeypatch, faiss):
    # No GPU here: the test only checks that a GPU reported by faiss routes
    # the index through index_cpu_to_all_gpus (which here returns the CPU
    # index it is given).
    X, _ = separated()
    cpu = SphericalKMeans(6, algorithm="faiss", random_state=0).fit(X)
    moved = []
    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 1)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus",
                        lambda index: moved.append(index) or index, raising=False)
    km = SphericalKMeans(6, algorithm="faiss", random_state=0).fit(X)
    assert len(moved) == 1
    assert_array_equal(km.cluster_centers_, cpu.cluster_centers_)


def test_pickle_clone_and_grid_search(faiss):
    X, _ = separated()
    km = SphericalKMeans(6, algorithm="faiss", random_state=0).fit(X)
    loaded = pickle.loads(pickle.dumps(km))
    assert_array_equal(loaded.predict(X), km.predict(X))
    assert_array_equal(loaded.cluster_centers_, km.cluster_centers_)
    assert clone(km).get_params() == km.get_params()
    search = GridSearchCV(
        SphericalKMeans(random_state=0, algorithm="faiss"),
        {"n_clusters": [3, 6], "algorithm": ["lloyd", "faiss"]}, cv=3,
    ).fit(X)
    assert search.best_params_["n_clusters"] == 6


ZERO_ROWS = "random data cast to integers has all-zero rows, refused by design"


@parametrize_with_checks(
    [SphericalKMeans(algorithm="faiss"),
     SphericalKMeans(algorithm="faiss", equal_size=True)],
    expected_failed_checks=lambda est: {
        "check_estimators_dtypes": ZERO_ROWS,
        "check_estimator_sparse_tag": ZERO_ROWS + " (sparse rows with no entry)",
        "check_sample_weight_equivalence_on_dense_data": "seeding draws rows",
        "check_sample_weight_equivalence_on_sparse_data": "seeding draws rows",
    },
)
def test_sklearn_checks_faiss(estimator, check, faiss):
    check(estimator)
