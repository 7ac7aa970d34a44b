"""Sparse (CSR) input to SphericalKMeans: the same results as the dense path."""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer

from sklearn_clmle import SphericalKMeans
from sklearn_clmle.utils._validation import normalize_rows

FORMATS = {
    "csr_matrix": sparse.csr_matrix,
    "csr_array": sparse.csr_array,
    "csc_matrix": sparse.csc_matrix,
    "coo_array": sparse.coo_array,
}


def tfidf_like(n, d, seed=0, dtype=np.float64, mean_terms=6):
    """TF-IDF vectors of random 'documents' (no empty one), topic-structured.

    Each document draws its words from one of 5 topics (a skewed distribution
    over the vocabulary), so the clustering has something to find.
    """
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(d, 0.1), size=5)
    counts = np.zeros((n, d))
    for i in range(n):
        words = rng.choice(d, size=1 + rng.poisson(mean_terms), p=topics[i % 5])
        np.add.at(counts[i], words, 1)
    X = TfidfTransformer(norm=None).fit_transform(sparse.csr_matrix(counts))
    return sparse.csr_matrix(X, dtype=dtype)


def assert_same_model(dense, sp, rtol):
    assert_array_equal(sp.labels_, dense.labels_)
    assert sp.n_iter_ == dense.n_iter_
    assert_allclose(sp.cluster_centers_, dense.cluster_centers_, rtol=rtol, atol=rtol)
    assert sp.inertia_ == pytest.approx(dense.inertia_, rel=rtol, abs=rtol)
    assert isinstance(sp.cluster_centers_, np.ndarray)
    assert sp.cluster_centers_.dtype == dense.cluster_centers_.dtype


@pytest.mark.parametrize("init", ["auto", "k-means++", "k-means||", "random", "array"])
@pytest.mark.parametrize("equal_size", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_equals_dense_path(init, equal_size, dtype):
    X = tfidf_like(240, 60, seed=1, dtype=dtype)
    D = X.toarray()
    if init == "array":
        init = D[[0, 7, 50, 99, 120, 200]]
    params = dict(n_clusters=6, init=init, equal_size=equal_size, random_state=0)
    dense = SphericalKMeans(**params).fit(D)
    sp = SphericalKMeans(**params).fit(X)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert_same_model(dense, sp, rtol)
    # and on new data: predict / transform / score / fit_predict
    Q = tfidf_like(50, 60, seed=2, dtype=dtype)
    assert_array_equal(sp.predict(Q), dense.predict(Q.toarray()))
    sims = sp.transform(Q)
    assert isinstance(sims, np.ndarray) and sims.dtype == dtype
    assert_allclose(sims, dense.transform(Q.toarray()), rtol=rtol, atol=rtol)
    assert sp.score(Q) == pytest.approx(dense.score(Q.toarray()), rel=rtol)
    assert_array_equal(SphericalKMeans(**params).fit_predict(X), dense.labels_)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_gives_the_csr_result(fmt):
    X = tfidf_like(150, 40, seed=3)
    ref = SphericalKMeans(5, random_state=0).fit(X.toarray())
    km = SphericalKMeans(5, random_state=0).fit(FORMATS[fmt](X))
    assert_same_model(ref, km, 1e-10)
    assert_array_equal(km.predict(FORMATS[fmt](X)), ref.labels_)


def test_sample_weight_equals_dense_path():
    X = tfidf_like(200, 50, seed=4)
    w = np.random.default_rng(0).uniform(0.1, 3.0, size=200)
    for equal_size in [False, True]:
        dense = SphericalKMeans(5, equal_size=equal_size, random_state=3)
        sp = SphericalKMeans(5, equal_size=equal_size, random_state=3)
        dense.fit(X.toarray(), sample_weight=w)
        sp.fit(X, sample_weight=w)
        assert_same_model(dense, sp, 1e-10)
        assert sp.score(X, sample_weight=w) == pytest.approx(
            dense.score(X.toarray(), sample_weight=w)
        )


def test_kmeans_parallel_through_auto_equals_dense(monkeypatch):
    # "auto" switches to k-means|| above a size; lower the switch so the
    # sparse k-means|| path runs through "auto" too
    from sklearn_clmle.cluster import _spherical_kmeans

    monkeypatch.setattr(_spherical_kmeans, "_KMEANS_PARALLEL_ABOVE", 100)
    X = tfidf_like(300, 50, seed=5)
    dense = SphericalKMeans(7, random_state=1).fit(X.toarray())
    sp = SphericalKMeans(7, random_state=1).fit(X)
    assert_same_model(dense, sp, 1e-10)


def test_duplicate_entries_are_summed_like_the_dense_matrix():
    # COO input with repeated (row, col) pairs: the values add up
    rows = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3, 3])
    cols = np.array([0, 0, 2, 1, 1, 0, 2, 1, 2, 2])
    vals = np.array([1.0, 2.0, 1.0, 0.5, 0.5, 4.0, 1.0, 1.0, 1.0, 3.0])
    X = sparse.coo_matrix((vals, (rows, cols)), shape=(4, 3))
    init = np.eye(3)[:2]
    dense = SphericalKMeans(2, init=init).fit(X.toarray())
    sp = SphericalKMeans(2, init=init).fit(X)
    assert_same_model(dense, sp, 1e-12)
    assert_allclose(sp.transform(X), dense.transform(X.toarray()))


