"""Property-based hardening tests of KNearestClusterClassifier.

The properties and the shared strategies: ``tests/_strategies.py``.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from sklearn_clmle import KNearestClusterClassifier
from tests._strategies import (
    ALL_ZERO,
    CONTAINERS,
    FAST,
    FEW,
    NONFINITE,
    as_container,
    as_target,
    assert_unchanged,
    labels,
    malformed_X,
    matrices,
    n_columns,
    snapshot,
    unit_tol,
    with_bad_value,
    with_zero_rows,
)


@FAST
@given(
    y=labels(n_classes_min=2),
    data=st.data(),
    container=st.sampled_from(CONTAINERS),
    y_container=st.sampled_from(CONTAINERS),
    cluster_size=st.integers(1, 5),
    n_neighbors=st.integers(1, 6),
    aggregate=st.sampled_from(["min", "max"]),
    prior_correction=st.sampled_from([0.0, 1.0]),
)
def test_nearest_cluster_accepts_valid_input(
    y, data, container, y_container, cluster_size, n_neighbors, aggregate,
    prior_correction,
):
    n = len(y)
    X = data.draw(matrices(min_rows=n, max_rows=n), label="X")
    d = X.shape[1]
    X_query = data.draw(matrices(min_cols=d, max_cols=d), label="X_query")
    Xc, yc, Qc = as_container(X, container), as_target(y, y_container), as_container(
        X_query, container
    )
    before = [snapshot(v) for v in (Xc, yc, Qc)]
    clf = KNearestClusterClassifier(
        n_neighbors, cluster_size=cluster_size, aggregate=aggregate,
        prior_correction=prior_correction, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xc, yc)
    classes = np.unique(y)
    np.testing.assert_array_equal(clf.classes_, classes)
    assert clf.n_features_in_ == d
    if container == "dataframe":
        np.testing.assert_array_equal(clf.feature_names_in_, list(Xc.columns))
    norms = np.linalg.norm(clf.cluster_centers_.astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, 1, atol=unit_tol(clf.cluster_centers_.dtype))
    assert clf.cluster_sizes_.sum() == n
    assert set(clf.cluster_classes_.tolist()) == set(classes.tolist())
    np.testing.assert_allclose(clf.class_prior_.sum(), 1)

    for Q, m in ((Xc, n), (Qc, X_query.shape[0])):
        pred = clf.predict(Q)
        assert pred.shape == (m,)
        # original labels: the dtype of classes_ (object for a pandas Series
        # of strings, bool for boolean labels, ...)
        assert pred.dtype == clf.classes_.dtype
        assert pred.dtype.kind == np.asarray(yc).dtype.kind
        assert set(pred.tolist()) <= set(classes.tolist())
        proba = clf.predict_proba(Q)
        assert proba.shape == (m, len(classes))
        assert np.all(np.isfinite(proba))
        assert np.all((proba >= 0) & (proba <= 1))
        np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-9)
        # "Its argmax is predict" (up to ties)
        pred_idx = np.searchsorted(classes, pred)
        np.testing.assert_allclose(
            proba[np.arange(m), pred_idx], proba.max(axis=1), atol=1e-9
        )
        scores = clf.decision_function(Q)
        expected = (m,) if len(classes) == 2 else (m, len(classes))
        assert scores.shape == expected
        assert np.all(np.isfinite(scores))
        if len(classes) == 1:
            assert np.all(pred == classes[0])
    for b, v in zip(before, (Xc, yc, Qc)):
        assert_unchanged(b, v)


@FEW
@given(y=labels(n_classes_min=2), data=st.data())
def test_nearest_cluster_multilabel_shapes(y, data):
    n = len(y)
    X = data.draw(matrices(min_rows=n, max_rows=n, min_cols=2, max_cols=4,
                           dtypes=[np.float32, np.float64]))
    n_labels = data.draw(st.integers(2, 3))
    Y = data.draw(hnp.arrays(np.int64, (n, n_labels), elements=st.integers(0, 1)))
    Y[:2] = [[0], [1]]  # every label both values (a constant one is refused)
    before = Y.copy()
    clf = KNearestClusterClassifier(3, cluster_size=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)
    np.testing.assert_array_equal(before, Y)
    assert clf.predict(X).shape == (n, n_labels)
    proba = clf.predict_proba(X)
    assert len(proba) == n_labels
    for p in proba:
        assert p.shape[0] == n
        np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-9)
    assert clf.decision_function(X).shape == (n, n_labels)


@FAST
@given(y=labels(n_classes_min=2), data=st.data(), value=st.sampled_from([np.nan, np.inf, -np.inf]),
       where=st.sampled_from(["fit", "predict", "predict_proba", "decision_function"]))
def test_nearest_cluster_refuses_non_finite(y, data, value, where):
    X = data.draw(matrices(min_rows=len(y), max_rows=len(y)))
    Xb = with_bad_value(X, value, data)
    before = Xb.copy()
    clf = KNearestClusterClassifier(2, cluster_size=2, random_state=0)
    with pytest.raises(ValueError, match=NONFINITE):
        if where == "fit":
            clf.fit(Xb, y)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X, y)
            getattr(clf, where)(Xb)
    np.testing.assert_array_equal(before, Xb)


@FAST
@given(y=labels(n_classes_min=2), data=st.data(), container=st.sampled_from(CONTAINERS),
       where=st.sampled_from(["fit", "predict", "predict_proba", "decision_function"]))
def test_nearest_cluster_refuses_zero_rows(y, data, container, where):
    X = data.draw(matrices(min_rows=len(y), max_rows=len(y)))
    Xz = as_container(with_zero_rows(X, data), container)
    before = snapshot(Xz)
    clf = KNearestClusterClassifier(2, cluster_size=2, random_state=0)
    with pytest.raises(ValueError, match=ALL_ZERO):
        if where == "fit":
            clf.fit(Xz, y)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(as_container(X, container), y)
            getattr(clf, where)(Xz)
    assert_unchanged(before, Xz)


@FAST
@given(y=labels(n_classes_min=2), data=st.data(),
       where=st.sampled_from(["predict", "predict_proba", "decision_function"]))
def test_nearest_cluster_refuses_wrong_feature_count(y, data, where):
    X = data.draw(matrices(min_rows=len(y), max_rows=len(y)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = KNearestClusterClassifier(2, cluster_size=2, random_state=0).fit(X, y)
    d_new = data.draw(st.integers(1, 8).filter(lambda v: v != X.shape[1]))
    with pytest.raises(ValueError, match=r"X has \d+ features.*expecting"):
        getattr(clf, where)(np.ones((2, d_new)))


@FAST
@given(X=matrices(min_rows=3), data=st.data())
def test_nearest_cluster_refuses_bad_targets(X, data):
    n = X.shape[0]
    case = data.draw(st.sampled_from(
        ["nan", "continuous", "length", "none", "mixed", "multiclass-multioutput"]
    ))
    if case == "nan":
        y, msg = np.r_[np.zeros(n - 1), np.nan], r"NaN"
    elif case == "continuous":
        y, msg = np.linspace(0.1, 0.9, n) + 0.01, r"Unknown label type|continuous"
    elif case == "length":
        y, msg = np.zeros(n + 1), r"inconsistent numbers of samples"
    elif case == "none":
        y, msg = None, r"requires y"
    elif case == "mixed":
        y = np.array([1, "a"] * n, dtype=object)[:n]
        msg = r"Unknown label type|mix|unknown"
    else:
        y = np.tile([[0, 2], [1, 5]], (n, 1))[:n]
        msg = r"binary indicator|multi"
    with pytest.raises((ValueError, TypeError), match=msg):
        KNearestClusterClassifier(2, cluster_size=2).fit(X, y)


@FAST
@given(bad=malformed_X(), stage=st.sampled_from(["fit", "predict"]))
def test_nearest_cluster_refuses_malformed_input(bad, stage):
    X_bad, msg = bad
    clf = KNearestClusterClassifier(1, cluster_size=1)
    if stage == "predict":
        d = n_columns(X_bad)
        clf.fit(np.eye(d) + 0.5, np.arange(d) % 2)
    with pytest.raises((ValueError, TypeError), match=msg):
        if stage == "fit":
            clf.fit(X_bad, np.arange(len(X_bad)) % 2)
        else:
            clf.predict(X_bad)


def test_nearest_cluster_huge_finite_values():
    clf = KNearestClusterClassifier(1, cluster_size=1)
    clf.fit(np.array([[1e155, 0.0], [0.0, 1.0]]), [0, 1])
    assert clf.predict([[1.0, 0.0]]).tolist() == [0]
