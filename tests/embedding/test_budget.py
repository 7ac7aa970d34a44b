"""The training budget: one value, resolved once per fit, that the
embedders train with and expose (``budget_``), and that a refit on all rows
can reuse (``Budget.refit``)."""

import numpy as np
import pytest

pytest.importorskip("torch")

from sklearn_clmle import CLMLEEmbedder, MetricEmbedder  # noqa: E402
from sklearn_clmle.embedding._budget import Budget, curve_cap  # noqa: E402


def test_formula_budget_by_hand():
    # 600 rows: 100 passes; 5 warm-up epochs leave 95 * 600 rows for 5
    # rounds of batches of 240: round(57000 / 1200) = 48 steps a round
    b = Budget.resolve(warmup_epochs=5, batch=240, n_samples=600)
    assert (b.n_rounds, b.steps_per_round, b.epochs, b.curve) == (5, 48, 100, False)
    assert b.passes_per_round == pytest.approx(48 * 240 / 600)
    assert b.params() == {"n_rounds": 5, "steps_per_round": 48, "epochs": 100}
    # given values are kept; epochs only sets steps_per_round="auto", so with
    # a given steps_per_round the budget reports the passes actually made:
    # 1 warm-up pass + ceil(2 rounds * 7 steps * 10 rows / 100 rows) = 1 + 2
    b = Budget.resolve(epochs=20, n_rounds=2, steps_per_round=7, warmup_epochs=1,
                       batch=10, n_samples=100)
    assert (b.n_rounds, b.steps_per_round, b.epochs) == (2, 7, 3)


def test_curve_budget_by_hand_and_stopped():
    # 2,000 rows: 3 * 60000 / 2000 = 90 passes, but 4,000 steps of 240 rows
    # make 480 passes, so the cap is 300 (the most); over 25 rounds 12
    # passes a round: ceil(12 * 2000 / 240) = 100 steps; 300 / 12 = 25 rounds
    b = Budget.resolve(warmup_epochs=5, batch=240, n_samples=2000, curve=True)
    assert curve_cap(2000) == 90 and curve_cap(2000, 240) == 300
    assert (b.steps_per_round, b.n_rounds, b.curve) == (100, 25, True)
    assert b.epochs == 5 + 300
    stopped = b.up_to(7)
    assert (stopped.n_rounds, stopped.epochs, stopped.curve) == (7, 5 + 84, True)
    # 20,000 rows: 3 * 60000 / n = 9, so 30 passes; 4,000 steps of 240 rows
    # are 48 passes: 1.92 passes a round, ceil(1.92 * 20000 / 240) = 160
    # steps, ceil(48 / 1.92) = 25 rounds
    b = Budget.resolve(warmup_epochs=5, batch=240, n_samples=20_000, curve=True)
    assert curve_cap(20_000) == 30 and curve_cap(20_000, 240) == 48
    assert (b.steps_per_round, b.n_rounds, b.epochs) == (160, 25, 5 + 48)
    # 100,000 rows: 4,000 steps are 9.6 passes, under the 30 of the floor
    assert curve_cap(100_000, 240) == curve_cap(100_000) == 30
    # a curve needs every budget parameter "auto"
    assert not Budget.resolve(n_rounds=3, warmup_epochs=5, batch=240,
                              n_samples=2000, curve=True).curve


def test_refit_budget_from_the_parts():
    parts = [Budget(2, 25, 10, 20, 300, 0, curve=True).up_to(r) for r in (3, 5, 9)]
    refit = Budget.refit(parts, 400)
    # median of the rounds; passes a round 10 * 20 / 300 = 2/3, kept on 400 rows
    assert refit.n_rounds == 5
    assert refit.steps_per_round == round(2 / 3 * 400 / 20)
    assert refit.epochs == 2 + int(np.ceil(5 * 2 / 3))
    assert not refit.curve
    assert Budget.refit([parts[0], None], 400) is None
    assert Budget.refit([parts[0], Budget(2, 5, 10, 20, 300, 12)], 400) is None


def _data():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [40, 20, 10])
    return (rng.normal(size=(70, 4)) + 2 * np.eye(4)[y]).astype(np.float32), y


