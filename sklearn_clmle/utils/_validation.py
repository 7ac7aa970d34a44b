"""Input helpers shared by the estimators.

scikit-learn's declarative parameter validation lives in private modules; it is
imported here, in one place, so that a future move in scikit-learn breaks one
import rather than every estimator.
"""

import numpy as np
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.utils._param_validation import (  # noqa: F401  (re-exported)
    Interval,
    StrOptions,
)

# Rows whose squared norm is within this of 1 are treated as already unit norm
# and used as they are (no copy).
_UNIT_NORM_RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def row_norms_checked(X, *, name="X"):
    """Return the L2 norm of each row, refusing rows that are all zero."""
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        shown = ", ".join(str(i) for i in zero[:5])
        more = "" if zero.size <= 5 else f" (and {zero.size - 5} more)"
        raise ValueError(
            f"{name} has {zero.size} row(s) whose values are all zero (rows "
            f"{shown}{more}); such rows have no direction and cannot be "
            "normalised to unit length. Remove them or add a small offset."
        )
    return norms


def normalize_rows(X, *, name="X"):
    """Return ``X`` with unit-norm rows, never modifying ``X`` in place.

    ``X`` is returned as it is (no copy) when its rows already have unit norm
    to floating-point precision; otherwise a normalised copy is returned.
    Rows that are all zero raise a ``ValueError`` naming ``name``.
    """
    norms = row_norms_checked(X, name=name)
    rtol = _UNIT_NORM_RTOL.get(X.dtype, 1e-10)
    if np.all(np.abs(norms - 1) <= rtol):
        return X
    return X / norms[:, None].astype(X.dtype, copy=False)
