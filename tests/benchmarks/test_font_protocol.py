"""The all-pairs verification protocol and the paired statistics of the font
benchmark (benchmarks/face/protocol.py), against hand values and naive
references."""

import itertools

import numpy as np
import pytest
from scipy import stats

from benchmarks.face.protocol import (
    all_pairs,
    balanced_accuracy_at,
    fold_accuracy,
    identity_folds,
    paired_difference,
)


def test_all_pairs_every_unordered_pair_once():
    y = np.array([0, 0, 1, 2, 2])
    a, b, same = all_pairs(y)
    assert sorted(zip(a.tolist(), b.tolist())) == list(
        itertools.combinations(range(5), 2))
    assert {(i, j) for i, j, s in zip(a, b, same) if s} == {(0, 1), (3, 4)}
    assert same.sum() == 2 and (~same).sum() == 8


def test_identity_folds_keep_each_identity_in_one_fold():
    y = np.repeat(np.arange(23), np.arange(23) % 4 + 1)
    folds = identity_folds(y, n_folds=10, seed=3)
    for c in np.unique(y):
        assert len(np.unique(folds[y == c])) == 1
    ids_per_fold = np.bincount([folds[y == c][0] for c in np.unique(y)])
    assert len(ids_per_fold) == 10 and ids_per_fold.max() - ids_per_fold.min() <= 1
    # another seed deals the identities differently
    assert not np.array_equal(folds, identity_folds(y, n_folds=10, seed=4))
    with pytest.raises(ValueError, match="n_folds=10"):
        identity_folds(np.arange(9), n_folds=10)


def _naive_fold_accuracy(scores, a, b, same, folds):
    """Brute force: every candidate threshold (midpoints of the other folds'
    within-fold scores, +-inf), the smallest best one, the fold's balanced
    accuracy there."""
    accs = []
    for k in np.unique(folds):
        inside = [p for p in range(len(a)) if folds[a[p]] == folds[b[p]]]
        test = [p for p in inside if folds[a[p]] == k]
        train = [p for p in inside if folds[a[p]] != k]

        def bacc(t, pairs):
            pos = [scores[p] > t for p in pairs if same[p]]
            neg = [scores[p] <= t for p in pairs if not same[p]]
            return 0.5 * (np.mean(pos) + np.mean(neg))

        v = sorted({scores[p] for p in train})
        cands = [-np.inf, np.inf] + [(lo + hi) / 2 for lo, hi in zip(v, v[1:])]
        best = max(cands, key=lambda t: (bacc(t, train), -t))
        accs.append(bacc(best, test))
    return np.mean(accs)


def test_fold_accuracy_matches_a_naive_reference():
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(12), rng.randint(1, 5, size=12))
    a, b, same = all_pairs(y)
    scores = np.round(rng.uniform(size=len(a)) + 0.6 * same, 2)  # ties too
    folds = identity_folds(y, n_folds=4, seed=1)
    mean, per_fold = fold_accuracy(scores, a, b, same, folds)
    assert len(per_fold) == 4
    assert mean == pytest.approx(_naive_fold_accuracy(scores, a, b, same, folds))


def test_fold_accuracy_ignores_pairs_across_folds():
    y = np.repeat(np.arange(10), 3)
    a, b, same = all_pairs(y)
    folds = identity_folds(y, n_folds=5, seed=0)
    scores = same.astype(float)  # perfect inside folds
    across = folds[a] != folds[b]
    scores[across] = 2.0  # cross-fold negatives scored above every positive
    mean, per_fold = fold_accuracy(scores, a, b, same, folds)
    assert mean == 1.0 and np.all(per_fold == 1.0)


def test_balanced_accuracy_at_hand_values():
    scores = np.array([0.9, 0.2, 0.8, 0.1, 0.3])
    same = np.array([True, True, False, False, False])
    # accepts 0.9 and 0.8: TAR 1/2, TRR 2/3
    assert balanced_accuracy_at(scores, same, 0.5) == pytest.approx(
        0.5 * (0.5 + 2 / 3))


def test_paired_difference_hand_values():
    # d = 1, 2, 3: mean 2, sd 1, t = 2 / (1 / sqrt 3) = sqrt 12 on 2 degrees
    # of freedom, where the t CDF is 1/2 + t / (2 sqrt(2 + t^2)):
    # p = 1 - sqrt 12 / sqrt 14; the 97.5% quantile solves
    # t^2 / (4 (2 + t^2)) = 0.475^2, t^2 = 4 * 0.225625 * 2 / (1 - 0.9025)
    d = paired_difference([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    t975 = np.sqrt(4 * 0.225625 * 2 / (1 - 0.9025))
    assert d["mean"] == 2.0 and d["n"] == 3
    assert d["p"] == pytest.approx(1 - np.sqrt(12 / 14))
    assert d["low"] == pytest.approx(2 - t975 / np.sqrt(3))
    assert d["high"] == pytest.approx(2 + t975 / np.sqrt(3))


def test_paired_difference_against_scipy():
    rng = np.random.RandomState(1)
    a, b = rng.normal(size=7), rng.normal(size=7) + 0.3
    d = paired_difference(a, b, confidence=0.9)
    assert d["p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    low, high = stats.t.interval(0.9, 6, loc=np.mean(a - b), scale=stats.sem(a - b))
    assert (d["low"], d["high"]) == pytest.approx((low, high))


def test_paired_difference_degenerate_and_bad_input():
    one = paired_difference([1.0], [0.5])
    assert (one["mean"], one["low"], one["high"], one["n"]) == (0.5, 0.5, 0.5, 1)
    assert np.isnan(one["p"])
    flat = paired_difference([1.0, 2.0], [0.0, 1.0])
    assert flat["low"] == flat["high"] == 1.0 and np.isnan(flat["p"])
    with pytest.raises(ValueError, match="1-D of one length"):
        paired_difference([1.0, 2.0], [1.0])


def test_fold_accuracy_skips_folds_without_both_kinds_of_pairs():
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4])
    a, b, same = all_pairs(y)
    folds = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2])  # fold 2: one image, no pair
    scores = np.where(same, 0.9, 0.1)
    mean, per_fold = fold_accuracy(scores, a, b, same, folds)
    assert mean == 1.0 and len(per_fold) == 2
    with pytest.raises(ValueError, match="No fold"):
        fold_accuracy(scores, a, b, same, y)  # one identity per fold
