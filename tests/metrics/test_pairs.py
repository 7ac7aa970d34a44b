import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sklearn_clmle.metrics import make_pairs, split_seen_unseen


def test_split_seen_unseen_disjoint_classes():
    y = np.repeat(np.array(["a", "b", "c", "d", "e", "f", "g", "h"]), 3)
    seen, unseen = split_seen_unseen(y, n_unseen=0.25, random_state=0)
    assert seen.dtype == bool and seen.shape == y.shape
    assert_array_equal(seen, ~unseen)
    assert len(np.unique(y[unseen])) == 2  # ceil(0.25 * 8)
    assert not set(y[seen]) & set(y[unseen])
    seen2, _ = split_seen_unseen(y, n_unseen=0.25, random_state=0)
    assert_array_equal(seen, seen2)
    _, unseen3 = split_seen_unseen(y, n_unseen=5, random_state=1)
    assert len(np.unique(y[unseen3])) == 5
    # a fraction rounds up: 0.1 of 8 classes is 1
    _, unseen4 = split_seen_unseen(y, n_unseen=0.1, random_state=1)
    assert len(np.unique(y[unseen4])) == 1


@pytest.mark.parametrize(
    "n_unseen, match",
    [
        (0, "gives 0 unseen classes out of 4"),
        (4, "gives 4 unseen classes out of 4"),
        (1.0, "n_unseen=1.0 should be an int"),
        ("half", "n_unseen='half'"),
    ],
)
def test_split_seen_unseen_errors(n_unseen, match):
    with pytest.raises(ValueError, match=match):
        split_seen_unseen([0, 1, 2, 3], n_unseen=n_unseen)
    with pytest.raises(ValueError, match="at least two classes"):
        split_seen_unseen([0, 0])


def test_make_pairs_balanced_correct_and_distinct():
    y = np.repeat([10, 20, 30, 40], [2, 3, 5, 10])
    a, b, same = make_pairs(y, n_pairs=40, random_state=0)
    assert a.dtype == b.dtype == np.int64 and same.dtype == bool
    assert same.sum() == 20 and (~same).sum() == 20
    assert_array_equal(y[a] == y[b], same)
    assert np.all(a != b)
    keys = {tuple(sorted(p)) for p in zip(a.tolist(), b.tolist())}
    assert len(keys) == 40
    a2, b2, same2 = make_pairs(y, n_pairs=40, random_state=0)
    assert_array_equal(a, a2) and assert_array_equal(same, same2)


def test_make_pairs_odd_count_and_every_positive_pair():
    # 3 classes of 2: exactly 3 distinct positive pairs, all of them asked for
    y = np.array([0, 0, 1, 1, 2, 2])
    a, b, same = make_pairs(y, n_pairs=7, random_state=0)
    assert same.sum() == 3 and (~same).sum() == 4
    positives = {tuple(sorted(p)) for p in zip(a[same].tolist(), b[same].tolist())}
    assert positives == {(0, 1), (2, 3), (4, 5)}


def test_make_pairs_classes_weighted_equally():
    # one big class and 4 small ones: positives spread over classes evenly
    y = np.r_[np.zeros(200, int), np.repeat([1, 2, 3, 4], 20)]
    a, _, same = make_pairs(y, n_pairs=1000, random_state=0)
    counts = np.bincount(y[a[same]], minlength=5)
    assert counts.min() > 60  # about 100 each, not 500 for class 0


def test_make_pairs_errors():
    with pytest.raises(ValueError, match="allows only 1 distinct positive"):
        make_pairs([0, 0, 1], n_pairs=4)
    with pytest.raises(ValueError, match="n_pairs=1 should be an integer >= 2"):
        make_pairs([0, 0, 1, 1], n_pairs=1)
    with pytest.raises(ValueError, match="0 distinct negative"):
        make_pairs([0, 0, 0], n_pairs=2)