def test_embedders_train_with_their_budget():
    X, y = _data()
    emb = CLMLEEmbedder(hidden_units=(8,), embedding_dim=4, cluster_size=10,
                        n_clusters_per_batch=3, n_samples_per_cluster=4, n_rounds=2,
                        epochs=9, warmup_epochs=1, device="cpu",
                        random_state=0).fit(X, y)
    b = emb.budget_
    # 8 passes of 70 rows left for 2 rounds of 12 rows: round(560 / 24) = 23
    assert (b.n_rounds, b.steps_per_round, b.epochs) == (2, 23, 9)
    assert (emb.steps_per_round_, emb.epochs_) == (23, 9)
    assert [len(s) for s in emb.history_[1:, "step_loss"]] == [23, 23]
    # the same vocabulary for MetricEmbedder
    met = MetricEmbedder(hidden_units=(8,), embedding_dim=4, loss="lmle",
                         cluster_size=10, n_clusters_per_batch=3,
                         n_samples_per_cluster=4, n_rounds=2, epochs=9,
                         steps_per_round="auto", warmup_epochs=1, device="cpu",
                         random_state=0).fit(X, y)
    assert met.budget_ == b
    assert [len(s) for s in met.history_[1:, "step_loss"]] == [23, 23]


def test_refit_budget_of_fitted_parts_matches_a_naive_reference(monkeypatch):
    # the classifier's refit budget (Budget.refit of the parts' budget_)
    # against the rule written out on the parts' fitted attributes: the
    # median best round, the mean passes per round over each part's rows
    from sklearn_clmle.classifier._crossfit import refit_budget
    from sklearn_clmle.embedding import _budget
    from sklearn_clmle.embedding._curve import FixedSplit

    monkeypatch.setattr(_budget, "CURVE_MIN_CAP", 12)
    monkeypatch.setattr(_budget, "CURVE_MAX_CAP", 12)
    X, y = _data()
    rng = np.random.RandomState(0)
    splits, parts = [], []
    for k in range(2):
        held = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False)
                                       for c in range(3)]))
        train = np.setdiff1d(np.arange(len(y)), held)
        splits.append((train, held))
        parts.append(CLMLEEmbedder(hidden_units=(8,), embedding_dim=4, cluster_size=10,
                                   n_clusters_per_batch=3, n_samples_per_cluster=4,
                                   warmup_epochs=1, device="cpu", random_state=k,
                                   train_split=FixedSplit(train, held)).fit(X, y))
    assert all(p.budget_.curve for p in parts)
    refit = Budget.refit([p.budget_ for p in parts], len(y))
    assert refit.params() == refit_budget(parts, len(y))
    batch = 3 * 4
    passes = [p.steps_per_round_ * batch / len(tr) for p, (tr, _) in zip(parts, splits)]
    rounds = max(1, int(round(float(np.median([p.best_round_ for p in parts])))))
    assert refit.n_rounds == rounds
    assert refit.steps_per_round == max(1, int(round(np.mean(passes) * len(y) / batch)))
    assert refit.epochs == 1 + int(np.ceil(rounds * np.mean(passes)))


def test_of_reads_the_embedders_budget_parameters():
    for est in (CLMLEEmbedder(epochs=40, warmup_epochs=3),
                CLMLEEmbedder(n_rounds=3, steps_per_round=7, warmup_epochs=2),
                MetricEmbedder(epochs=12, warmup_epochs=1)):
        for curve in (False, True):
            assert Budget.of(est, batch=32, n_samples=500, curve=curve) == Budget.resolve(
                epochs=est.epochs, n_rounds=est.n_rounds,
                steps_per_round=est.steps_per_round, warmup_epochs=est.warmup_epochs,
                batch=32, n_samples=500, curve=curve)
    # all "auto" with held-out rows: the curve's budget (a cap of rounds)
    auto = Budget.of(CLMLEEmbedder(warmup_epochs=5), batch=128, n_samples=3000, curve=True)
    assert auto.curve and auto.n_rounds == 25 and auto.warmup_epochs == 5
