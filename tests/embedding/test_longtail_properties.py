"""Property-based hardening tests (issue 7) of LongTailNetClassifier (torch
baselines: tiny settings, few examples).

The properties and the shared strategies: ``tests/_strategies.py``.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_clmle import LongTailNetClassifier
from tests._strategies import (
    CONTAINERS,
    NONFINITE,
    TORCH,
    as_container,
    assert_unchanged,
    matrices,
    snapshot,
    with_bad_value,
)


NET = dict(LongTailNetClassifier._test_params, epochs=2)
LOSSES = ["ce", "weighted_ce", "logit_adjusted", "ldam_drw", "focal",
          "class_balanced_focal", "cosface", "arcface"]


@TORCH
@given(X=matrices(min_rows=4, max_rows=20), data=st.data(),
       container=st.sampled_from(CONTAINERS), loss=st.sampled_from(LOSSES))
def test_longtail_net_accepts_valid_input(X, data, container, loss):
    n = X.shape[0]
    labels = data.draw(st.sampled_from([[0, 1, 2], [-1, 5], ["cat", "dog", "eel"]]))
    y = np.array([labels[i % len(labels)] for i in range(n)], dtype=object
                 if isinstance(labels[0], str) else None)
    Xc = as_container(X, container)
    before, y_before = snapshot(Xc), y.copy()
    clf = LongTailNetClassifier(loss=loss, random_state=0, **NET).fit(Xc, y)
    assert_unchanged(before, Xc)
    np.testing.assert_array_equal(y, y_before)
    pred = clf.predict(Xc)
    assert pred.shape == (n,) and set(pred) <= set(labels)
    proba = clf.predict_proba(Xc)
    assert proba.shape == (n, len(set(labels[: min(n, len(labels))])))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    Z = clf.transform(Xc)
    assert Z.shape[0] == n and Z.dtype == np.float32 and np.all(np.isfinite(Z))


@TORCH
@given(X=matrices(min_rows=2, max_rows=10), value=st.sampled_from([np.nan, np.inf]),
       data=st.data())
def test_longtail_net_refuses_non_finite_and_one_class(X, value, data):
    n = X.shape[0]
    Xb = with_bad_value(X, value, data)
    before = Xb.copy()
    with pytest.raises(ValueError, match=NONFINITE):
        LongTailNetClassifier(**NET).fit(Xb, np.arange(n) % 2)
    np.testing.assert_array_equal(before, Xb)
    with pytest.raises(ValueError, match=r"one class|only one"):
        LongTailNetClassifier(**NET).fit(X, np.zeros(n, dtype=int))


@TORCH
@given(X=matrices(min_rows=4, max_rows=20), data=st.data(),
       container=st.sampled_from(CONTAINERS),
       loss=st.sampled_from(["ce", "weighted_ce"]),
       y_dtype=st.sampled_from([np.int64, bool, np.float64]))
def test_longtail_net_multilabel_accepts_valid_input(X, data, container, loss, y_dtype):
    n = X.shape[0]
    n_labels = data.draw(st.integers(2, 4))
    Y = data.draw(hnp.arrays(np.int64, (n, n_labels), elements=st.integers(0, 1)))
    # every label needs both values (constant labels are refused, tested below)
    Y[0], Y[1] = 0, 1
    Y = Y.astype(y_dtype)
    Xc, Yc = as_container(X, container), (Y.tolist() if container == "list" else Y)
    before, Y_before = snapshot(Xc), Y.copy()
    clf = LongTailNetClassifier(loss=loss, random_state=0, **NET).fit(Xc, Yc)
    assert_unchanged(before, Xc)
    np.testing.assert_array_equal(Y, Y_before)
    np.testing.assert_array_equal(clf.classes_, np.arange(n_labels))
    pred = clf.predict(Xc)
    assert pred.shape == (n, n_labels) and set(np.unique(pred)) <= {0, 1}
    assert pred.dtype == np.asarray(Yc).dtype
    proba = clf.predict_proba(Xc)
    assert proba.shape == (n, n_labels) and np.all((proba >= 0) & (proba <= 1))
    scores = clf.decision_function(Xc)
    assert scores.shape == (n, n_labels) and np.all(np.isfinite(scores))
    np.testing.assert_array_equal(pred, scores > 0)
    assert_unchanged(before, Xc)


@TORCH
@given(X=matrices(min_rows=3, max_rows=10), data=st.data())
def test_longtail_net_refuses_bad_targets(X, data):
    n = X.shape[0]
    case = data.draw(st.sampled_from(
        ["nan", "continuous", "multiclass-multioutput", "constant-label",
         "multilabel-loss"]))
    loss = "ce"
    if case == "nan":
        y, msg = np.r_[np.arange(n - 1) % 2, np.nan], r"NaN"
    elif case == "continuous":
        y, msg = np.linspace(0.1, 0.9, n) + 0.01, r"Unknown label type|continuous"
    elif case == "multiclass-multioutput":
        y = np.tile([[0, 2], [1, 5]], (n, 1))[:n]
        msg = r"binary indicator|multi"
    elif case == "constant-label":
        y, msg = np.c_[np.arange(n) % 2, np.ones(n, dtype=int)], r"all 0 or all 1"
    else:
        y, msg = np.c_[np.arange(n) % 2, np.arange(n) // 2 % 2], r"loss='focal'"
        loss = "focal"
    y_before = y.copy()
    with pytest.raises(ValueError, match=msg):
        LongTailNetClassifier(**NET, loss=loss).fit(X, y)
    np.testing.assert_array_equal(y, y_before)
