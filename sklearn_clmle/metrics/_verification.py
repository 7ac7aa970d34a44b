"""Pair verification: cosine scores, 10-fold accuracy, TAR at FAR, report."""

from collections import namedtuple
from numbers import Real

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold
from sklearn.utils import check_random_state

from ._validation import (
    check_embeddings,
    check_fars,
    check_int,
    check_scores_and_labels,
)

# Guards floor(far * n_negatives) against 28.999999999999996 for 29.
_FLOOR_TOL = 1e-9

VerificationAccuracy = namedtuple(
    "VerificationAccuracy", ["mean", "std", "thresholds", "fold_accuracies"]
)


def pair_scores(emb_a, emb_b):
    """Cosine similarity of paired rows.

    Parameters
    ----------
    emb_a, emb_b : array-like of shape (n_pairs, n_features)
        Embeddings of the first and second element of each pair.  Rows need
        not have unit norm; rows that are all zero are refused.

    Returns
    -------
    scores : ndarray of shape (n_pairs,)
        ``cos(emb_a[i], emb_b[i])``, in ``[-1, 1]``; higher means more alike.

    Examples
    --------
    >>> from sklearn_clmle.metrics import pair_scores
    >>> pair_scores([[1, 0], [1, 1]], [[2, 0], [-1, 1]]).tolist()
    [1.0, 0.0]
    """
    a = check_embeddings(emb_a, "emb_a")
    b = check_embeddings(emb_b, "emb_b")
    if a.shape != b.shape:
        raise ValueError(
            f"emb_a and emb_b should have the same shape (one row per pair); "
            f"got {a.shape} and {b.shape}."
        )
    return np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)


def _best_threshold(scores, is_same, sample_weight=None):
    """Threshold maximising the accuracy of ``score > threshold`` (weighted by
    ``sample_weight``, one weight per pair, if given).

    Candidates are the midpoints between consecutive distinct scores, plus
    ``-inf`` (accept all) and ``+inf`` (reject all); among equally accurate
    candidates the smallest is returned.
    """
    values, inverse = np.unique(scores, return_inverse=True)
    w = np.ones(len(scores)) if sample_weight is None else sample_weight
    pos = np.bincount(inverse, weights=w * is_same, minlength=values.size)
    neg = np.bincount(inverse, weights=w * ~is_same, minlength=values.size)
    # cut j rejects the j smallest distinct values, j = 0..m
    rejected_neg = np.concatenate([[0.0], np.cumsum(neg)])
    accepted_pos = pos.sum() - np.concatenate([[0.0], np.cumsum(pos)])
    j = int(np.argmax(rejected_neg + accepted_pos))
    if j == 0:
        return -np.inf
    if j == values.size:
        return np.inf
    return (values[j - 1] + values[j]) / 2.0


