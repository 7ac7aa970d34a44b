import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import roc_auc_score

from sklearn_clmle.metrics import (
    pair_scores,
    tar_at_far,
    verification_accuracy,
    verification_report,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pair_scores_hand_worked(dtype):
    a = np.array([[1, 0], [1, 1], [3, 4], [1, 0]], dtype=dtype)
    b = np.array([[5, 0], [-1, 1], [4, 3], [-2, 0]], dtype=dtype)
    assert_allclose(pair_scores(a, b), [1.0, 0.0, 24 / 25, -1.0], rtol=1e-6)


def test_pair_scores_errors():
    with pytest.raises(ValueError, match="same shape"):
        pair_scores(np.ones((3, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="emb_b has 1 row.*all zero"):
        pair_scores(np.ones((2, 2)), [[1, 0], [0, 0]])


def test_obvious_threshold_and_accuracy():
    # positives 0.6..0.95, negatives 0.05..0.4, interleaved: perfectly
    # separable, so every fold is right and every threshold lies in the gap
    pos = np.linspace(0.6, 0.95, 10)
    neg = np.linspace(0.05, 0.4, 10)
    scores = np.ravel(np.c_[pos, neg])
    is_same = np.tile([True, False], 10)
    res = verification_accuracy(scores, is_same)
    assert res.mean == 1.0 and res.std == 0.0
    assert_array_equal(res.fold_accuracies, np.ones(10))
    assert np.all((res.thresholds > 0.35) & (res.thresholds < 0.65))
    # one positive moved below every negative: that fold is wrong on it
    scores[0] = 0.0
    res = verification_accuracy(scores, is_same)
    assert_allclose(res.fold_accuracies, [0.5] + [1.0] * 9)
    assert res.mean == pytest.approx(0.95)


def test_separable_scores_give_midpoint_threshold():
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.3])
    is_same = np.array([1, 0, 1, 0, 1, 0])
    res = verification_accuracy(scores, is_same, n_folds=3)
    # every training fold keeps 0.3 < 0.7 as the gap, or a wider one
    assert res.mean == 1.0 and res.std == 0.0
    # fold 0 holds pairs 0-1, trained on (0.8, 0.2, 0.7, 0.3): gap 0.3..0.7
    assert res.thresholds[0] == pytest.approx(0.5)


def test_hand_worked_folds():
    # fold 0: pairs 0-3, fold 1: pairs 4-7 (consecutive blocks)
    scores = np.array([0.9, 0.6, 0.4, 0.1, 0.8, 0.5, 0.3, 0.2])
    is_same = np.array([1, 0, 1, 0, 1, 1, 0, 0], bool)
    res = verification_accuracy(scores, is_same, n_folds=2)
    # fold 0 trained on pairs 4-7 (separable: 0.5 | 0.3): threshold 0.4;
    # on fold 0, score > 0.4 -> [T, T, F, F] vs [T, F, T, F]: 2/4.
    # fold 1 trained on pairs 0-3: accuracies of the cuts (smallest first)
    # -inf: 2/4, 0.25: 3/4, 0.5: 2/4, 0.75: 3/4, inf: 2/4 -> 0.25 (smallest);
    # on fold 1, score > 0.25 -> [T, T, T, F] vs [T, T, F, F]: 3/4.
    assert_allclose(res.thresholds, [0.4, 0.25])
    assert_allclose(res.fold_accuracies, [0.5, 0.75])
    assert res.mean == pytest.approx(0.625)
    assert res.std == pytest.approx(0.125)


def naive_verification_accuracy(scores, is_same, folds):
    """The LFW protocol, by brute force over every candidate threshold."""
    accs, thrs = [], []
    n = len(scores)
    for test in folds:
        train = np.setdiff1d(np.arange(n), test)
        values = np.unique(scores[train])
        candidates = [-np.inf]
        candidates += [(values[i] + values[i + 1]) / 2 for i in range(len(values) - 1)]
        candidates += [np.inf]
        best, best_thr = -1.0, None
        for thr in candidates:  # increasing: first maximiser is the smallest
            acc = np.mean((scores[train] > thr) == is_same[train])
            if acc > best:
                best, best_thr = acc, thr
        thrs.append(best_thr)
        accs.append(np.mean((scores[test] > best_thr) == is_same[test]))
    return np.mean(accs), np.std(accs), np.array(thrs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ten_fold_protocol_matches_naive_loop(seed):
    rng = np.random.default_rng(seed)
    is_same = rng.random(200) < 0.5
    # rounded scores: many ties, so the tie rules are exercised
    scores = np.round(rng.normal(is_same * 1.0, 1.0), 1)
    res = verification_accuracy(scores, is_same)
    folds = np.array_split(np.arange(200), 10)
    mean, std, thrs = naive_verification_accuracy(scores, is_same, folds)
    assert res.mean == pytest.approx(mean)
    assert res.std == pytest.approx(std)
    assert_allclose(res.thresholds, thrs)


def test_random_state_shuffles_folds_reproducibly():
    rng = np.random.default_rng(0)
    is_same = rng.random(100) < 0.5
    scores = rng.normal(is_same * 1.0, 1.0)
    a = verification_accuracy(scores, is_same, random_state=0)
    b = verification_accuracy(scores, is_same, random_state=0)
    assert_array_equal(a.fold_accuracies, b.fold_accuracies)
    assert_array_equal(a.thresholds, b.thresholds)


def test_verification_accuracy_errors():
    with pytest.raises(ValueError, match="n_folds=1 should be an integer >= 2"):
        verification_accuracy([0.1, 0.2], [0, 1], n_folds=1)
    with pytest.raises(ValueError, match="n_folds=10 should be <= the number"):
        verification_accuracy([0.1, 0.2], [0, 1])
    with pytest.raises(ValueError, match="is_same should be boolean"):
        verification_accuracy([0.1, 0.2, 0.3], [0, 1, 2], n_folds=2)
    with pytest.raises(ValueError, match="one entry per score"):
        verification_accuracy([0.1, 0.2, 0.3], [0, 1], n_folds=2)
    with pytest.raises(ValueError, match="NaN"):
        verification_accuracy([0.1, np.nan, 0.3], [0, 1, 1], n_folds=2)


def test_tar_at_far_hand_made():
    pos = [0.95, 0.9, 0.85, 0.6, 0.5]
    neg = [0.8, 0.7, 0.55, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0, -0.1]
    scores = np.r_[pos, neg]
    is_same = np.r_[np.ones(5, bool), np.zeros(10, bool)]
    # far 0.1 -> 1 negative may pass -> threshold 0.7 (2nd largest negative)
    tar, thr = tar_at_far(scores, is_same, 0.1, return_thresholds=True)
    assert (tar, thr) == (0.6, 0.7)
    # far 0.05 -> 0 negatives -> threshold 0.8: 3 positives above
    assert tar_at_far(scores, is_same, 0.05) == 0.6
    # far 0.3 -> 3 may pass -> threshold 0.4: 5 positives above
    assert tar_at_far(scores, is_same, 0.3) == 1.0
    # far 0.2 -> threshold 0.55: 0.6 passes, 0.5 does not
    assert tar_at_far(scores, is_same, 0.2) == 0.8
    # far 1 -> every pair accepted
    tar, thr = tar_at_far(scores, is_same, 1.0, return_thresholds=True)
    assert tar == 1.0 and thr == -np.inf
    # several at once, shape kept
    assert_allclose(tar_at_far(scores, is_same, [0.05, 0.2, 0.3]), [0.6, 0.8, 1.0])


def test_tar_at_far_ties_are_rejected():
    # three negatives tied at 0.5: with far 0.2 (k=1 of 5) the threshold is
    # 0.5 and none of the tied negatives nor the tied positive is accepted.
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1, 0.0])
    is_same = np.array([1, 1, 0, 0, 0, 0, 0], bool)
    tar, thr = tar_at_far(scores, is_same, 0.2, return_thresholds=True)
    assert thr == 0.5 and tar == 0.5
    neg = scores[~is_same]
    assert np.mean(neg > thr) <= 0.2


