"""Shared strategies and helpers of the property-based hardening tests.

Each public estimator has its property tests beside its other tests
(``tests/cluster/test_spherical_kmeans_properties.py``,
``tests/neighbors/test_nearest_cluster_properties.py``,
``tests/embedding/test_{clmle,longtail,metric}_properties.py``); this module
holds what they share: hypothesis settings, input strategies, the words a
refusal must contain, and the checks that inputs are left unchanged.

Every estimator is fed random shapes and dtypes (float32, float64, integers),
NaN and infinity, empty arrays, rows that are all zero, one-sample classes,
string and negative labels, pandas DataFrames with feature names and plain
Python lists.  The properties:

- a refusal is a ``ValueError`` or ``TypeError`` whose message names the
  problem (``pytest.raises(..., match=...)``); any other exception escapes
  ``pytest.raises`` and fails the test;
- accepted input gives output of the documented shape and dtype;
- inputs are never modified in place.

Cases that fail because of a library bug are kept as narrow regression tests
at the end of each estimator's file (each was a bug found by these
properties, fixed since).
"""

import copy

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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


def n_columns(X_bad):
    """Number of features of a malformed input where it has one, else 2."""
    try:
        shape = np.shape(X_bad)
    except ValueError:  # ragged nested lists
        return 2
    return shape[1] if len(shape) >= 2 and shape[1] else 2


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