def verification_accuracy(scores, is_same, *, n_folds=10, random_state=None):
    """Verification accuracy with the LFW 10-fold threshold protocol.

    The pairs are split into ``n_folds`` folds.  For each fold, the
    threshold that maximises accuracy on the other folds is chosen and
    applied to the held-out fold: a pair is declared "same" when its score
    is strictly above the threshold.  The mean and standard deviation of the
    held-out accuracies are returned.

    Parameters
    ----------
    scores : array-like of shape (n_pairs,)
        Similarity of each pair (higher means more alike), for instance from
        :func:`pair_scores`.

    is_same : array-like of shape (n_pairs,)
        True (or 1) for a pair of the same class.

    n_folds : int, default=10
        Number of folds, at least 2 and at most ``n_pairs``.

    random_state : int, RandomState instance or None, default=None
        ``None`` keeps the pairs in the given order and takes consecutive
        blocks as folds, as the LFW protocol does with its pairs file (which
        lists the 10 folds one after the other).  Otherwise the pairs are
        shuffled with this seed before being split.

    Returns
    -------
    result : VerificationAccuracy
        A named tuple ``(mean, std, thresholds, fold_accuracies)``: mean and
        standard deviation (``ddof=0``, as in the LFW evaluation code) of the
        held-out accuracies, the threshold chosen for each fold, and each
        fold's accuracy.

    See Also
    --------
    tar_at_far : True-accept rate at a fixed false-accept rate.
    verification_report : Accuracy, AUC and TAR at FAR together.

    Notes
    -----
    The threshold of a fold is the midpoint between two consecutive distinct
    training scores (or ``-inf``/``+inf`` when accepting or rejecting every
    pair is best); when several thresholds reach the same training accuracy
    the smallest is taken.  The search is exact, over every distinct score,
    rather than over a fixed grid.

    References
    ----------
    Huang, Ramesh, Berg & Learned-Miller, "Labeled Faces in the Wild: A
    Database for Studying Face Recognition in Unconstrained Environments",
    University of Massachusetts, Amherst, Tech. Rep. 07-49, 2007.

    Examples
    --------
    >>> from sklearn_clmle.metrics import verification_accuracy
    >>> scores = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1]
    >>> is_same = [1, 1, 1, 0, 0, 0]
    >>> res = verification_accuracy(scores, is_same, n_folds=3, random_state=0)
    >>> float(res.mean), float(res.std)
    (1.0, 0.0)
    """
    scores, is_same = check_scores_and_labels(scores, is_same)
    n_folds = check_int(n_folds, "n_folds", 2)
    if scores.shape[0] < n_folds:
        raise ValueError(
            f"n_folds={n_folds} should be <= the number of pairs ({scores.shape[0]})."
        )
    if random_state is None:
        kfold = KFold(n_splits=n_folds)
    else:
        kfold = KFold(
            n_splits=n_folds,
            shuffle=True,
            random_state=check_random_state(random_state),
        )
    thresholds = np.empty(n_folds)
    accuracies = np.empty(n_folds)
    for k, (train, test) in enumerate(kfold.split(scores)):
        thr = _best_threshold(scores[train], is_same[train])
        thresholds[k] = thr
        accuracies[k] = np.mean((scores[test] > thr) == is_same[test])
    return VerificationAccuracy(
        accuracies.mean(), accuracies.std(), thresholds, accuracies
    )


def tar_at_far(scores, is_same, far, *, return_thresholds=False):
    """True-accept rate at given false-accept rate(s).

    For a false-accept rate ``far`` and ``N`` negative (different-class)
    pairs, at most ``k = floor(far * N)`` negatives may be accepted.  The
    threshold is the ``(k + 1)``-th largest negative score, and a pair is
    accepted when its score is *strictly above* it.  The true-accept rate is
    the fraction of positive pairs accepted.

    Parameters
    ----------
    scores : array-like of shape (n_pairs,)
        Similarity of each pair.

    is_same : array-like of shape (n_pairs,)
        True (or 1) for a pair of the same class.  At least one positive and
        one negative pair are needed.

    far : float or array-like of floats
        False-accept rate(s), each in ``(0, 1]``.

    return_thresholds : bool, default=False
        If True, also return the threshold used for each ``far``.

    Returns
    -------
    tar : float or ndarray
        True-accept rate(s), of the shape of ``far``.

    thresholds : float or ndarray
        Only with ``return_thresholds=True``; ``-inf`` when ``k = N`` (every
        pair accepted).

    Notes
    -----
    Ties: a negative tied with the threshold is rejected along with it, and
    so is a positive, so the false-accept rate achieved never exceeds
    ``far`` (it is lower when ties or the rounding down of ``far * N`` leave
    no threshold at exactly ``far``).  When ``far * N < 1`` the threshold is
    the highest negative score.  Small ``far`` therefore needs many negative
    pairs to mean anything: ``far=1e-3`` needs at least 1,000.

    Examples
    --------
    >>> from sklearn_clmle.metrics import tar_at_far
    >>> scores = [0.9, 0.8, 0.6, 0.4, 0.7, 0.5, 0.3, 0.2, 0.1, 0.0]
    >>> is_same = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    >>> float(tar_at_far(scores, is_same, 0.2))  # threshold 0.5: 3 of 4 above
    0.75
    >>> tar_at_far(scores, is_same, [0.01, 0.2]).tolist()
    [0.5, 0.75]
    """
    scores, is_same = check_scores_and_labels(scores, is_same)
    far_arr = check_fars(far)
    pos, neg = scores[is_same], scores[~is_same]
    if pos.size == 0 or neg.size == 0:
        raise ValueError(
            f"tar_at_far needs positive and negative pairs; got {pos.size} "
            f"positive and {neg.size} negative."
        )
    neg_desc = np.sort(neg)[::-1]
    k = np.floor(far_arr * neg.size + _FLOOR_TOL).astype(np.int64)
    thresholds = np.where(k >= neg.size, -np.inf, neg_desc[np.minimum(k, neg.size - 1)])
    pos_sorted = np.sort(pos)
    accepted = pos.size - np.searchsorted(pos_sorted, thresholds, side="right")
    tar = accepted / pos.size
    if far_arr.ndim == 0:
        tar, thresholds = float(tar), float(thresholds)
    if return_thresholds:
        return tar, thresholds
    return tar


