"""LongTailNetClassifier(epochs="auto"): the formula without held-out rows,
the validation curve with them."""

import numpy as np
import pytest
from skorch.dataset import ValidSplit

from sklearn_clmle import LongTailNetClassifier
from sklearn_clmle.embedding import _budget
from sklearn_clmle.embedding._longtail import HEAD_PATIENCE


def problem():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [60, 25, 10])
    X = rng.normal(size=(len(y), 4)) + 1.2 * np.eye(4)[y]
    return X.astype(np.float32), y


PARAMS = dict(loss="logit_adjusted", hidden_units=(8,), batch_size=32,
              learning_rate=0.01, device="cpu", random_state=0)


def test_formula_without_held_out_rows(monkeypatch):
    X, y = problem()
    monkeypatch.setattr(_budget, "HEAD_MAX_EPOCHS", 17)  # keep the fit quick
    clf = LongTailNetClassifier(**PARAMS).fit(X, y)
    assert clf.epochs_ == _budget.head_epochs(len(y), 32) == 17
    assert len(clf.history_) == 17


@pytest.mark.parametrize("n, batch, expected", [
    (96, 128, 200), (2560, 128, 200), (2561, 128, 190),  # 4000 / 21
    (6349, 128, 80), (13_747, 128, 37), (34_000, 128, 15), (10**6, 128, 15),
    (6349, 32, 20)])  # 4000 / 199
def test_head_epochs_rule(n, batch, expected):
    assert _budget.head_epochs(n, batch) == expected


def test_curve_keeps_the_best_epoch(monkeypatch):
    X, y = problem()
    monkeypatch.setattr(_budget, "CURVE_MIN_CAP", 40)
    monkeypatch.setattr(_budget, "CURVE_MAX_CAP", 40)
    split = ValidSplit(0.25, stratified=True, random_state=0)
    clf = LongTailNetClassifier(**PARAMS, train_split=split).fit(X, y)
    losses = clf.history_[:, "valid_loss"]
    best = int(np.argmin(losses)) + 1
    assert clf.epochs_ == best
    assert len(losses) in (min(40, best + HEAD_PATIENCE), 40)
    # the kept weights are the best epoch's: a fit of that many epochs
    again = LongTailNetClassifier(**{**PARAMS, "epochs": best},
                                  train_split=split).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), again.predict_proba(X),
                               rtol=1e-5, atol=1e-6)


def test_explicit_epochs_are_kept():
    X, y = problem()
    clf = LongTailNetClassifier(**PARAMS, epochs=3).fit(X, y)
    assert clf.epochs_ == 3 and len(clf.history_) == 3
    with pytest.raises(ValueError, match="epochs"):
        LongTailNetClassifier(epochs="longer").fit(X, y)
