"""CLMLEEmbedder's "auto" settings: the rules, and what fit records."""

import numpy as np
import pytest

from sklearn_clmle import CLMLEEmbedder
from sklearn_clmle.embedding import _auto


@pytest.mark.parametrize("n, expected", [
    (200, 100), (600, 100), (1000, 60), (4000, 15), (12_406, 15), (10**6, 15)])
def test_epochs_rule(n, expected):
    assert _auto.epochs(n) == expected


@pytest.mark.parametrize("n, expected", [
    (50, 10), (300, 17), (12_406, 111), (20_431, 143), (10**6, 200)])
def test_cluster_size_rule(n, expected):
    assert _auto.cluster_size(n) == expected


@pytest.mark.parametrize("n_features, expected", [
    (2, (64, 32)), (10, (64, 32)), (20, (128, 64)), (64, (256, 128)),
    (784, (256, 128))])
def test_hidden_units_rule(n_features, expected):
    assert _auto.hidden_units(n_features) == expected


def test_weight_decay_rule():
    assert _auto.weight_decay(4999) == 1e-3
    assert _auto.weight_decay(5000) == 0.0


@pytest.mark.parametrize("n_points, dim, expected", [
    (2, 64, -1.0), (10, 64, -1 / 9), (65, 64, -1 / 64),  # simplex
    (66, 64, 0.0), (128, 64, 0.0),  # cross-polytope
    # sqrt(1 - (128 / 1000) ** (2 / 63)): exp(-2.0557 * 2 / 63) = 0.93682
    (1000, 64, 0.25136),
    # exp(-4.3583 * 2 / 63) = 0.87079, sqrt(0.12921)
    (10_000, 64, 0.35946),
    (6, 2, 0.5), (3, 2, -0.5),  # a circle: cos(2 pi / n)
])
def test_packing_cosine_by_hand(n_points, dim, expected):
    assert _auto.packing_cosine(n_points, dim) == pytest.approx(expected, abs=1e-4)


def test_packing_cosine_is_continuous_and_monotone():
    cos = [_auto.packing_cosine(n, 64) for n in range(2, 20_000, 7)]
    assert np.all(np.diff(cos) >= 0)
    assert _auto.packing_cosine(129, 64) < 0.1  # just past the cross-polytope


def _labels(counts):
    return np.repeat(np.arange(len(counts)), counts)[:, None]


def test_auto_margins_never_vanish_with_the_class_count():
    # a1 = 0.05 * (1 - cos) with cos of the table above: 10 classes
    # 0.05 * 10 / 9, 1,000 classes 0.05 * (1 - 0.25136), 10**6 classes still
    # above 0.05 * 0.5 (the circle's rule gives 2e-11 there)
    for C, a1 in [(10, 0.5 / 9), (1000, 0.037432)]:
        got, _ = _auto.margins(_labels(np.full(C, 3)), "auto", "auto", 64)
        assert got[0] == pytest.approx(a1, abs=1e-5)
    big, _ = _auto.margins(_labels(np.ones(10**6, dtype=int)), "auto", "auto", 64)
    assert big[0] > 0.025


def test_auto_margins_reduce_to_the_papers_circle_in_two_dimensions():
    counts = [40, 10, 25, 5]
    a1, a2 = _auto.margins(_labels(counts), "auto", "auto", 2)
    assert a1[0] == pytest.approx(0.05 * (1 - np.cos(2 * np.pi / 4)))
    assert a2[0] == pytest.approx(0.05 * (1 - np.cos(2 * np.pi * 5 / 80)))


def test_auto_within_margin_follows_the_rarest_share():
    # shares 1/2, 1/4, 1/4 against 18/20 and 1/20: 4 and 20 regions in d = 8
    _, even = _auto.margins(_labels([2, 1, 1]), "auto", "auto", 8)
    _, tail = _auto.margins(_labels([18, 1, 1]), "auto", "auto", 8)
    assert even[0] == pytest.approx(0.05 * (1 + 1 / 3))
    assert tail[0] == pytest.approx(0.05 * (1 - np.sqrt(1 - (16 / 20) ** (2 / 7))))
    assert tail[0] < even[0]


def tiny_problem(n=120, d=6, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], [80, 30, 10])[:n]
    X = rng.normal(size=(len(y), d)) + 2 * y[:, None]
    return X.astype(np.float32), y


SMALL = dict(embedding_dim=4, n_clusters_per_batch=3, n_rounds=2, warmup_epochs=1,
             device="cpu", random_state=0)


