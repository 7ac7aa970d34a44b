"""Property-based hardening tests (issue 7) of CLMLEEmbedder (torch: tiny
settings, few examples).

The properties and the shared strategies: ``tests/_strategies.py``.
"""


import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_clmle import CLMLEEmbedder
from tests._strategies import (
    CONTAINERS,
    DTYPES,
    FAST,
    N_FEATURES,
    NONFINITE,
    TORCH,
    as_container,
    as_target,
    assert_unchanged,
    labels,
    malformed_X,
    matrices,
    snapshot,
    with_bad_value,
)


TINY = dict(CLMLEEmbedder._test_params)


@pytest.fixture(scope="module")
def fitted_embedder():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 3))
    y = np.arange(12) % 2
    return CLMLEEmbedder(**TINY, random_state=0).fit(X, y), X


@TORCH
@given(data=st.data(), container=st.sampled_from(CONTAINERS),
       y_container=st.sampled_from(CONTAINERS))
def test_embedder_accepts_valid_input(data, container, y_container):
    # One-sample classes are included, next to a class that fills a batch
    # cluster; all classes smaller than n_samples_per_cluster are the bug
    # of test_embedder_all_classes_smaller_than_n_samples_per_cluster.
    y = data.draw(labels(n_classes_min=2, n_classes_max=3, min_size=1, max_size=7))
    assume(np.unique(y, return_counts=True)[1].max() >= TINY["n_samples_per_cluster"])
    n = len(y)
    X = data.draw(matrices(min_rows=n, max_rows=n, max_cols=4))
    Xc, yc = as_container(X, container), as_target(y, y_container)
    before = [snapshot(Xc), snapshot(yc)]
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(Xc, yc)
    np.testing.assert_array_equal(emb.classes_, np.unique(y))
    assert emb.n_features_in_ == X.shape[1]
    if container == "dataframe":
        np.testing.assert_array_equal(emb.feature_names_in_, list(Xc.columns))
    Z = emb.transform(Xc)
    for b, v in zip(before, (Xc, yc)):
        assert_unchanged(b, v)
    assert Z.shape == (n, TINY["embedding_dim"])
    assert Z.dtype == np.float32
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
    assert len(emb.get_feature_names_out()) == TINY["embedding_dim"]


@TORCH
@given(X=matrices(min_rows=2, max_rows=10), data=st.data())
def test_embedder_refuses_single_class(X, data):
    label = data.draw(st.sampled_from([0, -3, "only", 2.0]))
    y = np.full(X.shape[0], label, dtype=object if isinstance(label, str) else None)
    with pytest.raises(ValueError, match=r"only one class"):
        CLMLEEmbedder(**TINY).fit(X, y)


@FAST
@given(X=matrices(min_rows=2), value=st.sampled_from([np.nan, np.inf, -np.inf]),
       data=st.data())
def test_embedder_refuses_non_finite_at_fit(X, value, data):
    Xb = with_bad_value(X, value, data)
    before = Xb.copy()
    y = np.arange(X.shape[0]) % 2
    with pytest.raises(ValueError, match=NONFINITE):
        CLMLEEmbedder(**TINY).fit(Xb, y)
    np.testing.assert_array_equal(before, Xb)


@FAST
@given(data=st.data(), value=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_embedder_refuses_non_finite_at_transform(fitted_embedder, data, value):
    emb, X = fitted_embedder
    Xb = with_bad_value(X, value, data)
    with pytest.raises(ValueError, match=NONFINITE):
        emb.transform(Xb)


@FAST
@given(data=st.data(), container=st.sampled_from(CONTAINERS))
def test_embedder_transform_new_data(fitted_embedder, data, container):
    emb, X = fitted_embedder
    # any finite values, zero rows included (the embedder uses inputs as they
    # are), any dtype, any number of rows
    dtype = data.draw(st.sampled_from(DTYPES))
    n = data.draw(st.integers(1, 30))
    elements = (st.integers(-1000, 1000) if np.dtype(dtype).kind == "i"
                else st.floats(-1e3, 1e3, width=np.dtype(dtype).itemsize * 8))
    Q = data.draw(hnp.arrays(dtype, (n, X.shape[1]), elements=elements))
    Qc = as_container(Q, container)
    before = snapshot(Qc)
    if container == "dataframe":
        with pytest.warns(UserWarning, match=r"feature names"):
            Z = emb.transform(Qc)
    else:
        Z = emb.transform(Qc)
    assert_unchanged(before, Qc)
    assert Z.shape == (n, TINY["embedding_dim"])
    assert Z.dtype == np.float32
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)


@FAST
@given(data=st.data())
def test_embedder_refuses_wrong_feature_count(fitted_embedder, data):
    emb, X = fitted_embedder
    d_new = data.draw(st.integers(1, 8).filter(lambda v: v != X.shape[1]))
    with pytest.raises(ValueError, match=N_FEATURES):
        emb.transform(np.ones((2, d_new)))


@FAST
@given(bad=malformed_X())
def test_embedder_refuses_malformed_input(fitted_embedder, bad):
    X_bad, msg = bad
    emb, X = fitted_embedder
    image_batch = isinstance(X_bad, np.ndarray) and X_bad.ndim == 3
    with pytest.raises((ValueError, TypeError), match=(
        r"sample shape|features" if image_batch else msg
    )):
        # 3-D input is an image batch for the embedder: refused at transform
        # only because its sample shape differs from the training one
        emb.transform(X_bad)
    if not image_batch:
        with pytest.raises((ValueError, TypeError), match=msg):
            CLMLEEmbedder(**TINY).fit(X_bad, np.arange(len(X_bad)) % 2)


@FAST
@given(X=matrices(min_rows=2, max_rows=8), data=st.data())
def test_embedder_refuses_bad_targets(X, data):
    n = X.shape[0]
    case = data.draw(st.sampled_from(["nan", "continuous", "length", "none",
                                      "one-label-constant"]))
    if case == "nan":
        y, msg = np.r_[np.arange(n - 1) % 2, np.nan], r"NaN"
    elif case == "continuous":
        y, msg = np.linspace(0.1, 0.9, n) + 0.01, r"Unknown label type|continuous"
    elif case == "length":
        y, msg = np.arange(n + 1) % 2, r"inconsistent numbers of samples"
    elif case == "none":
        y, msg = None, r"requires y"
    else:
        y = np.c_[np.arange(n) % 2, np.ones(n, dtype=int)]
        msg = r"label\(s\) \[1\] are all 0 or all 1"
    with pytest.raises((ValueError, TypeError), match=msg):
        CLMLEEmbedder(**TINY).fit(X, y)


@pytest.mark.parametrize("y", [[0, 1], [0, 0, 1, 1], ["a", "b", "b", "c"]])
def test_embedder_all_classes_smaller_than_n_samples_per_cluster(y):
    X = np.random.RandomState(0).normal(size=(len(y), 2))
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(X, y)
    assert emb.transform(X).shape == (len(y), TINY["embedding_dim"])


@pytest.mark.parametrize("value, error", [
    # beyond float32: refused before the network
    (1e200, r"X has values too large for float32"),
    # within float32, but the squares in the heads' normalisation overflow
    (1e30, r"The module's output overflowed for 2 row\(s\) of X \(rows 0, 1\)"),
    # large but harmless: unit-norm embeddings
    (1e6, None),
])
def test_embedder_transform_huge_values(fitted_embedder, value, error):
    emb, _ = fitted_embedder
    X = np.full((2, 3), value)
    if error is not None:
        with pytest.raises(ValueError, match=error):
            emb.transform(X)
        return
    Z = emb.transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
