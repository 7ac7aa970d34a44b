"""CLMLEEmbedder's budget read from a validation curve, its width rule and
the softmax head kept from training."""

import numpy as np
import pytest
import torch
from skorch.dataset import ValidSplit

from sklearn_clmle import CLMLEEmbedder
from sklearn_clmle.embedding import _auto, _budget
from sklearn_clmle.embedding._curve import FixedSplit, best_round


@pytest.mark.parametrize("args, expected", [
    ((16, 26, 16_833), (256, 128)),  # classes widen a narrow table
    ((10, 5, 5000), (128, 64)),      # max(40, 80) -> 128
    ((8, 10, 1000), (256, 128)),     # 16 * 10 = 160 -> 256
    ((64, 10, 200), (128, 64)),      # 200 rows: at most 2^floor(log2 200) = 128
    ((64, 10, 100), (64, 32)),       # 100 rows: at most 64
    ((64, 10, 421), (256, 128)),
    ((784, 10, 60_000), (256, 128)),
    ((2, 2, None), (64, 32)),
])
def test_hidden_units_follow_features_classes_and_rows(args, expected):
    assert _auto.hidden_units(*args) == expected


@pytest.mark.parametrize("n, expected", [(100, 300), (1000, 180), (6000, 30),
                                         (60_000, 30)])
def test_curve_cap(n, expected):
    assert _auto.curve_cap(n) == expected


def test_best_round_reads_the_lowest_held_out_loss():
    history = [
        {"phase": "warmup", "valid_loss": 0.1},
        {"phase": "cluster", "round": 1, "valid_loss": 3.0, "valid_head_loss": 0.9},
        {"phase": "cluster", "round": 2, "valid_loss": 2.0, "valid_head_loss": 0.5},
        {"phase": "cluster", "round": 3, "valid_loss": 2.5, "valid_head_loss": 0.5},
        {"phase": "cluster", "round": 4, "valid_loss": 1.0, "valid_head_loss": 0.7},
    ]
    assert best_round(history) == 4
    assert best_round(history, "valid_head_loss") == 2  # first of a tie
    with pytest.raises(ValueError, match="no cluster round"):
        best_round(history[:1])


@pytest.mark.parametrize("se, expected", [(0.0, 3), (0.01, 3), (0.03, 2), (0.5, 1)])
def test_best_round_is_the_earliest_within_one_standard_error(se, expected):
    """With a recorded standard error the budget is the earliest round whose
    loss is at most the lowest plus the lowest round's standard error: 0.50
    at round 3, so 0.52 (round 2) is within 0.03 and 0.9 within 0.5."""
    losses = [0.9, 0.52, 0.50, 0.55]
    history = [{"phase": "warmup", "valid_head_loss": 0.1}] + [
        {"phase": "cluster", "round": r, "valid_head_loss": loss,
         "valid_head_loss_se": se if r == 3 else 9.0}
        for r, loss in enumerate(losses, start=1)]
    assert best_round(history, "valid_head_loss") == expected


def problem(seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], [90, 40, 20])
    X = rng.normal(size=(len(y), 6)) + 1.5 * np.eye(6)[y]
    return X.astype(np.float32), y


@pytest.fixture(autouse=True)
def small_cap(monkeypatch, request):
    """A cap of 20 passes, so that a fit that never stops stays quick."""
    if request.node.name.startswith("test_curve_cap"):
        return
    monkeypatch.setattr(_budget, "CURVE_MIN_CAP", 20)
    monkeypatch.setattr(_budget, "CURVE_MAX_CAP", 20)


SMALL = dict(hidden_units=(16,), embedding_dim=4, n_clusters_per_batch=3,
             warmup_epochs=1, device="cpu", random_state=0)


