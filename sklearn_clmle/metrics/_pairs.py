"""Open-set protocol helpers: seen/unseen class splits and verification pairs."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from ..utils._validation import encode_labels
from ._validation import check_int

# make_pairs draws in rounds and drops repeated pairs; it gives up after this
# many rounds (only when almost every possible pair is asked for).
_MAX_ROUNDS = 100


def split_seen_unseen(y, *, n_unseen=0.25, random_state=None):
    """Split the classes into seen (training) and unseen (test) classes.

    For open-set evaluation (face verification style) the embedding is
    trained on the seen classes and evaluated on pairs or galleries drawn
    from classes it has never seen.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class label of each sample.

    n_unseen : int or float, default=0.25
        An int is the number of unseen classes; a float in ``(0, 1)`` the
        fraction of classes, rounded up.  At least one class stays seen and
        one unseen.

    random_state : int, RandomState instance or None, default=None
        Seeds the choice of the unseen classes.

    Returns
    -------
    seen_mask : ndarray of shape (n_samples,), dtype bool
        Samples of the seen classes.

    unseen_mask : ndarray of shape (n_samples,), dtype bool
        Samples of the unseen classes; ``~seen_mask``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle.metrics import split_seen_unseen
    >>> y = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    >>> seen, unseen = split_seen_unseen(y, n_unseen=1, random_state=0)
    >>> len(np.unique(y[seen])), len(np.unique(y[unseen]))
    (3, 1)
    >>> bool(np.any(seen & unseen))
    False
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array of labels; got shape {y.shape}.")
    classes, y_idx, _ = encode_labels(y, "y")
    n_classes = classes.size
    if n_classes < 2:
        raise ValueError(
            f"y should have at least two classes to split; got {n_classes}."
        )
    if isinstance(n_unseen, Integral) and not isinstance(n_unseen, bool):
        count = int(n_unseen)
    elif isinstance(n_unseen, Real) and 0 < n_unseen < 1:
        count = int(np.ceil(n_unseen * n_classes))
    else:
        raise ValueError(
            f"n_unseen={n_unseen!r} should be an int (number of classes) or a "
            "float in (0, 1) (fraction of classes)."
        )
    if not 1 <= count <= n_classes - 1:
        raise ValueError(
            f"n_unseen={n_unseen!r} gives {count} unseen classes out of "
            f"{n_classes}; expected between 1 and {n_classes - 1}."
        )
    rng = check_random_state(random_state)
    unseen_classes = rng.choice(n_classes, size=count, replace=False)
    unseen_mask = np.isin(y_idx, unseen_classes)
    return ~unseen_mask, unseen_mask


def _draw_unique(draw, n_wanted, n_samples, rng, kind, n_possible):
    """Draw ``n_wanted`` distinct unordered pairs with ``draw(rng, size)``."""
    a_all, b_all = np.empty(0, np.int64), np.empty(0, np.int64)
    keys = np.empty(0, np.int64)
    for _ in range(_MAX_ROUNDS):
        missing = n_wanted - a_all.size
        if missing <= 0:
            break
        a, b = draw(rng, 2 * missing + 16)
        a_all, b_all = np.concatenate([a_all, a]), np.concatenate([b_all, b])
        keys = np.minimum(a_all, b_all) * n_samples + np.maximum(a_all, b_all)
        _, first = np.unique(keys, return_index=True)
        first = np.sort(first)
        a_all, b_all = a_all[first], b_all[first]
    if a_all.size < n_wanted:
        raise ValueError(
            f"could not draw {n_wanted} distinct {kind} pairs (there are "
            f"{n_possible}); ask for fewer pairs."
        )
    return a_all[:n_wanted], b_all[:n_wanted]


def make_pairs(y, *, n_pairs, random_state=None):
    """Draw balanced positive and negative verification pairs.

    ``n_pairs // 2`` positive pairs (two different samples of one class) and
    ``n_pairs - n_pairs // 2`` negative pairs (samples of two different
    classes) are drawn without repetition (a pair and its reverse count as
    one) and returned in random order.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class label of each sample, typically of the unseen classes only
        (see :func:`split_seen_unseen`).

    n_pairs : int
        Total number of pairs, at least 2.

    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    idx_a, idx_b : ndarray of shape (n_pairs,), dtype int64
        Positions in ``y`` of the two samples of each pair.

    is_same : ndarray of shape (n_pairs,), dtype bool
        True for a positive pair.

    Notes
    -----
    Classes are weighted equally, whatever their size, as in LFW's pairs: a
    positive pair picks a class uniformly among those with at least two
    samples, then two of its samples; a negative pair picks two different
    classes uniformly, then one sample of each.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle.metrics import make_pairs
    >>> y = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    >>> a, b, same = make_pairs(y, n_pairs=6, random_state=0)
    >>> int(same.sum()), bool(np.all((y[a] == y[b]) == same))
    (3, True)
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array of labels; got shape {y.shape}.")
    n_pairs = check_int(n_pairs, "n_pairs", 2)
    _, y_idx, counts = encode_labels(y, "y")
    n_samples, n_classes = y.shape[0], counts.size
    n_pos, n_neg = n_pairs // 2, n_pairs - n_pairs // 2
    possible_pos = int(np.sum(counts * (counts - 1) // 2))
    possible_neg = int((n_samples**2 - np.sum(counts.astype(np.int64) ** 2)) // 2)
    if n_pos > possible_pos or n_neg > possible_neg:
        raise ValueError(
            f"n_pairs={n_pairs} asks for {n_pos} positive and {n_neg} negative "
            f"pairs, but y allows only {possible_pos} distinct positive and "
            f"{possible_neg} distinct negative pairs."
        )
    order = np.argsort(y_idx, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    eligible = np.flatnonzero(counts >= 2)

    def draw_pos(rng, size):
        c = eligible[rng.randint(eligible.size, size=size)]
        i = rng.randint(counts[c])
        j = rng.randint(counts[c] - 1)
        j = j + (j >= i)
        return order[starts[c] + i], order[starts[c] + j]

    def draw_neg(rng, size):
        c1 = rng.randint(n_classes, size=size)
        c2 = rng.randint(n_classes - 1, size=size)
        c2 = c2 + (c2 >= c1)
        i = rng.randint(counts[c1])
        j = rng.randint(counts[c2])
        return order[starts[c1] + i], order[starts[c2] + j]

    rng = check_random_state(random_state)
    pa, pb = _draw_unique(draw_pos, n_pos, n_samples, rng, "positive", possible_pos)
    na, nb = _draw_unique(draw_neg, n_neg, n_samples, rng, "negative", possible_neg)
    perm = rng.permutation(n_pairs)
    idx_a = np.concatenate([pa, na]).astype(np.int64)[perm]
    idx_b = np.concatenate([pb, nb]).astype(np.int64)[perm]
    is_same = np.concatenate([np.ones(n_pos, bool), np.zeros(n_neg, bool)])[perm]
    return idx_a, idx_b, is_same
