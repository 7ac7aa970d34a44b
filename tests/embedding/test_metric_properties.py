"""Property-based hardening tests (issue 7) of MetricEmbedder (torch
metric-learning baselines: tiny settings, few examples).

The properties and the shared strategies: ``tests/_strategies.py``.
"""

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sklearn_clmle import MetricEmbedder
from tests._strategies import (
    CONTAINERS,
    FAST,
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


METRIC = dict(MetricEmbedder._test_params)


@TORCH
@given(data=st.data(), container=st.sampled_from(CONTAINERS),
       y_container=st.sampled_from(CONTAINERS),
       loss=st.sampled_from(["triplet", "lmle"]))
def test_metric_embedder_accepts_valid_input(data, container, y_container, loss):
    # one-sample classes and classes smaller than every batch quota included
    y = data.draw(labels(n_classes_min=2, n_classes_max=3, min_size=1, max_size=7))
    n = len(y)
    X = data.draw(matrices(min_rows=n, max_rows=n, max_cols=4))
    Xc, yc = as_container(X, container), as_target(y, y_container)
    before = [snapshot(Xc), snapshot(yc)]
    emb = MetricEmbedder(**METRIC, loss=loss, random_state=0).fit(Xc, yc)
    np.testing.assert_array_equal(emb.classes_, np.unique(y))
    assert emb.n_features_in_ == X.shape[1]
    if container == "dataframe":
        np.testing.assert_array_equal(emb.feature_names_in_, list(Xc.columns))
    Z = emb.transform(Xc)
    for b, v in zip(before, (Xc, yc)):
        assert_unchanged(b, v)
    assert Z.shape == (n, METRIC["embedding_dim"])
    assert Z.dtype == np.float32
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
    assert len(emb.get_feature_names_out()) == METRIC["embedding_dim"]


@TORCH
@given(X=matrices(min_rows=2, max_rows=10), data=st.data(),
       value=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_metric_embedder_refuses_non_finite_and_one_class(X, data, value):
    n = X.shape[0]
    Xb = with_bad_value(X, value, data)
    before = Xb.copy()
    with pytest.raises(ValueError, match=NONFINITE):
        MetricEmbedder(**METRIC).fit(Xb, np.arange(n) % 2)
    np.testing.assert_array_equal(before, Xb)
    label = data.draw(st.sampled_from([0, -3, "only", 2.0]))
    y = np.full(n, label, dtype=object if isinstance(label, str) else None)
    with pytest.raises(ValueError, match=r"only one class"):
        MetricEmbedder(**METRIC).fit(X, y)


@FAST
@given(X=matrices(min_rows=2, max_rows=8), data=st.data())
def test_metric_embedder_refuses_bad_targets(X, data):
    n = X.shape[0]
    case = data.draw(st.sampled_from(["nan", "continuous", "length", "none",
                                      "multilabel"]))
    if case == "nan":
        y, msg = np.r_[np.arange(n - 1) % 2, np.nan], r"NaN"
    elif case == "continuous":
        y, msg = np.linspace(0.1, 0.9, n) + 0.01, r"Unknown label type|continuous"
    elif case == "length":
        y, msg = np.arange(n + 1) % 2, r"inconsistent numbers of samples"
    elif case == "none":
        y, msg = None, r"requires y"
    else:
        y = np.c_[np.arange(n) % 2, np.arange(n) // 2 % 2]
        msg = r"multi-label y is not supported"
    y_before = copy.deepcopy(y)
    with pytest.raises((ValueError, TypeError), match=msg):
        MetricEmbedder(**METRIC).fit(X, y)
    if y is not None:
        np.testing.assert_array_equal(y, y_before)


@FAST
@given(bad=malformed_X())
def test_metric_embedder_refuses_malformed_input(bad):
    X_bad, msg = bad
    if isinstance(X_bad, np.ndarray) and X_bad.ndim == 3:
        return  # an image batch for the embedders (see test_embedder_...)
    with pytest.raises((ValueError, TypeError), match=msg):
        MetricEmbedder(**METRIC).fit(X_bad, np.arange(len(X_bad)) % 2)