def test_fit_records_the_resolved_settings():
    X, y = tiny_problem()
    emb = CLMLEEmbedder(**SMALL).fit(X, y)
    n = len(y)
    assert emb.hidden_units_ == (64, 32)  # 6 features
    assert emb.cluster_size_ == 11  # clip(round(sqrt(120)), 10, 200)
    assert emb.n_samples_per_cluster_ == 11
    assert emb.epochs_ == 100
    assert emb.weight_decay_ == 1e-3
    batch = 3 * 11
    assert emb.steps_per_round_ == round((100 - 1) * n / (2 * batch))
    # the parameters themselves stay "auto"
    assert emb.get_params()["cluster_size"] == "auto"
    assert emb.get_params()["steps_per_round"] == "auto"
    # the default MLP has the resolved widths
    widths = [m.out_features for m in emb.module_.modules()
              if m.__class__.__name__ == "Linear"]
    assert widths[:2] == [64, 32]
    # the history has the resolved number of steps per round
    assert len(emb.history_[-1, "step_loss"]) == emb.steps_per_round_


def test_explicit_settings_are_used_as_given():
    X, y = tiny_problem()
    emb = CLMLEEmbedder(hidden_units=(8,), cluster_size=7, n_samples_per_cluster=3,
                        steps_per_round=4, weight_decay=0.0, **SMALL).fit(X, y)
    assert (emb.hidden_units_, emb.cluster_size_, emb.n_samples_per_cluster_,
            emb.steps_per_round_, emb.weight_decay_) == ((8,), 7, 3, 4, 0.0)
    assert len(emb.history_[-1, "step_loss"]) == 4


def test_epochs_sets_the_budget():
    X, y = tiny_problem()
    emb = CLMLEEmbedder(epochs=11, **SMALL).fit(X, y)
    assert emb.epochs_ == 11
    assert emb.steps_per_round_ == round((11 - 1) * len(y) / (2 * 3 * 11))


@pytest.mark.parametrize("param, value", [
    ("epochs", 0), ("epochs", "many"), ("cluster_size", "big"),
    ("hidden_units", "wide"), ("weight_decay", "none"), ("steps_per_round", -1)])
def test_bad_auto_parameters_are_refused(param, value):
    X, y = tiny_problem()
    with pytest.raises(ValueError, match=param):
        CLMLEEmbedder(**{param: value, **SMALL}).fit(X, y)


def test_class_margins_follow_the_power_rule():
    # counts 80 / 30 / 10: a1 * min((80 / n_c) ** p, 2)
    X, y = tiny_problem()
    emb = CLMLEEmbedder(margin_between=0.1, steps_per_round=1, **SMALL).fit(X, y)
    np.testing.assert_allclose(
        emb.class_margins_between_[0],
        [0.1, 0.1 * (80 / 30) ** 0.25, 0.1 * 8 ** 0.25])
    capped = CLMLEEmbedder(margin_between=0.1, margin_power=0.5, steps_per_round=1,
                           **SMALL).fit(X, y)
    np.testing.assert_allclose(capped.class_margins_between_[0],
                               [0.1, 0.1 * (80 / 30) ** 0.5, 0.2])  # 8 ** .5 > 2
    paper = CLMLEEmbedder(margin_power=0, steps_per_round=1, **SMALL).fit(X, y)
    np.testing.assert_allclose(paper.class_margins_between_[0],
                               np.full(3, paper.margin_between_[0]))


def test_class_margins_reach_the_loss():
    # the rounds' ClusterLoss gets the per-class margins (a spy on its init)
    from sklearn_clmle.embedding.training import clmle_rounds as _clmle

    seen = []

    class Spy(_clmle.ClusterLoss):
        def __init__(self, a1, *args, **kwargs):
            seen.append(np.array(a1))
            super().__init__(a1, *args, **kwargs)

    X, y = tiny_problem()
    original = _clmle.ClusterLoss
    _clmle.ClusterLoss = Spy
    try:
        emb = CLMLEEmbedder(steps_per_round=1, **SMALL).fit(X, y)
    finally:
        _clmle.ClusterLoss = original
    np.testing.assert_array_equal(seen[0], emb.class_margins_between_[0])
    assert seen[0][2] > seen[0][0]


def test_multilabel_class_margins_per_label():
    X, y = tiny_problem()
    Y = np.c_[y == 2, y >= 1].astype(int)  # positives 10 / 40 of 120
    emb = CLMLEEmbedder(margin_between=0.1, steps_per_round=1, **SMALL).fit(X, Y)
    np.testing.assert_allclose(emb.class_margins_between_[0], [0.1, 0.1 * 11 ** 0.25])
    np.testing.assert_allclose(emb.class_margins_between_[1], [0.1, 0.1 * 2 ** 0.25])


def test_negative_margin_power_is_refused():
    X, y = tiny_problem()
    with pytest.raises(ValueError, match="margin_power"):
        CLMLEEmbedder(margin_power=-1, **SMALL).fit(X, y)
