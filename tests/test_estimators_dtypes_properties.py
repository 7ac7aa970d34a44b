"""Property-based hardening tests, round 2 for the five public
estimators: the input kinds round 1 (``tests/*/test_*_properties.py``) did
not draw -- bools, small and unsigned ints, float16, numeric object arrays,
strings, pandas nullable (``Int64``, ``Float64``, ``boolean``) and
categorical columns; ``y`` with NaN, inf, ``None``, ``pd.NA`` or mixed
types, one sample per class, unused categories left by
``make_long_tailed``; multi-label columns all 0 or all 1; parameters at and
past their bounds (huge margins and scales, ``scale`` near 0,
``cluster_size`` larger than any class, more clusters than samples).

Expected: success with output of the documented shape (finite, inputs
unchanged), or ``ValueError``/``TypeError`` naming the problem, or -- for a
parameter whose value is representable but makes training overflow -- our
``FloatingPointError`` naming the training step, with the estimator left
unfitted.

Bugs these found, fixed since (regressions at the end): a DataFrame of
string categories reached the torch estimators as an object array and failed
in ``np.abs`` ("bad operand type for abs(): 'str'"); ``learning_rate`` or
``weight_decay`` above float32's range failed inside torch's optimiser
("value cannot be converted to type float without overflow"); margins,
scales and loss weights above float32's range became ``inf`` silently;
``MetricEmbedder(n_samples_per_class=10**6)`` asked torch for 36 TB.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sklearn_clmle import (
    CLMLEEmbedder,
    KNearestClusterClassifier,
    LongTailNetClassifier,
    MetricEmbedder,
    SphericalKMeans,
)
from sklearn_clmle.datasets import make_long_tailed
from tests._strategies import FEW, TORCH, assert_unchanged, labels, snapshot

ESTIMATORS = ["skm", "knc", "clmle", "longtail", "metric"]
TORCH_ESTIMATORS = ["clmle", "longtail", "metric"]


def make(name, **params):
    if name == "skm":
        return SphericalKMeans(**{"n_clusters": 2, "random_state": 0, **params})
    if name == "knc":
        return KNearestClusterClassifier(**{**KNearestClusterClassifier._test_params,
                                            **params})
    cls = {"clmle": CLMLEEmbedder, "longtail": LongTailNetClassifier,
           "metric": MetricEmbedder}[name]
    base = dict(cls._test_params, random_state=0)
    if name == "longtail":
        base["epochs"] = 2
    return cls(**{**base, **params})


def fit(name, X, y, **params):
    est = make(name, **params)
    return est.fit(X) if name == "skm" else est.fit(X, y)


def check_output(name, est, X, n):
    if name in ("skm", "clmle", "metric"):
        Z = est.transform(X)
        assert Z.shape[0] == n and np.all(np.isfinite(Z))
    if name in ("skm", "knc", "longtail"):
        pred = est.predict(X)
        assert len(pred) == n
    if name in ("knc", "longtail"):
        proba = est.predict_proba(X)
        if not isinstance(proba, list):
            assert np.all(np.isfinite(proba))
            np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def base_data(data, n_min=6, n_max=14, d_max=4):
    n = data.draw(st.integers(n_min, n_max))
    d = data.draw(st.integers(2, d_max))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, d)) + 2 * y[:, None]
    X[:, 0] = np.abs(X[:, 0]) + 0.5  # no all-zero row in any cast below
    return X, y


NUMERIC_KINDS = ["bool", "int8", "uint8", "uint64", "float16", "object",
                 "Int64", "Float64", "boolean", "categorical-num"]
REFUSED_KINDS = {  # kind -> words of the refusal
    "strings": r"string|numeric|convert|float",
    "categorical-str": r"X should hold numbers|convert|float",
    "mixed-column": r"convert|float|string",
    "Float64-NA": r"NaN",
    "complex": r"[Cc]omplex",
}


def as_kind(X, kind):
    if kind == "bool":
        return X > 0.4
    if kind in ("int8", "uint8", "uint64"):
        return np.round(np.abs(X) * 3 + 1).astype(kind)
    if kind == "float16":
        return X.astype(np.float16)
    if kind == "object":
        return X.astype(object)
    if kind == "Int64":
        return pd.DataFrame(np.round(np.abs(X) * 3 + 1).astype(int)).astype("Int64")
    if kind == "Float64":
        return pd.DataFrame(X).astype("Float64")
    if kind == "boolean":
        return pd.DataFrame(X > 0.4).astype("boolean")
    if kind == "categorical-num":
        return pd.DataFrame({f"c{j}": pd.Categorical(np.round(np.abs(X[:, j])) + 1)
                             for j in range(X.shape[1])})
    if kind == "strings":
        return X.astype(str)
    if kind == "categorical-str":
        return pd.DataFrame({f"c{j}": pd.Categorical(np.where(X[:, j] > 0, "a", "b"))
                             for j in range(X.shape[1])})
    if kind == "mixed-column":
        df = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
        df["c0"] = "text"
        return df
    if kind == "Float64-NA":
        df = pd.DataFrame(X).astype("Float64")
        df.iloc[0, 1] = pd.NA
        return df
    if kind == "complex":
        return X + 1j
    raise AssertionError(kind)


# -- X of every kind ---------------------------------------------------------


def _x_kinds(name, data):
    X, y = base_data(data)
    kind = data.draw(st.sampled_from(NUMERIC_KINDS + sorted(REFUSED_KINDS)))
    Xk = as_kind(X, kind)
    if kind in ("bool", "boolean") and name in ("skm", "knc"):
        # rows of all False are all-zero rows, refused by design (round 1)
        Xk = np.asarray(Xk, dtype=bool) if kind == "bool" else Xk
        first = Xk.columns[0] if hasattr(Xk, "columns") else 0
        if hasattr(Xk, "columns"):
            Xk[first] = True
        else:
            Xk[:, 0] = True
    before = snapshot(Xk)
    if kind == "strings" and name in ("skm", "knc"):
        # numeric strings: converted by check_array(dtype=float64), as in
        # scikit-learn's own estimators; same fit as the numbers
        est = fit(name, Xk, y)
        ref = fit(name, Xk.astype(np.float64), y)
        np.testing.assert_array_equal(est.predict(Xk), ref.predict(Xk.astype(float)))
    elif kind in REFUSED_KINDS:
        with pytest.raises((ValueError, TypeError), match=REFUSED_KINDS[kind]):
            fit(name, Xk, y)
    else:
        est = fit(name, Xk, y)
        check_output(name, est, Xk, len(y))
    assert_unchanged(before, Xk)


@FEW
@given(data=st.data(), name=st.sampled_from(["skm", "knc"]))
def test_numpy_estimators_on_every_x_kind(data, name):
    _x_kinds(name, data)


@TORCH
@given(data=st.data(), name=st.sampled_from(TORCH_ESTIMATORS))
def test_torch_estimators_on_every_x_kind(data, name):
    _x_kinds(name, data)


# -- y of every kind ---------------------------------------------------------


BAD_Y = {
    "nan": (lambda y: np.r_[y[:-1].astype(float), np.nan], r"NaN"),
    "inf": (lambda y: np.r_[y[:-1].astype(float), np.inf], r"infinity"),
    "None": (lambda y: np.append(y[:-1].astype(object), None), r"label type|NaN|None"),
    "NA": (lambda y: pd.Series(pd.array(list(y[:-1]) + [None], dtype="Int64")), r"NaN"),
    "mixed": (lambda y: np.append(y[:-1].astype(object), "a"), r"label type|mix"),
    "length": (lambda y: y[:-1], r"inconsistent numbers of samples"),
    "continuous": (lambda y: np.linspace(0.1, 0.9, len(y)) + 1e-3,
                   r"Unknown label type|continuous"),
}


def _bad_y(name, data):
    X, y = base_data(data)
    case = data.draw(st.sampled_from(sorted(BAD_Y)))
    make_y, msg = BAD_Y[case]
    yb = make_y(y)
    before = snapshot(yb)
    est = make(name)
    with pytest.raises((ValueError, TypeError), match=msg):
        est.fit(X, yb)
    assert_unchanged(before, yb)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@FEW
@given(data=st.data())
def test_knc_refuses_bad_y(data):
    _bad_y("knc", data)


@TORCH
@given(data=st.data(), name=st.sampled_from(TORCH_ESTIMATORS))
def test_torch_estimators_refuse_bad_y(data, name):
    _bad_y(name, data)


def _one_sample_classes(name, data):
    # every class of one sample but the first; labels of any kind
    y = data.draw(labels(n_classes_min=2, n_classes_max=5, min_size=1, max_size=1))
    big = y[0]
    y = np.r_[np.repeat(y[:1], 4), y[1:]]
    n = len(y)
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    X = np.abs(rng.normal(size=(n, 3))) + 0.1
    before = y.copy()
    est = fit(name, X, y)
    np.testing.assert_array_equal(y, before)
    np.testing.assert_array_equal(np.sort(est.classes_), np.unique(y))
    check_output(name, est, X, n)
    assert big in est.classes_


@FEW
@given(data=st.data())
def test_knc_one_sample_per_class(data):
    _one_sample_classes("knc", data)


@TORCH
@given(data=st.data(), name=st.sampled_from(TORCH_ESTIMATORS))
def test_torch_one_sample_per_class(data, name):
    _one_sample_classes(name, data)


@FEW
@given(data=st.data(), name=st.sampled_from(["knc", "longtail"]))
def test_long_tailed_subset_with_unused_categories(data, name):
    # make_long_tailed keeps a categorical Series' unused categories: they must
    # not become empty classes of the classifier
    n_per = data.draw(st.integers(3, 8))
    classes = ["head", "mid", "tail"]
    y = pd.Series(pd.Categorical(np.repeat(classes, n_per),
                                 categories=classes + ["never seen"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    X = np.abs(rng.normal(size=(len(y), 3))) + 0.1
    rho = data.draw(st.floats(1, 1e6))
    X_lt, y_lt = make_long_tailed(X, y, imbalance_ratio=rho, random_state=0)
    if name == "longtail":
        est = make(name, epochs=1).fit(X_lt, y_lt)
    else:
        est = make(name).fit(X_lt, y_lt)
    assert set(est.classes_) == set(classes)
    assert set(est.predict(X_lt)) <= set(classes)
    assert est.predict_proba(X_lt).shape == (len(y_lt), 3)


@TORCH
@given(data=st.data(), name=st.sampled_from(["clmle", "longtail", "knc"]),
       which=st.sampled_from(["zeros", "ones"]))
def test_multilabel_with_constant_column(data, name, which):
    X, y = base_data(data)
    col = np.zeros(len(y), int) if which == "zeros" else np.ones(len(y), int)
    Y = np.c_[y, col, 1 - y]
    before = Y.copy()
    # every estimator refuses a constant label, KNearestClusterClassifier
    # included (it used to predict it as it was, as it fitted a single-class
    # y silently)
    est = make(name)
    with pytest.raises(ValueError, match=r"label\(s\) \[1\] .*all 0 or all 1"):
        est.fit(X, Y)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    np.testing.assert_array_equal(Y, before)


# -- parameters at and past their bounds --------------------------------------


@FEW
@given(data=st.data(), extra=st.integers(1, 10**9))
def test_more_clusters_than_samples(data, extra):
    X, _ = base_data(data)
    n = len(X)
    with pytest.raises(ValueError, match=rf"n_samples={n} should be >= "
                                         rf"n_clusters={n + extra}"):
        SphericalKMeans(n + extra, random_state=0).fit(X)
    km = SphericalKMeans(n, random_state=0).fit(X)  # exactly n: one each
    assert len(np.unique(km.labels_)) == n


@FEW
@given(data=st.data(), cluster_size=st.sampled_from([1, 2, 10**3, 10**9]),
       scale=st.sampled_from(["auto", 1e-300, 1e-8, 1e8, 1e300]))
def test_knc_cluster_size_and_scale_extremes(data, cluster_size, scale):
    X, y = base_data(data)
    est = make("knc", cluster_size=cluster_size, scale=scale).fit(X, y)
    check_output("knc", est, X, len(y))


TORCH_BOUNDS = [  # (estimator, parameters): representable, may overflow
    ("clmle", dict(margin_between=1e6, margin_within=1e6)),
    ("clmle", dict(margin_between=3e38)),
    ("clmle", dict(scale=1e-30)),
    ("clmle", dict(scale=3e38)),
    ("clmle", dict(cluster_size=10**9)),
    ("clmle", dict(cluster_size=1)),
    ("clmle", dict(n_samples_per_cluster=10**6, n_clusters_per_batch=10**6)),
    ("clmle", dict(softmax_weight=3e38)),
    ("clmle", dict(learning_rate=3e38)),
    ("clmle", dict(learning_rate=1e-30, steps_per_round=0)),
    ("longtail", dict(loss="cosface", angular_scale=1e-30)),
    ("longtail", dict(loss="arcface", angular_scale=3e38)),
    ("longtail", dict(loss="ldam_drw", ldam_max_margin=3e38)),
    ("longtail", dict(loss="logit_adjusted", tau=-3e38)),
    ("longtail", dict(loss="focal", gamma=3e38)),
    ("longtail", dict(loss="class_balanced_focal", beta=1 - 1e-12)),
    ("metric", dict(triplet_margin=3e38)),
    ("metric", dict(loss="lmle", cluster_size=10**9)),
    ("metric", dict(n_classes_per_batch=10**6)),
]

PAST_BOUNDS = [  # refused by the parameter constraints, naming the parameter
    ("clmle", dict(margin_between=1e300)), ("clmle", dict(margin_within=-1.0)),
    ("clmle", dict(scale=0.0)), ("clmle", dict(scale=1e300)),
    ("clmle", dict(softmax_weight=np.inf)), ("clmle", dict(learning_rate=1e300)),
    ("clmle", dict(weight_decay=1e300)), ("clmle", dict(cluster_size=0)),
    ("longtail", dict(angular_scale=1e300)), ("longtail", dict(tau=np.inf)),
    ("longtail", dict(gamma=1e300)), ("longtail", dict(beta=1.0)),
    ("longtail", dict(ldam_max_margin=1e300)), ("longtail", dict(learning_rate=1e300)),
    ("longtail", dict(angular_margin=1e6, loss="arcface")),
    ("metric", dict(triplet_margin=1e300)), ("metric", dict(weight_decay=1e300)),
    ("metric", dict(lmle_margins=(1e300, 1.0, 1.0), loss="lmle")),
    ("metric", dict(n_samples_per_class=10**6)),
]


@TORCH
@given(data=st.data(), case=st.sampled_from(TORCH_BOUNDS))
def test_torch_parameters_at_their_bounds(data, case):
    name, params = case
    X, y = base_data(data)
    est = make(name, **params)
    try:
        est.fit(X, y)
    except FloatingPointError as exc:  # overflow in training: named, unfitted
        assert "at " in str(exc) and ("round" in str(exc) or "epoch" in str(exc))
        with pytest.raises(NotFittedError):
            check_is_fitted(est)
        return
    check_output(name, est, X, len(y))


@FEW
@given(data=st.data(), case=st.sampled_from(PAST_BOUNDS))
def test_torch_parameters_past_their_bounds(data, case):
    name, params = case
    X, y = base_data(data)
    key = next(iter(params))
    with pytest.raises(ValueError, match=rf"{key}"):
        make(name, **params).fit(X, y)


# -- regressions --------------------------------------------------------------


@pytest.mark.parametrize("name", TORCH_ESTIMATORS)
def test_string_categories_refused_before_np_abs(name):
    X = pd.DataFrame({"a": pd.Categorical(list("xyxyxy")),
                      "b": pd.Categorical(list("pqqppq"))})
    with pytest.raises(ValueError, match=r"X should hold numbers; got .* 'x'"):
        make(name).fit(X, np.arange(6) % 2)


@pytest.mark.parametrize("param", ["learning_rate", "weight_decay"])
def test_optimiser_settings_beyond_float32_refused(param):
    with pytest.raises(ValueError, match=rf"'{param}' parameter .* Got 1e\+300"):
        make("clmle", **{param: 1e300}).fit(np.eye(6) + 1, np.arange(6) % 2)


def test_huge_triplet_batch_refused():
    with pytest.raises(ValueError, match=r"n_samples_per_class=1000000 gives batches "
                                         r"of 2000000 rows, more than max\(n_samples, "
                                         r"1024\) = 1024"):
        make("metric", n_samples_per_class=10**6).fit(np.eye(6) + 1, np.arange(6) % 2)
    # a batch larger than a tiny training set is fine (with replacement)
    make("metric", n_samples_per_class=5).fit(np.eye(6) + 1, np.arange(6) % 2)


# -- after fit: predict / transform on every kind of X ------------------------

_FITTED = {}


def fitted(name):
    """One fitted estimator per name (fitted once: the examples only query)."""
    if name not in _FITTED:
        rng = np.random.default_rng(0)
        y = np.arange(12) % 2
        X = np.abs(rng.normal(size=(12, 3))) + 0.5 + y[:, None]
        _FITTED[name] = fit(name, X, y)
    return _FITTED[name]


QUERIES = {  # kind -> words of the refusal (None: accepted)
    "float16": None, "bool": None, "int8": None, "object": None, "Int64": None,
    "Float64": None, "list": None,
    "nan": r"NaN", "inf": r"infinity|inf", "too few features": r"features",
    "too many features": r"features", "1d": r"Expected 2D array|dim",
    "empty": r"0 sample", "strings": r"string|numeric|convert|float",
    "complex": r"[Cc]omplex", "Float64-NA": r"NaN",
}


@settings(FEW, max_examples=60)
@given(data=st.data(), name=st.sampled_from(ESTIMATORS),
       kind=st.sampled_from(sorted(QUERIES)))
def test_queries_of_every_kind_after_fit(data, name, kind):
    est = fitted(name)
    n = data.draw(st.integers(1, 8))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    X = np.abs(rng.normal(size=(n, 3))) + 0.5
    if kind in ("nan", "inf"):
        X[data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, 2))] = (
            np.nan if kind == "nan" else -np.inf)
        Xq = X
    elif kind == "too few features":
        Xq = X[:, :2]
    elif kind == "too many features":
        Xq = np.c_[X, X]
    elif kind == "1d":
        Xq = X[0]
    elif kind == "empty":
        Xq = X[:0]
    elif kind == "list":
        Xq = X.tolist()
    elif kind == "int8":
        Xq = np.round(X * 3).astype(np.int8)
    elif kind == "Float64-NA":
        Xq = pd.DataFrame(X).astype("Float64")
        Xq.iloc[0, 0] = pd.NA
    else:
        Xq = as_kind(X, kind)
    if kind in ("Int64", "Float64", "Float64-NA"):
        Xq.columns = [str(c) for c in Xq.columns]
    before = snapshot(Xq)
    method = est.transform if name in ("clmle", "metric") else est.predict
    msg = QUERIES[kind]
    if kind == "strings" and name in ("skm", "knc"):
        msg = None  # numeric strings are converted (check_array(dtype=float))
    if msg is None:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # feature names
            out = method(Xq)
        assert len(out) == n
        if name in ("clmle", "metric"):
            assert np.all(np.isfinite(out))
    else:
        with pytest.raises((ValueError, TypeError), match=msg):
            method(Xq)
    assert_unchanged(before, Xq)
