"""Imbalanced multi-label mosaics of real images (a stand-in for CelebA)."""

from math import isqrt
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from ..utils._validation import encode_labels
from ._checks import check_class_labels, check_int, check_same_length

# Rates of the default attributes, spaced geometrically (CelebA's attributes
# have positive rates from about 2 % to about 50 %).
_DEFAULT_RATE_RANGE = (0.5, 0.02)
# Slack on ``sum(q) <= 1`` so that rates chosen to fill the unit mass exactly
# are not refused for a rounding error.
_SUM_TOL = 1e-12


def make_mosaics(
    images,
    labels,
    *,
    n_samples=1000,
    grid=(2, 2),
    positive_rates=None,
    n_attributes=None,
    random_state=None,
    return_tiles=False,
):
    """Make an imbalanced multi-label data set of mosaics of real images.

    Each sample is a ``grid[0] x grid[1]`` mosaic of ``T = grid[0] * grid[1]``
    tiles drawn from ``images``, and its attribute ``j`` is 1 when the mosaic
    contains at least one tile of class ``j`` (classes in sorted label order).
    The tiles' classes are drawn independently with skewed probabilities, so
    that the attributes' positive rates are imbalanced like CelebA's (from
    about 2 % to 50 %), while the pixels are real images.

    Parameters
    ----------
    images : array-like of shape (n_images, h, w) or (n_images, h * w)
        Source tiles.  Flat tiles must be square (``h * w`` a perfect square,
        for instance 64 for sklearn's digits or 784 for Fashion-MNIST).
        Never modified.

    labels : array-like of shape (n_images,)
        Class of each image (any sortable labels).

    n_samples : int, default=1000
        Number of mosaics.

    grid : tuple of two int, default=(2, 2)
        Number of tile rows and tile columns of a mosaic.

    positive_rates : array-like of shape (n_attributes,), default=None
        Target positive rate ``p_j`` in ``(0, 1)`` of each attribute.  Each
        tile is of class ``j`` with probability
        ``q_j = 1 - (1 - p_j) ** (1 / T)``, so that
        ``P(at least one of the T tiles has class j) = p_j``.  ``None`` means
        rates spaced geometrically from 0.5 (first class) down to 0.02 (class
        ``n_attributes - 1``); a single attribute gets 0.5.

    n_attributes : int, default=None
        Number of attributes ``k``: the first ``k`` classes in sorted label
        order, ``1 <= k <= n_classes``.  ``None`` means
        ``len(positive_rates)`` if ``positive_rates`` is given, else all the
        classes.

    random_state : int, RandomState instance or None, default=None
        Seeds the tiles' classes and images.  Pass an int for reproducible
        output.

    return_tiles : bool, default=False
        If True, also return the positions in ``images`` of the tiles of each
        mosaic.

    Returns
    -------
    X : ndarray of shape (n_samples, grid[0] * h * grid[1] * w)
        The flattened mosaics, of the same dtype as ``images``.  See Notes for
        the layout.

    Y : ndarray of shape (n_samples, n_attributes), dtype int64
        Indicator matrix: ``Y[i, j] = 1`` if mosaic ``i`` contains a tile of
        class ``j``.

    tiles : ndarray of shape (n_samples, T), dtype int64
        ``tiles[i, t]`` is the position in ``images`` of tile ``t`` of mosaic
        ``i``, or ``-1`` for a blank tile; only when ``return_tiles=True``.

    Raises
    ------
    ValueError
        If the shapes of ``images`` and ``labels`` disagree, flat tiles are
        not square, ``grid`` is not two positive integers, a rate is outside
        ``(0, 1)``, ``n_attributes`` is outside ``[1, n_classes]`` or differs
        from ``len(positive_rates)``, or the per-tile probabilities ``q_j``
        add up to more than 1.

    See Also
    --------
    make_long_tailed : Long-tailed multi-class subsets.
    sklearn.datasets.make_multilabel_classification : Synthetic multi-label
        data without pixels.

    Notes
    -----
    **Layout.**  Tile ``t = 0, ..., T - 1`` sits in tile row
    ``t // grid[1]`` and tile column ``t % grid[1]`` (row-major order), i.e.
    at pixel rows ``(t // grid[1]) * h`` to ``(t // grid[1] + 1) * h`` and
    pixel columns ``(t % grid[1]) * w`` to ``(t % grid[1] + 1) * w`` of the
    ``(grid[0] * h, grid[1] * w)`` mosaic, which is flattened in C order:
    ``X[i].reshape(grid[0] * h, grid[1] * w)`` gives the mosaic back.

    **Tile classes.**  The tiles are independent.  A tile is of attribute
    class ``j < k`` with probability ``q_j``; the remaining mass
    ``1 - sum(q_j)`` goes to a *background*:

    - if there are classes beyond the first ``n_attributes``, the background
      is a tile of one of them, chosen uniformly among these classes;
    - otherwise the background is a blank tile (all zeros, index ``-1`` in
      ``tiles``), which contributes no attribute.  Zero is the background
      pixel value of digits and Fashion-MNIST; with other images, keep some
      classes out of the attributes (``n_attributes < n_classes``) to avoid
      blank tiles.

    Within its class, the image of a tile is drawn uniformly with
    replacement.  The positive rate of attribute ``j`` is then exactly
    ``1 - (1 - q_j) ** T = p_j`` in expectation.  Since
    ``q_j`` decreases with ``T``, rates whose ``q_j`` add up to more than 1
    are refused; a larger grid, fewer attributes or lower rates make room.
    The default rates need ``sum(q_j)`` of about 0.47 for 10 attributes on a
    2 x 2 grid.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_clmle.datasets import make_mosaics
    >>> digits = load_digits()
    >>> X, Y, tiles = make_mosaics(digits.images, digits.target, n_samples=500,
    ...                            return_tiles=True, random_state=0)
    >>> X.shape, Y.shape, tiles.shape
    ((500, 256), (500, 10), (500, 4))
    >>> mosaic = X[0].reshape(16, 16)
    >>> t = tiles[0, 1]  # tile row 0, tile column 1
    >>> bool(t == -1 or np.array_equal(mosaic[:8, 8:], digits.images[t]))
    True
    >>> make_mosaics(digits.images, digits.target, n_samples=3,
    ...              positive_rates=[0.5, 0.2], random_state=0)[1].shape
    (3, 2)
    """
    images_arr = np.asarray(images)
    if images_arr.ndim not in (2, 3):
        raise ValueError(
            f"images should have shape (n_images, h, w) or (n_images, h * w); "
            f"got an array of shape {images_arr.shape}."
        )
    labels_arr = check_class_labels(labels, "labels")
    check_same_length(images_arr.shape[0], labels_arr.shape[0], "images", "labels")
    if images_arr.dtype.kind not in "biuf":
        raise ValueError(
            f"images should hold numbers (pixel values); got dtype "
            f"{images_arr.dtype}."
        )
    if images_arr.shape[0] == 0:
        raise ValueError("images should hold at least one image; got 0.")
    if images_arr.ndim == 2:
        side = isqrt(images_arr.shape[1])
        if side * side != images_arr.shape[1] or side == 0:
            raise ValueError(
                f"flat images should have a square number of pixels h * w "
                f"with h = w; got {images_arr.shape[1]} pixels per image. "
                "Pass them with shape (n_images, h, w) instead."
            )
        h = w = side
    else:
        h, w = images_arr.shape[1:]
        if h == 0 or w == 0:
            raise ValueError(
                f"images should not be empty; got shape {images_arr.shape}."
            )
    n_samples = check_int(n_samples, "n_samples", 1)
    grid = _check_grid(grid)
    n_tiles = grid[0] * grid[1]

    classes, y_idx, _ = encode_labels(labels_arr, "labels")
    n_classes = classes.size
    if positive_rates is not None:
        rates = _check_rates(positive_rates)
        if n_attributes is None:
            n_attributes = rates.size
    if n_attributes is None:
        n_attributes = n_classes
    if (
        isinstance(n_attributes, bool)
        or not isinstance(n_attributes, Integral)
        or not 1 <= n_attributes <= n_classes
    ):
        raise ValueError(
            f"n_attributes={n_attributes!r} should be an integer in "
            f"[1, n_classes={n_classes}]."
        )
    n_attributes = int(n_attributes)
    if positive_rates is None:
        rates = _default_rates(n_attributes)
    elif rates.size != n_attributes:
        raise ValueError(
            f"positive_rates should have one rate per attribute; got "
            f"{rates.size} rates for n_attributes={n_attributes}."
        )

    # P(no tile of class j among T) = (1 - q_j) ** T = 1 - p_j
    q = -np.expm1(np.log1p(-rates) / n_tiles)
    total = q.sum()
    if total > 1.0 + _SUM_TOL:
        raise ValueError(
            f"positive_rates={rates.tolist()} cannot be reached with "
            f"T={n_tiles} tiles per mosaic (grid={grid}): the per-tile class "
            f"probabilities q_j = 1 - (1 - p_j) ** (1 / T) add up to "
            f"{total:.4g} > 1. Lower the rates, use fewer attributes or a "
            "larger grid."
        )
    background = max(0.0, 1.0 - total)
    n_spare = n_classes - n_attributes
    if n_spare:
        probs = np.concatenate([q, np.full(n_spare, background / n_spare)])
    else:
        probs = np.append(q, background)  # last category: a blank tile
    probs = probs / probs.sum()

    rng = check_random_state(random_state)
    category = rng.choice(probs.size, size=(n_samples, n_tiles), p=probs)
    tiles = np.full((n_samples, n_tiles), -1, dtype=np.int64)
    for c in range(n_classes):
        where = category == c
        n_draws = int(where.sum())
        if n_draws:
            members = np.flatnonzero(y_idx == c)
            tiles[where] = members[rng.randint(members.size, size=n_draws)]

    Y = np.zeros((n_samples, n_attributes), dtype=np.int64)
    for j in range(n_attributes):
        Y[:, j] = (category == j).any(axis=1)

    blank = tiles < 0
    pix = images_arr.reshape(-1, h, w)[np.where(blank, 0, tiles)]
    pix[blank] = 0
    # (n, T, h, w) -> (n, rows, cols, h, w) -> (n, rows, h, cols, w)
    X = (
        pix.reshape(n_samples, grid[0], grid[1], h, w)
        .transpose(0, 1, 3, 2, 4)
        .reshape(n_samples, grid[0] * h * grid[1] * w)
    )
    if return_tiles:
        return X, Y, tiles
    return X, Y


