"""Input helpers shared by the estimators.

scikit-learn's declarative parameter validation lives in private modules; it is
imported here, in one place, so that a future move in scikit-learn breaks one
import rather than every estimator.
"""

from numbers import Number

import numpy as np
from scipy import sparse
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.utils._param_validation import (  # noqa: F401  (re-exported)
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import validate_data

# Rows whose squared norm is within this of 1 are treated as already unit norm
# and used as they are (no copy).
_UNIT_NORM_RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def refuse_non_numeric(estimator, X, error=None):
    """Raise the one error every estimator gives for features that are not
    numbers (strings, categories, objects), naming the estimator, an
    offending value and the fix: a ``ValueError``, or a ``TypeError`` when
    ``error`` (numpy's failed conversion) is one, its message appended (as
    scikit-learn's ``check_dtype_object`` expects of objects)."""
    values = np.asarray(X, dtype=object).ravel()
    example = next((v for v in values if isinstance(v, (str, bytes))), None)
    if example is None:
        example = next((v for v in values
                        if not isinstance(v, (Number, np.number, np.bool_))),
                       values[0] if values.size else None)
    dtype = getattr(X, "dtype", None)
    if dtype is None:
        dtypes = getattr(X, "dtypes", None)  # a DataFrame
        dtype = "object" if dtypes is None else ", ".join(
            sorted({str(d) for d in dtypes}))
    message = (
        f"X should hold numbers; got an array of dtype {dtype} with values "
        f"such as {example!r}. {type(estimator).__name__} needs numeric "
        "features, not strings or objects: encode categorical columns "
        "numerically (e.g. with sklearn.preprocessing.OneHotEncoder).")
    if isinstance(error, TypeError):
        raise TypeError(f"{message} ({error})") from error
    raise ValueError(message) from error


def validate_float_csr(estimator, X, y="no_validation", **kwargs):
    """``validate_data`` as the numpy estimators (``SphericalKMeans``,
    ``KNearestClusterClassifier``) call it: dense or CSR (other sparse
    formats are converted), float64 or float32 (other dtypes become
    float64), C-contiguous, finite; ``kwargs`` go to ``validate_data``.
    Features that are not numbers get ``refuse_non_numeric``'s message."""
    return validate_numeric(
        estimator, X, lambda: validate_data(
            estimator, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
            order="C", **kwargs))


def validate_numeric(estimator, X, validate):
    """``validate()`` (a ``validate_data`` call on ``X``), with its failures
    to make numbers of ``X`` replaced by ``refuse_non_numeric``'s message,
    and its refusal of infinite values completed with the estimator's
    name (scikit-learn names it for NaN only)."""
    try:
        return validate()
    except (ValueError, TypeError) as exc:
        # numpy's float conversion of strings or objects ("could not convert
        # string to float", "float() argument must be ..."), scikit-learn's
        # dtype="numeric" ("... not compatible with arrays of bytes/strings")
        message = str(exc)
        if isinstance(exc, ValueError) and "contains infinity" in message:
            raise ValueError(
                f"{message} {type(estimator).__name__} needs finite "
                "features: replace the infinite values (e.g. clip them to "
                "a finite range) or drop those rows.") from exc
        if not ("float" in message and ("convert" in message
                                        or "argument must be" in message)
                or "bytes/strings" in message):
            raise
        refuse_non_numeric(estimator, X, exc)


def _unsafe(norms, dtype):
    """Norms whose sum of squares may have under- or overflowed."""
    info = np.finfo(dtype)
    return ~((norms > np.sqrt(info.tiny) * 1e3) & (norms < np.sqrt(info.max) / 1e3))


def _scaled(rows):
    """Rows divided by their largest absolute value (all-zero rows stay 0)."""
    top = np.abs(rows).max(axis=1)
    return rows / np.where(top > 0, top, 1)[:, None], top


def _segments(X):
    """Row of every stored entry of a CSR matrix, and its non-empty rows."""
    counts = np.diff(X.indptr)
    return np.repeat(np.arange(X.shape[0]), counts), counts > 0


def _sparse_row_reduce(X, ufunc, values):
    """``ufunc`` reduced over the stored ``values`` of each row (0 if empty)."""
    out = np.zeros(X.shape[0], dtype=values.dtype)
    nonempty = np.diff(X.indptr) > 0
    if values.size:
        out[nonempty] = ufunc.reduceat(values, X.indptr[:-1][nonempty])
    return out


def _sparse_row_norms(X):
    """Row norms of a canonical CSR matrix, safe for extreme values."""
    data = X.data[: X.indptr[-1]]
    with np.errstate(over="ignore", under="ignore"):
        norms = np.sqrt(_sparse_row_reduce(X, np.add, data * data))
        unsafe = _unsafe(norms, X.dtype)
        if unsafe.any():
            top = _sparse_row_reduce(X, np.maximum, np.abs(data))
            rows, _ = _segments(X)
            scaled = data / np.where(top > 0, top, 1)[rows]
            rescaled = top * np.sqrt(_sparse_row_reduce(X, np.add, scaled * scaled))
            norms[unsafe] = rescaled[unsafe]
    return norms


def _canonical_csr(X):
    """``X`` itself if it has no duplicate entries, else a summed copy."""
    if X.has_canonical_format:
        return X
    X = X.copy()
    X.sum_duplicates()
    return X


def row_norms_checked(X, *, name="X"):
    """Return the L2 norm of each row, refusing rows that are all zero.

    Rows whose sum of squares under- or overflows (values below about 1e-150
    or above 1e150 in float64; 1e-18 / 1e18 in float32) get their norm from
    the row scaled by its largest absolute value.  ``X`` may be a CSR matrix
    (with no duplicate entries); a row with no stored non-zero value is a
    zero row.
    """
    if sparse.issparse(X):
        norms = _sparse_row_norms(X)
    else:
        with np.errstate(over="ignore", under="ignore"):
            norms = np.sqrt(np.einsum("ij,ij->i", X, X))
            unsafe = np.flatnonzero(_unsafe(norms, X.dtype))
            if unsafe.size:
                scaled, top = _scaled(X[unsafe])
                norms[unsafe] = top * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        shown = ", ".join(str(i) for i in zero[:5])
        more = "" if zero.size <= 5 else f" (and {zero.size - 5} more)"
        hint = (
            " In a sparse matrix these are rows with no non-zero entry (for "
            "TF-IDF vectors: documents with no word of the vocabulary)."
            if sparse.issparse(X)
            else ""
        )
        raise ValueError(
            f"{name} has {zero.size} row(s) whose values are all zero (rows "
            f"{shown}{more}); such rows have no direction and cannot be "
            f"normalised to unit length. Remove them or add a small offset.{hint}"
        )
    return norms


def normalize_rows(X, *, name="X"):
    """Return ``X`` with unit-norm rows, never modifying ``X`` in place.

    ``X`` is returned as it is (no copy) when its rows already have unit norm
    to floating-point precision; otherwise a normalised copy is returned.
    Rows that are all zero raise a ``ValueError`` naming ``name``.  Rows with
    extreme values (whose squares under- or overflow) are normalised exactly.

    A CSR matrix stays a CSR matrix of the same class: only its stored values
    are scaled (duplicate entries are summed first, in a copy), so it is never
    densified.
    """
    if sparse.issparse(X):
        return _normalize_sparse_rows(X, name=name)
    norms = row_norms_checked(X, name=name)
    rtol = _UNIT_NORM_RTOL.get(X.dtype, 1e-10)
    if np.all(np.abs(norms - 1) <= rtol):
        return X
    with np.errstate(over="ignore", under="ignore"):
        out = X / norms[:, None].astype(X.dtype, copy=False)
        bad = np.flatnonzero(~np.isfinite(norms) | _unsafe(norms, X.dtype))
        if bad.size:
            scaled, _ = _scaled(X[bad])
            out[bad] = scaled / np.linalg.norm(scaled, axis=1, keepdims=True)
    return out


def _normalize_sparse_rows(X, *, name):
    X = _canonical_csr(X)
    norms = row_norms_checked(X, name=name)
    rtol = _UNIT_NORM_RTOL.get(X.dtype, 1e-10)
    if np.all(np.abs(norms - 1) <= rtol):
        return X
    nnz = X.indptr[-1]
    data = X.data[:nnz]
    rows, _ = _segments(X)
    with np.errstate(over="ignore", under="ignore"):
        new = data / norms.astype(X.dtype, copy=False)[rows]
        bad = ~np.isfinite(norms) | _unsafe(norms, X.dtype)
        if bad.any():
            # as in the dense case: divide by the row's largest absolute value
            # first, then by the norm of the scaled row
            top = _sparse_row_reduce(X, np.maximum, np.abs(data))
            scaled = data / np.where(top > 0, top, 1).astype(X.dtype)[rows]
            scaled_norm = np.sqrt(_sparse_row_reduce(X, np.add, scaled * scaled))
            fix = bad[rows]
            new[fix] = scaled[fix] / scaled_norm.astype(X.dtype)[rows[fix]]
    # new index arrays too, so that nothing done to the result reaches X
    return type(X)(
        (new, X.indices[:nnz].copy(), X.indptr.copy()), shape=X.shape
    )


def _is_missing(value):
    """None, NaN, ``pd.NA`` or ``pd.NaT`` (an element of an object array)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA: its truth value is ambiguous
        return True


def encode_labels(y, name="y"):
    """``np.unique(y, return_inverse=True, return_counts=True)`` of a 1-d
    label vector, refusing what ``np.unique`` mishandles: missing labels
    (NaN, None, ``pd.NA``; NaNs would be merged into one class) and labels
    of types that do not sort together (numpy's ``TypeError: '<' not
    supported between instances of 'int' and 'str'``).

    Returns ``(classes, y_idx, counts)`` with ``y_idx`` 1-d.
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        missing = np.flatnonzero(np.isnan(y))
    elif y.dtype.kind == "O":
        missing = np.flatnonzero([_is_missing(v) for v in y.ravel()])
    else:
        missing = np.empty(0, dtype=np.intp)
    if missing.size:
        raise ValueError(
            f"{name} has {missing.size} missing label(s) (NaN, None or NA), "
            f"e.g. at position {int(missing[0])}; every sample needs a label."
        )
    try:
        classes, y_idx, counts = np.unique(
            y, return_inverse=True, return_counts=True
        )
    except TypeError as exc:
        types = sorted({type(v).__name__ for v in y.ravel()})
        raise TypeError(
            f"{name} mixes labels of types {types} that cannot be sorted "
            "together; use labels of one type (e.g. all str or all int)."
        ) from exc
    return classes, y_idx.ravel(), counts
