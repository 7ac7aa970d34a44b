"""Property-based hardening tests of SphericalKMeans.

The properties and the shared strategies: ``tests/_strategies.py``.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from sklearn_clmle import SphericalKMeans
from tests._strategies import (
    ALL_ZERO,
    CONTAINERS,
    FAST,
    NONFINITE,
    as_container,
    assert_unchanged,
    malformed_X,
    matrices,
    n_columns,
    snapshot,
    training_dtype,
    unit_tol,
    with_bad_value,
    with_zero_rows,
)


@FAST
@given(
    X=matrices(),
    container=st.sampled_from(CONTAINERS),
    data=st.data(),
    equal_size=st.booleans(),
    init=st.sampled_from(["auto", "k-means++", "k-means||", "random"]),
)
def test_spherical_kmeans_accepts_valid_input(X, container, data, equal_size, init):
    n, d = X.shape
    k = data.draw(st.integers(1, n), label="n_clusters")
    Xc = as_container(X, container)
    before = snapshot(Xc)
    dtype = training_dtype(np.asarray(Xc))
    km = SphericalKMeans(k, init=init, equal_size=equal_size, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km.fit(Xc)
    assert_unchanged(before, Xc)

    assert km.cluster_centers_.shape == (k, d)
    assert km.cluster_centers_.dtype == dtype
    norms = np.linalg.norm(km.cluster_centers_.astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, 1, atol=unit_tol(dtype))
    assert km.labels_.shape == (n,)
    assert km.labels_.dtype.kind in "iu"
    assert km.labels_.min() >= 0 and km.labels_.max() < k
    if equal_size:
        sizes = np.bincount(km.labels_, minlength=k)
        assert sizes.max() - sizes.min() <= 1
    assert -1e-4 * n <= km.inertia_ <= 2 * n * (1 + 1e-4)
    assert km.n_features_in_ == d
    if container == "dataframe":
        np.testing.assert_array_equal(km.feature_names_in_, list(Xc.columns))
    else:
        assert not hasattr(km, "feature_names_in_")
    assert len(km.get_feature_names_out()) == k

    sims = km.transform(Xc)
    assert_unchanged(before, Xc)
    assert sims.shape == (n, k)
    assert sims.dtype == dtype
    assert np.all(np.isfinite(sims))
    assert np.all(np.abs(sims) <= 1 + unit_tol(dtype) * 10)

    labels = km.predict(Xc)
    assert_unchanged(before, Xc)
    assert labels.shape == (n,)
    assert labels.min() >= 0 and labels.max() < k
    # predict is the centroid of highest cosine similarity
    best = sims[np.arange(n), labels]
    np.testing.assert_allclose(best, sims.max(axis=1), atol=unit_tol(dtype) * 10)

    score = km.score(Xc)
    assert isinstance(score, float)
    assert -2 * n * (1 + 1e-4) <= score <= 1e-4 * n


@FAST
@given(X=matrices(min_rows=2), value=st.sampled_from([np.nan, np.inf, -np.inf]),
       data=st.data(), where=st.sampled_from(["fit", "predict", "transform", "score"]))
def test_spherical_kmeans_refuses_non_finite(X, value, data, where):
    Xb = with_bad_value(X, value, data)
    before = Xb.copy()
    km = SphericalKMeans(1, random_state=0)
    with pytest.raises(ValueError, match=NONFINITE):
        if where == "fit":
            km.fit(Xb)
        else:
            getattr(km.fit(X), where)(Xb)
    np.testing.assert_array_equal(before, Xb)


@FAST
@given(X=matrices(min_rows=2), data=st.data(),
       where=st.sampled_from(["fit", "predict", "transform", "score"]),
       container=st.sampled_from(CONTAINERS))
def test_spherical_kmeans_refuses_zero_rows(X, data, where, container):
    Xz = as_container(with_zero_rows(X, data), container)
    before = snapshot(Xz)
    km = SphericalKMeans(1, random_state=0)
    with pytest.raises(ValueError, match=ALL_ZERO):
        if where == "fit":
            km.fit(Xz)
        else:
            getattr(km.fit(X), where)(Xz)
    assert_unchanged(before, Xz)


@FAST
@given(X=matrices(max_rows=8), extra=st.integers(1, 5), equal_size=st.booleans())
def test_spherical_kmeans_refuses_fewer_samples_than_clusters(X, extra, equal_size):
    k = X.shape[0] + extra
    with pytest.raises(ValueError, match=r"n_samples=\d+ should be >= n_clusters"):
        SphericalKMeans(k, equal_size=equal_size).fit(X)


@FAST
@given(X=matrices(min_cols=2), data=st.data(),
       where=st.sampled_from(["predict", "transform", "score"]))
def test_spherical_kmeans_refuses_wrong_feature_count(X, data, where):
    km = SphericalKMeans(1, random_state=0).fit(X)
    d_new = data.draw(st.integers(1, 8).filter(lambda v: v != X.shape[1]))
    X_new = np.ones((3, d_new))
    with pytest.raises(ValueError, match=r"X has \d+ features.*expecting"):
        getattr(km, where)(X_new)


@FAST
@given(X=matrices(), data=st.data())
def test_spherical_kmeans_refuses_renamed_columns(X, data):
    df = as_container(X, "dataframe")
    km = SphericalKMeans(1, random_state=0).fit(df)
    renamed = df.rename(columns={df.columns[0]: "other"})
    with pytest.raises(ValueError, match=r"feature names"):
        km.transform(renamed)


@FAST
@given(bad=malformed_X(), stage=st.sampled_from(["fit", "predict"]))
def test_spherical_kmeans_refuses_malformed_input(bad, stage):
    X_bad, msg = bad
    km = SphericalKMeans(1, random_state=0)
    if stage == "predict":
        # fitted on as many features as the bad input has, so that only the
        # malformation is wrong
        km.fit(np.eye(n_columns(X_bad)) + 0.5)
    with pytest.raises((ValueError, TypeError), match=msg):
        if stage == "fit":
            km.fit(X_bad)
        else:
            km.predict(X_bad)


@FAST
@given(X=matrices(dtypes=[np.float32, np.float64]), data=st.data())
def test_spherical_kmeans_init_array(X, data):
    n, d = X.shape
    k = data.draw(st.integers(1, n))
    init = data.draw(matrices(min_rows=k, max_rows=k, min_cols=d, max_cols=d))
    before = init.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = SphericalKMeans(k, init=init, random_state=0).fit(X)
    np.testing.assert_array_equal(before, init)
    assert km.cluster_centers_.shape == (k, d)
    assert km.cluster_centers_.dtype == X.dtype
    bad = init.astype(np.float64)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        SphericalKMeans(k, init=bad).fit(X)
    with pytest.raises(ValueError, match=r"init has shape"):
        SphericalKMeans(k, init=np.ones((k + 1, d))).fit(X)
    with pytest.raises(ValueError, match=ALL_ZERO):
        SphericalKMeans(k, init=np.zeros((k, d))).fit(X)


@FAST
@given(X=matrices(), data=st.data())
def test_spherical_kmeans_sample_weight(X, data):
    n = X.shape[0]
    # weights below float32's smallest normal would become 0 when cast to
    # the training dtype (and are then rightly refused as all zero)
    w = data.draw(hnp.arrays(
        np.float64, n, elements=st.one_of(st.just(0.0), st.floats(1e-3, 10))
    ))
    assume(w.sum() > 0)
    before = w.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = SphericalKMeans(1, random_state=0).fit(X, sample_weight=w)
    np.testing.assert_array_equal(before, w)
    assert -1e-4 <= km.inertia_ <= 2 * w.sum() * (1 + 1e-4)
    w_bad = w.copy()
    w_bad[0] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight"):
        SphericalKMeans(1).fit(X, sample_weight=w_bad)
    with pytest.raises(ValueError, match=r"sample_weight|[Ss]ample weights"):
        SphericalKMeans(1).fit(X, sample_weight=np.zeros(n))
    with pytest.raises(ValueError, match=r"sample_weight|shape|samples"):
        SphericalKMeans(1).fit(X, sample_weight=np.ones(n + 1))


def test_spherical_kmeans_transform_dtype_follows_X():
    km = SphericalKMeans(1).fit(np.ones((2, 2), dtype=np.float32))
    assert km.transform(np.ones((2, 2), dtype=np.float64)).dtype == np.float64
    km = SphericalKMeans(1).fit(np.ones((2, 2), dtype=np.float64))
    assert km.transform(np.ones((2, 2), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "X", [np.array([[1e155, 0.0]]), np.array([[1e20, 0.0]], dtype=np.float32)]
)
def test_spherical_kmeans_huge_finite_values(X):
    km = SphericalKMeans(1).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, [[1.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize(
    "X", [np.array([[1e-200, 0.0]]), np.array([[1e-30, 0.0]], dtype=np.float32)]
)
def test_spherical_kmeans_tiny_nonzero_values(X):
    km = SphericalKMeans(1).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, [[1.0, 0.0]], atol=1e-6)