def test_rows_of_any_scale_and_unit_rows():
    X = tfidf_like(120, 30, seed=6)
    scales = np.random.default_rng(1).uniform(1e-3, 1e3, size=120)
    Xs = sparse.diags(scales) @ X
    dense = SphericalKMeans(4, random_state=0).fit(Xs.toarray())
    sp = SphericalKMeans(4, random_state=0).fit(sparse.csr_matrix(Xs))
    assert_same_model(dense, sp, 1e-10)
    # unit rows in, same centres as from the scaled rows
    unit = normalize_rows(sparse.csr_matrix(Xs))
    assert_allclose(sparse.linalg.norm(unit, axis=1), 1.0)
    assert_same_model(sp, SphericalKMeans(4, random_state=0).fit(unit), 1e-10)


@pytest.mark.parametrize("value", [1e-200, 1e200])
def test_extreme_values_normalised_like_the_dense_path(value):
    X = tfidf_like(30, 10, seed=7) * value
    D = X.toarray()
    dense_unit = normalize_rows(D)
    sparse_unit = normalize_rows(sparse.csr_matrix(X))
    assert_allclose(sparse_unit.toarray(), dense_unit, rtol=1e-12)
    assert_allclose(
        SphericalKMeans(3, random_state=0).fit(X).cluster_centers_,
        SphericalKMeans(3, random_state=0).fit(D).cluster_centers_,
        rtol=1e-10,
    )


def test_normalize_rows_keeps_the_sparse_class_and_skips_unit_rows():
    X = sparse.csr_array(tfidf_like(20, 8, seed=8))
    unit = normalize_rows(X)
    assert type(unit) is sparse.csr_array
    assert_allclose(unit.toarray(), normalize_rows(X.toarray()))
    assert normalize_rows(unit) is unit  # already unit norm: no copy


def dense_message(D):
    with pytest.raises(ValueError) as info:
        SphericalKMeans(2).fit(D)
    return str(info.value)