def test_curve_budget_stops_after_patience_and_records_the_best_round():
    X, y = problem()
    split = ValidSplit(0.3, stratified=True, random_state=0)
    emb = CLMLEEmbedder(**SMALL, train_split=split).fit(X, y)
    n_train = 105
    batch = 3 * emb.n_samples_per_cluster_
    cap = _auto.curve_cap(n_train, batch)
    passes = max(1.0, cap / _budget.CURVE_ROUNDS)
    assert emb.steps_per_round_ == max(_budget.CURVE_MIN_STEPS,
                                       int(np.ceil(passes * n_train / batch)))
    per_round = emb.steps_per_round_ * batch / n_train
    assert emb.n_rounds_ == int(np.ceil(cap / per_round))
    rounds = [r for r in emb.history_ if r["phase"] == "cluster"]
    losses = np.array([r["valid_head_loss"] for r in rounds])
    lowest = int(np.argmin(losses))
    best = int(np.flatnonzero(
        losses <= losses[lowest] + rounds[lowest]["valid_head_loss_se"])[0]) + 1
    assert emb.best_round_ == best
    # stopping still follows the lowest round, not the budget's round
    best = lowest + 1
    # stopped CURVE_PATIENCE rounds after the best, or at the cap
    assert len(rounds) in (min(emb.n_rounds_, best + _budget.CURVE_PATIENCE), emb.n_rounds_)
    assert emb.epochs_ == 1 + int(np.ceil(emb.best_round_ * per_round))


def test_head_loss_is_the_balanced_cross_entropy_of_the_kept_head():
    X, y = problem()
    train = np.r_[0:70, 90:120, 130:145]
    held = np.setdiff1d(np.arange(len(y)), train)
    emb = CLMLEEmbedder(**SMALL, n_rounds=2, steps_per_round=3,
                        train_split=FixedSplit(train, held)).fit(X, y)
    # explicit rounds: no curve, no stopping
    assert emb.best_round_ is None and len(emb.history_) == 3
    # the kept head reproduces the head loss recorded? (only with the curve):
    # check head_log_proba against a naive forward instead
    with torch.no_grad():
        raw = emb.module_.raw_heads(torch.from_numpy(X[held]))[0]
        naive = torch.log_softmax(emb.softmax_head_[0](raw), 1).double().numpy()
    np.testing.assert_allclose(emb.head_log_proba(X[held]), naive, rtol=1e-6, atol=1e-9)
    assert np.allclose(np.exp(emb.head_log_proba(X)).sum(1), 1)


def test_recorded_head_loss_matches_a_naive_computation_at_the_last_round():
    X, y = problem()
    train = np.r_[0:70, 90:120, 130:145]
    held = np.setdiff1d(np.arange(len(y)), train)
    emb = CLMLEEmbedder(**{**SMALL, "warmup_epochs": 0},
                        train_split=FixedSplit(train, held)).fit(X, y)
    logp = emb.head_log_proba(X[held])
    per = -logp[np.arange(len(held)), y[held]]
    w = 1.0 / np.bincount(y[held])[y[held]]
    w = w / w.sum()
    naive = float((w * per).sum())
    assert emb.history_[-1, "valid_head_loss"] == pytest.approx(naive, rel=1e-4)
    # the standard error of that weighted mean over the held-out rows
    se = float(np.sqrt((w ** 2 * (per - naive) ** 2).sum()))
    assert emb.history_[-1, "valid_head_loss_se"] == pytest.approx(se, rel=1e-3)


def test_without_held_out_rows_the_formula_budget_is_kept():
    batch = _auto.resolve(CLMLEEmbedder(), 150, 6, 3).batch
    assert batch == 12 * 12  # 12 clusters of min(20, cluster_size = 12) rows
    b = _budget.Budget.resolve(warmup_epochs=5, batch=batch, n_samples=150)
    assert not b.curve and b.n_rounds == _budget.DEFAULT_ROUNDS
    assert b.epochs == _auto.epochs(150)
    # an explicit n_rounds turns the curve off even with held-out rows
    b = _budget.Budget.resolve(n_rounds=3, warmup_epochs=5, batch=batch,
                               n_samples=150, curve=True)
    assert not b.curve and b.n_rounds == 3


def test_head_log_proba_refuses_multilabel_and_unfitted():
    X, _ = problem()
    Y = (np.random.RandomState(0).rand(len(X), 2) > 0.5).astype(int)
    emb = CLMLEEmbedder(**SMALL, n_rounds=1, steps_per_round=2).fit(X, Y)
    with pytest.raises(ValueError, match="single-label"):
        emb.head_log_proba(X)
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        CLMLEEmbedder().head_log_proba(X)