def _default_rates(n_attributes):
    high, low = _DEFAULT_RATE_RANGE
    if n_attributes == 1:
        return np.array([high])
    return high * (low / high) ** (np.arange(n_attributes) / (n_attributes - 1))


def _check_rates(positive_rates):
    if np.asarray(positive_rates).dtype.kind not in "biuf":
        raise ValueError(
            f"positive_rates={positive_rates!r} should be a 1d array of "
            "numbers in (0, 1)."
        )
    try:
        rates = np.asarray(positive_rates, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"positive_rates={positive_rates!r} should be a 1d array of "
            "numbers in (0, 1)."
        ) from None
    if rates.ndim != 1 or rates.size == 0:
        raise ValueError(
            f"positive_rates should be a non-empty 1d array of numbers in "
            f"(0, 1); got an array of shape {rates.shape}."
        )
    bad = np.flatnonzero(~(np.isfinite(rates) & (rates > 0) & (rates < 1)))
    if bad.size:
        j = bad[0]
        raise ValueError(
            f"positive_rates[{j}]={float(rates[j])!r} should be a number in (0, 1) "
            "(exclusive)."
        )
    return rates


def _check_grid(grid):
    ok = isinstance(grid, (tuple, list)) and len(grid) == 2
    ok = ok and all(
        isinstance(g, Integral) and not isinstance(g, bool) and g >= 1 for g in grid
    )
    if not ok:
        raise ValueError(
            f"grid={grid!r} should be a pair (n_rows, n_cols) of integers >= 1."
        )
    return (int(grid[0]), int(grid[1]))
