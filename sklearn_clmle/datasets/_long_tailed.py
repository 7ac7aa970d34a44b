"""Long-tailed subsets of balanced data sets (exponential or power-law profile)."""

from numbers import Real

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target

from ..utils._docs import fill_doc
from ..utils._validation import encode_labels
from ._checks import check_class_labels, check_int, check_same_length

# Quotas are rounded down; this guards against 499.9999999 for 500.
_FLOOR_TOL = 1e-9
# Largest quota computed exactly (float64 integers).
_MAX_QUOTA = 2**53


def long_tailed_sizes(
    n_classes, *, imbalance_ratio=10, profile="exponential", n_max, gamma=1.0
):
    """Number of samples to keep in each class of a long-tailed subset.

    Parameters
    ----------
    n_classes : int
        Number of classes ``C``; class ``0`` is the head (largest), class
        ``C - 1`` the tail (smallest).

    imbalance_ratio : float, default=10
        Ratio ``rho >= 1`` between the largest and the smallest quota.

    profile : {"exponential", "power_law"}, default="exponential"
        Shape of the decay, see :func:`make_long_tailed`.

    n_max : int
        Quota of the head class.

    gamma : float, default=1.0
        Exponent of the power law; ignored by ``profile="exponential"``.

    Returns
    -------
    sizes : ndarray of shape (n_classes,), dtype int64
        Quotas, rounded down, at least 1, non-increasing.

    Examples
    --------
    >>> from sklearn_clmle.datasets import long_tailed_sizes
    >>> long_tailed_sizes(3, imbalance_ratio=100, n_max=1000).tolist()
    [1000, 100, 10]
    >>> long_tailed_sizes(4, imbalance_ratio=4, profile="power_law",
    ...                   n_max=400, gamma=1.0).tolist()
    [400, 200, 133, 100]
    >>> long_tailed_sizes(4, imbalance_ratio=4, profile="power_law",
    ...                   n_max=400, gamma=0.5).tolist()
    [400, 178, 125, 100]
    """
    n_classes = check_int(n_classes, "n_classes", 1)
    n_max = check_int(n_max, "n_max", 1)
    if n_max > _MAX_QUOTA:
        # quotas are computed in float64: beyond 2**53 they are not exact,
        # beyond 2**63 they overflowed int64 (silently floored to 1)
        raise ValueError(f"n_max={n_max} should be at most 2**53 = {_MAX_QUOTA}.")
    rho = _check_real(imbalance_ratio, "imbalance_ratio", 1.0, ">= 1")
    if profile not in ("exponential", "power_law"):
        raise ValueError(
            f"profile={profile!r} is not supported; expected 'exponential' or "
            "'power_law'."
        )
    gamma = _check_real(gamma, "gamma", 0.0, "> 0", strict=True)
    if n_classes == 1 or rho == 1.0:
        sizes = np.full(n_classes, float(n_max))
    elif profile == "exponential":
        c = np.arange(n_classes)
        sizes = n_max * rho ** (-c / (n_classes - 1))
    else:
        # f(c) = a / (c**gamma + b), c = 1..C, with a and b solved so that
        # f(1) = L_max and f(C) = L_min (see make_long_tailed, Notes).  As
        # 1 / f is affine in c**gamma, f(c) = L_max / (1 + (rho - 1) w(c))
        # with w(c) = (c**g - 1) / (C**g - 1) in [0, 1], computed without
        # overflow (c**g is inf for a large gamma: a, b and the sizes were
        # NaN, silently floored to 1) or cancellation (a gamma near 0).
        log_c = np.log(np.arange(1, n_classes + 1, dtype=float))
        w = (np.exp(gamma * (log_c - log_c[-1])) * np.expm1(-gamma * log_c)
             / np.expm1(-gamma * log_c[-1]))
        sizes = n_max / (1.0 + (rho - 1.0) * w)
    sizes = np.floor(sizes + _FLOOR_TOL).astype(np.int64)
    return np.maximum(sizes, 1)


