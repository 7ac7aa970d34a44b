"""Verification protocol of the font benchmark on every pair of test images,
and the paired statistics of its tables (numpy and scipy only).

- ``all_pairs``: every unordered pair of images, with its label (same
  identity or not);
- ``identity_folds``: identities dealt into folds, so that no identity is in
  two folds (LFW View 2's ten folds of disjoint people);
- ``fold_accuracy``: the 10-fold verification accuracy on those folds: in
  each fold, the pairs whose two images belong to that fold's identities;
  the threshold is the one that maximises the balanced accuracy of the other
  folds' pairs, and the fold's balanced accuracy (the mean of the
  true-accept and true-reject rates: the accuracy on balanced pairs, without
  drawing them) is scored at it;
- ``paired_difference``: mean, confidence interval and paired t-test p-value
  of per-seed differences between two methods.
"""

import numpy as np
from scipy import stats

from sklearn_clmle.metrics._verification import _best_threshold


def all_pairs(y):
    """Indices ``(a, b)``, ``a < b``, of every unordered pair of the
    ``len(y)`` samples, and ``same = y[a] == y[b]``."""
    y = np.asarray(y)
    a, b = np.triu_indices(len(y), k=1)
    return a, b, y[a] == y[b]


def identity_folds(y, n_folds=10, seed=0):
    """Fold of every sample: the identities of ``y`` are shuffled (by
    ``seed``) and dealt into ``n_folds`` folds in turn, so each identity lies
    in one fold and fold sizes differ by at most one identity."""
    ids, inverse = np.unique(y, return_inverse=True)
    if len(ids) < n_folds:
        raise ValueError(f"n_folds={n_folds} folds need as many identities; "
                         f"y has {len(ids)}.")
    fold_of_id = np.empty(len(ids), dtype=int)
    fold_of_id[np.random.RandomState(seed).permutation(len(ids))] = (
        np.arange(len(ids)) % n_folds)
    return fold_of_id[inverse]


def _balanced_threshold(scores, same):
    """Threshold of ``score > t`` maximising the balanced accuracy (midpoints
    between distinct scores, or +-inf; the smallest among ties)."""
    weight = np.where(same, 1.0 / same.sum(), 1.0 / (~same).sum())
    return _best_threshold(scores, same, sample_weight=weight)


def balanced_accuracy_at(scores, same, threshold):
    """Mean of the true-accept and true-reject rates of ``score > threshold``."""
    accept = scores > threshold
    return 0.5 * (accept[same].mean() + (~accept[~same]).mean())


def fold_accuracy(scores, a, b, same, folds):
    """Mean and per-fold balanced accuracy over identity-disjoint folds.

    ``scores``, ``a``, ``b``, ``same`` describe pairs of samples (as from
    ``all_pairs``), ``folds`` the fold of every sample (``identity_folds``).
    Only pairs inside one fold are used; each fold is scored at the threshold
    chosen on the pairs of all the other folds.  Folds without positive or
    without negative pairs (too few identities or images) are skipped.
    """
    inside = folds[a] == folds[b]
    scores, same, fold = scores[inside], same[inside], folds[a[inside]]
    accs = []
    for k in np.unique(folds):
        test, train = fold == k, fold != k
        if same[test].all() or not same[test].any():
            continue  # a fold without positive or without negative pairs
        t = _balanced_threshold(scores[train], same[train])
        accs.append(balanced_accuracy_at(scores[test], same[test], t))
    if not accs:
        raise ValueError("No fold has both positive and negative pairs.")
    return float(np.mean(accs)), np.asarray(accs)


def paired_difference(a, b, confidence=0.95):
    """``a - b`` per seed: mean, two-sided t confidence interval and the
    paired t-test p-value (``scipy.stats.ttest_rel``).

    Returns a dict with ``mean``, ``low``, ``high``, ``p`` and ``n``; with
    fewer than two pairs, or all differences equal, the interval is the mean
    itself (a zero spread) and ``p`` is ``nan`` where scipy gives it.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b should be 1-D of one length; got {a.shape} "
                         f"and {b.shape}.")
    d = a - b
    n = len(d)
    mean = float(d.mean())
    if n < 2:
        return dict(mean=mean, low=mean, high=mean, p=float("nan"), n=n)
    sem = d.std(ddof=1) / np.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sem)
    p = float(stats.ttest_rel(a, b).pvalue) if sem > 0 else float("nan")
    return dict(mean=mean, low=mean - half, high=mean + half, p=p, n=n)