@pytest.mark.parametrize("explicit_zero", [False, True])
def test_zero_rows_refused_with_the_dense_message(explicit_zero):
    X = tfidf_like(20, 8, seed=9).tolil()
    X[[3, 11], :] = 0  # rows with no stored entry
    X = X.tocsr()
    if explicit_zero:  # row 3 stores one entry, whose value is 0.0
        start = X.indptr[3]
        indptr = X.indptr.copy()
        indptr[4:] += 1
        X = sparse.csr_matrix(
            (np.insert(X.data, start, 0.0), np.insert(X.indices, start, 2), indptr),
            shape=X.shape,
        )
        assert X[3].nnz == 1
    expected = dense_message(X.toarray())
    assert "rows 3, 11" in expected
    with pytest.raises(ValueError) as info:
        SphericalKMeans(2).fit(X)
    # the dense message, plus a hint on what a zero row is in sparse data
    assert str(info.value).startswith(expected)
    assert "no non-zero entry" in str(info.value)
    km = SphericalKMeans(2, random_state=0).fit(tfidf_like(20, 8, seed=9))
    message = r"X has 2 row\(s\) whose values are all zero"
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match=message):
            method(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_refused(bad):
    X = tfidf_like(20, 8, seed=10)
    X.data[3] = bad
    with pytest.raises(ValueError, match="(NaN|infinity)"):
        SphericalKMeans(2).fit(X)


@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_matrix", "coo_array"])
def test_input_is_not_modified(fmt):
    X = FORMATS[fmt](tfidf_like(80, 20, seed=11) * 3.0)
    before = X.copy()
    w = np.ones(80)
    km = SphericalKMeans(3, equal_size=True, random_state=0).fit(X, sample_weight=w)
    km.predict(X), km.transform(X), km.score(X)
    assert type(X) is type(before)
    assert_array_equal(X.toarray(), before.toarray())
    if fmt == "csr_matrix":
        assert_array_equal(X.data, before.data)
        assert_array_equal(X.indices, before.indices)
        assert_array_equal(X.indptr, before.indptr)
    assert_array_equal(w, 1.0)


def test_integer_sparse_input_is_cast_to_float():
    X = tfidf_like(60, 12, seed=12)
    counts = sparse.csr_matrix(np.ceil(X.toarray() * 3).astype(np.int64))
    dense = SphericalKMeans(3, random_state=0).fit(counts.toarray())
    sp = SphericalKMeans(3, random_state=0).fit(counts)
    assert_same_model(dense, sp, 1e-10)
    assert sp.cluster_centers_.dtype == np.float64


def test_wrong_feature_count_at_predict():
    km = SphericalKMeans(2, random_state=0).fit(tfidf_like(30, 8, seed=13))
    with pytest.raises(ValueError, match="8 features"):
        km.predict(tfidf_like(10, 9, seed=14))


def test_fit_is_not_densified():
    # 20,000 x 50,000 with 0.02 % non-zeros: 8 GB dense, about 2.4 MB sparse
    rng = np.random.default_rng(0)
    n, d, per_row = 20_000, 50_000, 10
    X = sparse.csr_matrix(
        (
            rng.uniform(0.1, 1.0, n * per_row),
            rng.integers(0, d, size=n * per_row),
            np.arange(0, n * per_row + 1, per_row),
        ),
        shape=(n, d),
    )
    tracemalloc.start()
    try:
        km = SphericalKMeans(4, init="k-means||", max_iter=3, random_state=0).fit(X)
        km.predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # centroids (4 x 50,000), one round of dense seeds and blocks only
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert km.cluster_centers_.shape == (4, d)


def test_large_centroids_move_by_blocks_with_the_same_fit(monkeypatch):
    # large vocabularies x many clusters: the centroid movement is summed by
    # blocks of rows (no centroid-sized temporary); same stopping, same fit
    from sklearn_clmle.cluster import _spherical_kmeans_core as core

    X = tfidf_like(200, 40, seed=15)
    params = dict(n_clusters=6, tol=1e-3, random_state=0)
    whole = SphericalKMeans(**params).fit(X)
    monkeypatch.setattr(core, "_SHIFT_BLOCK_BYTES", 2 * 40 * 8)  # 2 rows a block
    blocked = SphericalKMeans(**params).fit(X)
    assert_same_model(whole, blocked, 1e-12)
    new, old = whole.cluster_centers_, np.roll(whole.cluster_centers_, 1, axis=0)
    assert core._squared_shift(new, old) == pytest.approx(np.sum((new - old) ** 2))