def verification_report(
    scores, is_same, *, fars=(1e-2, 1e-3), n_folds=10, random_state=None
):
    """Verification accuracy, ROC AUC and TAR at FAR, in one dict.

    Parameters
    ----------
    scores : array-like of shape (n_pairs,)
        Similarity of each pair.

    is_same : array-like of shape (n_pairs,)
        True (or 1) for a pair of the same class.

    fars : sequence of float, default=(1e-2, 1e-3)
        False-accept rates at which the true-accept rate is reported.

    n_folds : int, default=10
        Folds of :func:`verification_accuracy`.

    random_state : int, RandomState instance or None, default=None
        Passed to :func:`verification_accuracy`.

    Returns
    -------
    report : dict
        ``"accuracy"`` and ``"accuracy_std"`` (10-fold protocol),
        ``"auc"`` (:func:`sklearn.metrics.roc_auc_score`), and
        ``"tar@far=<far>"`` for each ``far`` (``"tar@far=0.01"``,
        ``"tar@far=0.001"`` by default), all floats.

    Examples
    --------
    >>> from sklearn_clmle.metrics import verification_report
    >>> scores = [0.9, 0.8, 0.6, 0.4, 0.7, 0.5, 0.3, 0.2, 0.1, 0.0]
    >>> is_same = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    >>> report = verification_report(scores, is_same, n_folds=5)
    >>> sorted(report)
    ['accuracy', 'accuracy_std', 'auc', 'tar@far=0.001', 'tar@far=0.01']
    >>> report["auc"]  # 21 of the 24 (positive, negative) pairs are ordered
    0.875
    """
    scores, is_same = check_scores_and_labels(scores, is_same)
    if isinstance(fars, (str, bytes)) or not np.iterable(fars):
        raise ValueError(f"fars should be a sequence of floats; got {fars!r}.")
    for far in fars:
        if not isinstance(far, Real) or isinstance(far, (bool, np.bool_)):
            raise ValueError(f"fars should be a sequence of floats; got {fars!r}.")
    if len(fars):
        check_fars(list(fars), "fars")
    n_pos = int(is_same.sum())
    if n_pos in (0, is_same.size):
        raise ValueError(
            f"verification_report needs positive and negative pairs (for the "
            f"AUC and TAR at FAR); got {n_pos} positive and "
            f"{is_same.size - n_pos} negative."
        )
    acc = verification_accuracy(
        scores, is_same, n_folds=n_folds, random_state=random_state
    )
    report = {
        "accuracy": float(acc.mean),
        "accuracy_std": float(acc.std),
        "auc": float(roc_auc_score(is_same, scores)),
    }
    for far in fars:
        report[f"tar@far={far:g}"] = tar_at_far(scores, is_same, float(far))
    return report