def test_tar_at_far_float_rounding_of_far_times_n():
    # 0.29 * 100 = 28.999999999999996: 29 negatives may pass, not 28
    neg = np.arange(100)[::-1] / 100.0  # 0.99 ... 0.0
    scores = np.r_[[0.705, 0.715], neg]
    is_same = np.r_[[True, True], np.zeros(100, bool)]
    tar, thr = tar_at_far(scores, is_same, 0.29, return_thresholds=True)
    assert thr == pytest.approx(0.70)
    assert tar == 1.0


def test_tar_at_far_errors():
    with pytest.raises(ValueError, match="far=0 should hold"):
        tar_at_far([0.1, 0.2], [0, 1], 0)
    with pytest.raises(ValueError, match="far=1.5 should hold"):
        tar_at_far([0.1, 0.2], [0, 1], 1.5)
    with pytest.raises(ValueError, match="0 positive and 2 negative"):
        tar_at_far([0.1, 0.2], [0, 0], 0.1)


def test_verification_report():
    rng = np.random.default_rng(0)
    is_same = rng.random(400) < 0.5
    scores = rng.normal(is_same * 2.0, 1.0)
    report = verification_report(scores, is_same)
    assert set(report) == {
        "accuracy",
        "accuracy_std",
        "auc",
        "tar@far=0.01",
        "tar@far=0.001",
    }
    assert report["auc"] == pytest.approx(roc_auc_score(is_same, scores))
    acc = verification_accuracy(scores, is_same)
    assert report["accuracy"] == acc.mean and report["accuracy_std"] == acc.std
    assert report["tar@far=0.01"] == tar_at_far(scores, is_same, 0.01)
    assert all(isinstance(v, float) for v in report.values())
    report = verification_report(scores, is_same, fars=[0.1])
    assert "tar@far=0.1" in report


def test_best_threshold_sample_weight_hand_values():
    from sklearn_clmle.metrics._verification import _best_threshold

    # one positive at 0.5, three negatives at 0.1, 0.6, 0.7: unweighted, the
    # best cut rejects everything (3 of 4 right); weighting the positive as
    # much as the three negatives together, the cut at 0.3 keeps it and
    # rejects one negative (balanced accuracy 1/2 + 1/6, the best)
    scores = np.array([0.5, 0.1, 0.6, 0.7])
    same = np.array([True, False, False, False])
    assert _best_threshold(scores, same) == np.inf
    weight = np.array([1 / 1, 1 / 3, 1 / 3, 1 / 3])
    assert _best_threshold(scores, same, sample_weight=weight) == pytest.approx(0.3)
    assert _best_threshold(scores, same, sample_weight=np.ones(4)) == np.inf
