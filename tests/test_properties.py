"""Property-based hardening tests (issue 7) for every public estimator.

Every estimator is fed random shapes and dtypes (float32, float64, integers),
NaN and infinity, empty arrays, rows that are all zero, one-sample classes,
string and negative labels, pandas DataFrames with feature names and plain
Python lists.  The properties:

- a refusal is a ``ValueError`` or ``TypeError`` whose message names the
  problem (``pytest.raises(..., match=...)``); any other exception escapes
  ``pytest.raises`` and fails the test;
- accepted input gives output of the documented shape and dtype;
- inputs are never modified in place.

Cases that fail because of a library bug are kept as narrow
regression tests at the end of each section (each was a bug found by these
properties, fixed since).
"""

import copy
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from sklearn_clmle import (
    CLMLEEmbedder,
    KNearestClusterClassifier,
    LongTailNetClassifier,
    MetricEmbedder,
    SphericalKMeans,
)

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
FEW = settings(FAST, max_examples=25)
TORCH = settings(FAST, max_examples=6)

DTYPES = [np.float32, np.float64, np.int64, np.int32]
CONTAINERS = ["numpy", "list", "dataframe"]

# messages that name the problem
NONFINITE = r"NaN|infinity|inf"
ALL_ZERO = r"all zero"
N_FEATURES = r"features|shape"
EMPTY = r"0 sample\(s\)|0 feature\(s\)"


# -- strategies ---------------------------------------------------------------


@st.composite
def matrices(draw, min_rows=1, max_rows=25, min_cols=1, max_cols=5, dtypes=DTYPES):
    """A 2-D array without all-zero rows, in a drawn dtype."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(min_cols, max_cols))
    if dtype.kind == "f":
        elements = st.floats(
            -1e3, 1e3, allow_nan=False, allow_infinity=False, width=dtype.itemsize * 8
        )
    else:
        elements = st.integers(-5, 5)
    X = draw(hnp.arrays(dtype, (n, d), elements=elements))
    # rows that are all zero are refused by design; make every row non-zero
    # (but keep duplicates).  Rows whose squared norm underflows to 0 in their
    # dtype are made non-zero too: that underflow is the bug of
    # test_spherical_kmeans_tiny_nonzero_values.
    zero = np.einsum("ij,ij->i", X, X) == 0 if dtype.kind == "f" else ~X.any(axis=1)
    X[zero, draw(st.integers(0, d - 1))] = 1
    if draw(st.booleans()) and dtype.kind == "f":
        # already unit-norm rows take the no-copy path of normalize_rows
        X = (X / np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)).astype(
            dtype
        )
        assume(np.all(X.any(axis=1)))
    return X


def as_container(X, kind):
    if kind == "numpy":
        return X
    if kind == "list":
        return X.tolist()
    return pd.DataFrame(X, columns=[f"feat_{j}" for j in range(X.shape[1])])


def snapshot(obj):
    """A deep copy of an input, to compare with it after a call."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return obj.copy(deep=True)
    return copy.deepcopy(obj)


def assert_unchanged(before, after):
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(before, after)
    elif isinstance(before, pd.Series):
        pd.testing.assert_series_equal(before, after)
    elif isinstance(before, np.ndarray):
        assert before.dtype == after.dtype
        np.testing.assert_array_equal(before, after)
    else:
        assert before == after


def training_dtype(X):
    """Float dtype the estimators compute in for this input."""
    dt = np.asarray(X).dtype
    return dt if dt in (np.float32, np.float64) else np.dtype(np.float64)


def unit_tol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-8


def with_bad_value(X, value, data):
    Xb = X.astype(np.float64 if X.dtype.kind != "f" else X.dtype)
    i = data.draw(st.integers(0, Xb.shape[0] - 1))
    j = data.draw(st.integers(0, Xb.shape[1] - 1))
    Xb[i, j] = value
    return Xb


def with_zero_rows(X, data):
    Xz = X.copy()
    rows = data.draw(
        st.lists(st.integers(0, X.shape[0] - 1), min_size=1, max_size=3, unique=True)
    )
    Xz[rows] = 0
    return Xz