@fill_doc
def make_long_tailed(
    X,
    y,
    *,
    imbalance_ratio=10,
    profile="exponential",
    n_max=None,
    gamma=1.0,
    return_indices=False,
    random_state=None,
):
    """Subsample the classes of a data set to a long-tailed distribution.

    The classes are taken in sorted label order: the first label is the head
    and keeps ``n_max`` samples, the last is the tail and keeps
    ``n_max / imbalance_ratio`` (rounded down).  Within each class the kept
    samples are drawn uniformly without replacement; the kept samples are
    returned in their original order.

    Only pass the *training* split through this function: the test split of
    a long-tailed benchmark stays balanced, so that balanced accuracy and
    per-class recall are measured on equal footing for every class.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...) or pandas DataFrame
        Samples; any number of trailing dimensions (for instance images of
        shape ``(n_samples, 28, 28)``).  A DataFrame stays a DataFrame (its
        index is kept), a sparse matrix becomes CSR; ``X`` is never modified.

    y : array-like of shape (n_samples,)
        Class labels (any sortable labels, at least two classes).

    imbalance_ratio : float, default=10
        Ratio ``rho >= 1`` between the head's and the tail's quota.  ``1``
        gives a balanced subset of ``n_max`` samples per class.

    profile : {"exponential", "power_law"}, default="exponential"
        - ``"exponential"``: class ``c = 0, ..., C-1`` keeps
          ``n_max * rho ** (-c / (C - 1))`` samples.
        - ``"power_law"``: the profile of Huang et al., Section 5.5 (after
          Dong et al.'s CRL), ``f(c) = a / (c ** gamma + b)`` for
          ``c = 1, ..., C``, with ``a`` and ``b`` set so that the largest
          class keeps ``L_max = n_max`` and the smallest
          ``L_min = n_max / rho`` samples.  See Notes.

    n_max : int, default=None
        Quota of the head class.  ``None`` means the size of the smallest
        class of ``y``, so that every class can supply its quota whatever its
        position; pass a larger value when all classes are large enough.

    gamma : float, default=1.0
        Exponent ``gamma > 0`` of the power law (``profile="power_law"``
        only).  With ``L_max`` and ``L_min`` fixed, a smaller ``gamma`` makes
        the quotas fall faster after the head, hence a more imbalanced subset
        (the paper uses ``gamma`` in ``{1, 0.5}``).  With
        ``rho = C ** gamma`` the profile is the pure power law
        ``n_max * c ** -gamma``.

    return_indices : bool, default=False
        If True, also return the (sorted) positions of the kept samples in
        ``X``.

    random_state : int, RandomState instance or None, default=None
        Seeds the choice of the kept samples.  Pass an int for reproducible
        output.

    Returns
    -------
    X_lt : ndarray or DataFrame
        The kept samples, same type and trailing shape as ``X``.

    y_lt : ndarray or Series of shape (n_kept,)
        Their labels (a pandas Series stays a Series).

    indices : ndarray of shape (n_kept,), dtype int64
        Positions of the kept samples in ``X``; only when
        ``return_indices=True``.

    Raises
    ------
    ValueError
        If ``imbalance_ratio < 1``, ``y`` has fewer than two classes or a
        length different from ``X``, or a class has fewer samples than its
        quota.

    See Also
    --------
    long_tailed_sizes : The quotas alone.
    imblearn.datasets.make_imbalance : Subsampling to arbitrary class counts.

    Notes
    -----
    Quotas are rounded down (``floor``), and are at least 1.  With
    Fashion-MNIST's 10 classes, ``n_max=5000`` and ``imbalance_ratio=10``
    (resp. 100) this keeps 20,431 (resp. 12,406) images.

    The power law is written in the paper as
    ``f(c) = L_max / (c ** gamma + L_min)`` with ``L_max`` and ``L_min``
    "the largest and smallest sizes of classes".  Read literally, that
    formula does not take the values ``L_max`` and ``L_min`` at its ends
    (``f(1) = L_max / (1 + L_min)``), so the largest and smallest sizes are
    honoured instead: the numerator and the offset are the two constants
    ``a, b`` solved from ``f(1) = L_max`` and ``f(C) = L_min``, i.e.
    ``b = (L_min * C ** gamma - L_max) / (L_max - L_min)`` and
    ``a = L_max * (1 + b)``.

    {{references_clmle}}
    Section 5.5: the long-tailed subsets.

    Cui, Jia, Lin, Song & Belongie, "Class-Balanced Loss Based on Effective
    Number of Samples", CVPR 2019 (the exponential profile).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle.datasets import make_long_tailed
    >>> X = np.arange(300).reshape(150, 2)
    >>> y = np.repeat([0, 1, 2], 50)
    >>> X_lt, y_lt = make_long_tailed(X, y, imbalance_ratio=25, random_state=0)
    >>> np.bincount(y_lt).tolist()
    [50, 10, 2]
    >>> X_lt.shape
    (62, 2)
    """
    rho = _check_real(imbalance_ratio, "imbalance_ratio", 1.0, ">= 1")
    y_arr = check_class_labels(y, "y")
    n_samples = _n_samples(X)
    check_same_length(n_samples, y_arr.shape[0], "X", "y")
    # missing labels (NaN, None, pd.NA) and unsortable mixtures of types,
    # before type_of_target's "Input contains NaN" / numpy's TypeError
    classes, y_idx, counts = encode_labels(y_arr, "y")
    if type_of_target(y_arr) not in ("binary", "multiclass"):
        raise ValueError(
            f"y should hold class labels; got target type {type_of_target(y_arr)!r}."
        )
    if classes.size < 2:
        raise ValueError(
            f"y should have at least two classes to be made long-tailed; got "
            f"{classes.size}."
        )
    if n_max is None:
        n_max = int(counts.min())
    sizes = long_tailed_sizes(
        classes.size,
        imbalance_ratio=rho,
        profile=profile,
        n_max=n_max,
        gamma=gamma,
    )
    short = np.flatnonzero(counts < sizes)
    if short.size:
        c = short[0]
        label = classes[c : c + 1].tolist()[0]  # a plain Python scalar
        raise ValueError(
            f"class {label!r} (position {c} in sorted label order) has "
            f"{counts[c]} samples, fewer than its quota of {sizes[c]} for "
            f"n_max={n_max}, imbalance_ratio={imbalance_ratio}, "
            f"profile={profile!r}; lower n_max (default: the smallest class "
            "size)."
        )
    rng = check_random_state(random_state)
    kept = []
    for c, size in enumerate(sizes):
        members = np.flatnonzero(y_idx == c)
        kept.append(rng.choice(members, size=size, replace=False))
    indices = np.sort(np.concatenate(kept)).astype(np.int64)
    if hasattr(X, "iloc"):
        X_lt = X.iloc[indices]
    elif sparse.issparse(X):
        X_lt = X.tocsr()[indices]
    else:
        X_lt = np.asarray(X)[indices]
    y_lt = y.iloc[indices] if hasattr(y, "iloc") else y_arr[indices]
    if return_indices:
        return X_lt, y_lt, indices
    return X_lt, y_lt


def _n_samples(X):
    if hasattr(X, "iloc") or sparse.issparse(X):
        return X.shape[0]
    try:
        X = np.asarray(X)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"X should be an array of samples of one shape ({exc}).") from exc
    if X.ndim < 1:
        raise ValueError("X should have at least one dimension (the samples).")
    return X.shape[0]



def _check_real(value, name, low, expected, strict=False):
    ok = isinstance(value, Real) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        raise ValueError(f"{name}={value!r} should be a finite number {expected}.")
    return float(value)
