"""Stratified folds and hold-outs of encoded labels (``utils._splits``)."""

import numpy as np
from numpy.testing import assert_array_equal

from sklearn_clmle.utils._splits import stratified_folds, stratified_holdout


def test_holdout_is_stratified_and_keeps_every_class_in_training():
    y = np.repeat([0, 1, 2, 3], [40, 8, 2, 1])
    train, held = stratified_holdout(y, 0.25, np.random.RandomState(0), 5000)
    assert np.intersect1d(train, held).size == 0
    assert_array_equal(np.sort(np.r_[train, held]), np.arange(len(y)))
    # round(0.25 * n_c), at least one of a class of two, none of a singleton
    assert_array_equal(np.bincount(y[held], minlength=4), [10, 2, 1, 0])
    assert_array_equal(np.unique(y[train]), [0, 1, 2, 3])


def test_holdout_share_is_lowered_to_the_row_cap():
    y = np.repeat([0, 1], [300, 100])
    _, held = stratified_holdout(y, 0.5, np.random.RandomState(0), 40)
    assert_array_equal(np.bincount(y[held]), [30, 10])  # share 40 / 400
    assert stratified_holdout(np.arange(3), 0.5, np.random.RandomState(0), 9) is None


def test_folds_deal_each_class_in_turn():
    y = np.repeat([0, 1, 2], [4, 2, 1])
    folds = stratified_folds(y, 3, np.random.RandomState(0))
    # class 1 starts where class 0 stopped (its 5th row: fold 1), so the
    # small class does not land in the first fold with class 0's extra row
    sizes = [np.bincount(y[h], minlength=3).tolist() for _, h in folds]
    assert sizes == [[2, 0, 0], [1, 1, 0], [1, 1, 0]]
    for train, held in folds:
        assert 6 in train  # the singleton is never held out
        assert np.intersect1d(train, held).size == 0