# Inputs that are not a valid 2-D numeric matrix, with the words of the
# refusal: (strategy of input, regex of the message).
def malformed_X():
    return st.sampled_from(
        [
            (np.empty((0, 3)), EMPTY),
            (np.empty((4, 0)), EMPTY),
            ([], r"Expected 2D array|0 sample|empty"),
            (np.array([1.0, 2.0, 3.0]), r"Expected 2D array"),
            (np.ones((3, 2, 2)), r"dim|Expected 2D array|<= 2"),
            ([["a", "b"], ["c", "d"], ["e", "f"]], r"string|convert|float"),
            (np.ones((3, 2)) + 1j, r"[Cc]omplex"),
            ([[1.0, 2.0], [3.0]], r"inhomogeneous|sequence|shape"),
            (
                pd.DataFrame({"a": [1.0, 2.0, 3.0], 0: [1.0, 2.0, 3.0]}),
                r"string names|feature names",
            ),
            (
                pd.DataFrame({"a": pd.array([1.0, None, 3.0], dtype="Float64"),
                              "b": [1.0, 2.0, 3.0]}),
                NONFINITE,
            ),
        ]
    )


# =============================================================================
# SphericalKMeans
# =============================================================================


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


def n_columns(X_bad):
    """Number of features of a malformed input where it has one, else 2."""
    try:
        shape = np.shape(X_bad)
    except ValueError:  # ragged nested lists
        return 2
    return shape[1] if len(shape) >= 2 and shape[1] else 2


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


# =============================================================================
# KNearestClusterClassifier
# =============================================================================


@st.composite
def labels(draw, n_classes_min=1, n_classes_max=4, min_size=1, max_size=8):
    """Labels with drawn class sizes (one-sample classes included), kind and order."""
    kind = draw(st.sampled_from(["int", "negative", "str", "float", "bool"]))
    if kind == "bool":
        n_classes_max = min(n_classes_max, 2)
        n_classes_min = min(n_classes_min, n_classes_max)
    n_classes = draw(st.integers(n_classes_min, n_classes_max))
    sizes = draw(st.lists(st.integers(min_size, max_size), min_size=n_classes,
                          max_size=n_classes))
    names = {
        "int": [3 * c + 1 for c in range(n_classes)],
        "negative": [-7 * c - 2 for c in range(n_classes)],
        "str": [f"class {chr(ord('z') - c)}" for c in range(n_classes)],
        "float": [3.0 * c - 2.0 for c in range(n_classes)],  # integral floats
        "bool": [True, False][:n_classes],
    }[kind]
    y = np.repeat(np.array(names), sizes)
    y = y[draw(st.permutations(range(len(y))))]
    return y


def as_target(y, kind):
    if kind == "numpy":
        return y
    if kind == "list":
        return y.tolist()
    return pd.Series(y, name="target")


@FAST
@given(
    y=labels(),
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
@given(y=labels(), data=st.data(), value=st.sampled_from([np.nan, np.inf, -np.inf]),
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
@given(y=labels(), data=st.data(), container=st.sampled_from(CONTAINERS),
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
@given(y=labels(), data=st.data(),
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


# =============================================================================
# CLMLEEmbedder (torch: tiny settings, few examples)
# =============================================================================

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
        msg = r"only one class"
    with pytest.raises((ValueError, TypeError), match=msg):
        CLMLEEmbedder(**TINY).fit(X, y)


@pytest.mark.parametrize("y", [[0, 1], [0, 0, 1, 1], ["a", "b", "b", "c"]])
def test_embedder_all_classes_smaller_than_n_samples_per_cluster(y):
    X = np.random.RandomState(0).normal(size=(len(y), 2))
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(X, y)
    assert emb.transform(X).shape == (len(y), TINY["embedding_dim"])


@pytest.mark.parametrize("value", [1e200, 1e20])
def test_embedder_transform_huge_values(fitted_embedder, value):
    emb, _ = fitted_embedder
    try:
        Z = emb.transform(np.full((2, 3), value))
    except ValueError as exc:
        assert re.search(r"float32|too large", str(exc))
        return
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)


# =============================================================================
# LongTailNetClassifier (torch baselines: tiny settings, few examples)
# =============================================================================

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


# =============================================================================
# MetricEmbedder (torch metric-learning baselines: tiny settings, few examples)
# =============================================================================

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
