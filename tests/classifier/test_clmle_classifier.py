"""CLMLEClassifier: cross-fitting, candidates judged on unseen rows, refit."""

import pickle

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, StratifiedShuffleSplit

from sklearn_clmle import CLMLEClassifier, CLMLEEmbedder
from sklearn_clmle.classifier import _candidates
from sklearn_clmle.classifier._crossfit import (
    refit_budget as _budget,
    LARGE_N,
    holdout_split,
    resolve_cv,
)
from sklearn_clmle.utils._splits import stratified_folds

TINY = dict(hidden_units=(16,), embedding_dim=4, cluster_size=5,
            n_clusters_per_batch=4, n_samples_per_cluster=5, warmup_epochs=2,
            n_rounds=2, steps_per_round=4, device="cpu")


def problem(seed=0, counts=(60, 25, 10)):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    X = rng.normal(size=(len(y), 5)) + 2.5 * np.eye(5)[y]
    return X.astype(np.float32), np.array(["a", "b", "c", "d", "e"])[y]


def fitted(**params):
    X, y = problem()
    params.setdefault("cv", 2)
    params.setdefault("margin_levels", ["auto"])
    clf = CLMLEClassifier(CLMLEEmbedder(**TINY), random_state=0, **params)
    return clf.fit(X, y), X, y


# -- the rows held out --------------------------------------------------------

def test_fold_splits_hold_each_row_of_a_splittable_class_out_once():
    y = np.repeat([0, 1, 2, 3], [7, 4, 2, 1])
    splits = stratified_folds(y, 2, np.random.RandomState(0))
    held = np.concatenate([h for _, h in splits])
    assert sorted(held.tolist()) == list(range(13))  # all but the singleton
    for train, h in splits:
        assert np.intersect1d(train, h).size == 0
        assert 13 in train  # the one-row class is always trained on
        # every class keeps a training row
        assert set(y[train]) == {0, 1, 2, 3}
        # stratified: each class split as evenly as possible
        for c, n in zip(range(3), (7, 4, 2)):
            assert np.sum(y[h] == c) in (n // 2, n - n // 2)


def test_holdout_split_shares():
    y = np.repeat([0, 1, 2], [100, 20, 1])
    [(train, held)] = holdout_split(y, 0.1, np.random.RandomState(0))
    assert np.bincount(y[held], minlength=3).tolist() == [10, 2, 0]
    assert len(train) + len(held) == 121


def test_auto_cv_switches_to_a_kept_holdout_above_the_threshold():
    rng = np.random.RandomState(0)
    small = np.repeat([0, 1], [100, 50])
    splits, refit = resolve_cv("auto", small, rng)
    assert len(splits) == 1 and refit
    assert np.bincount(small[splits[0][1]]).tolist() == [25, 12]
    big = np.repeat([0, 1], [LARGE_N, 10])
    splits, refit = resolve_cv("auto", big, rng)
    assert len(splits) == 1 and not refit
    assert len(splits[0][1]) == 2000 + 1
    splits, refit = resolve_cv(3, small, rng)
    assert len(splits) == 3 and refit
    assert resolve_cv(0.2, big, rng, refit=True)[1]
    with pytest.raises(ValueError, match="refit_embedder=False"):
        resolve_cv(2, small, rng, refit=False)
    with pytest.raises(ValueError, match="two or more samples"):
        resolve_cv("auto", np.array([0, 1, 2]), rng)


# -- candidates ---------------------------------------------------------------

def test_combine_is_the_renormalised_product_of_experts():
    rng = np.random.RandomState(0)
    parts = {name: np.log(rng.dirichlet(np.ones(3), size=4)) for name in
             ("rule", "linear", "softmax")}
    out = _candidates.combine(parts, ("rule", "softmax"))
    naive = parts["rule"] + parts["softmax"]
    naive -= logsumexp(naive, axis=1, keepdims=True)
    np.testing.assert_allclose(out, naive)
    np.testing.assert_allclose(np.exp(out).sum(1), 1)
    assert _candidates.parse("rule + linear") == ("rule", "linear")
    with pytest.raises(ValueError, match="unknown candidate"):
        _candidates.parse("rule + knn")


def test_budget_is_the_median_best_round_in_passes_of_all_rows():
    from sklearn_clmle.embedding._budget import Budget

    class Part:
        def __init__(self, best, curve=True):
            # 2 warm-up epochs, rounds of 10 steps of 20 rows on 50 rows
            self.budget_ = Budget(2, best, 10, 20, 50, 0, curve)

    parts = [Part(3), Part(7), Part(5)]
    # a round: 10 steps x 20 rows / 50 training rows = 4 passes
    assert _budget(parts, 200) == {
        "n_rounds": 5, "steps_per_round": 40, "epochs": 2 + 20}
    parts[1] = Part(7, curve=False)  # a part with its own (formula) budget
    assert _budget(parts, 200) is None
    parts[1] = object()  # an embedder without a budget_
    assert _budget(parts, 200) is None


# -- the estimator --------------------------------------------------------------

def test_gain_se_is_the_paired_standard_error_of_balanced_accuracy():
    y = np.array([0, 0, 0, 1, 1, 2])
    hits = np.array([1, 1, 0, 1, 0, 1], dtype=bool)
    ref = np.array([1, 0, 0, 1, 1, 0], dtype=bool)
    # class 0: differences 0, 1, 0 (variance 1/3, over 3 rows); class 1: 0, -1
    # (variance 1/2, over 2 rows); class 2: one row, no variance; 3 classes
    assert _candidates.gain_se(y, hits, ref) == pytest.approx(
        np.sqrt(1 / 9 + 1 / 4) / 3, rel=1e-12)
    assert _candidates.gain_se(y, ref, ref) == 0.0


def _results(names, pooled, gain_se):
    pooled = np.array(pooled, dtype=float)
    order = sorted(range(len(pooled)), key=lambda i: (-pooled[i], i))
    ranks = np.empty(len(pooled), dtype=np.int32)
    ranks[order] = np.arange(1, len(pooled) + 1)
    res = {"candidate": np.array(names, dtype=object), "pooled_test_score": pooled,
           "rank_test_score": ranks}
    hits = [np.zeros(4, dtype=bool)] * len(names)
    res = _candidates.add_gains(res, hits, np.array([0, 0, 1, 1]))
    res["pooled_test_gain_se"] = np.array(gain_se, dtype=float)  # as if measured
    return res


def test_the_reference_is_kept_unless_beaten_by_two_standard_errors():
    names = ["rule", "rule + linear", "linear", "rule + linear + softmax"]
    res = _results(names, [0.90, 0.86, 0.80, 0.80], [0.06, 0.02, 0.01, 0.0])
    assert list(res["reference_candidate"]) == [False, False, False, True]
    np.testing.assert_allclose(res["pooled_test_gain"], [0.10, 0.06, 0.0, 0.0])
    # rule: +0.10 < 2 x 0.06; rule + linear: +0.06 > 2 x 0.02 (linear: no gain)
    assert res["candidate"][_candidates.selected_index(res)] == "rule + linear"
    res["pooled_test_gain_se"][1] = 0.03  # now +0.06 is not more than 2 x 0.03
    assert res["candidate"][_candidates.selected_index(res)] == "rule + linear + softmax"
    res["pooled_test_gain_se"][0] = 0.01  # both clear the bar: the better ranked
    res["pooled_test_gain_se"][1] = 0.01
    assert res["candidate"][_candidates.selected_index(res)] == "rule"


def test_describe_says_why_a_row_is_selected():
    names = ["rule", "rule + linear + softmax"]
    res = _results(names, [0.90, 0.80], [0.04, 0.0])
    assert _candidates.describe(res, 1) == (
        "pooled held-out balanced accuracy 0.800 (the reference; no candidate "
        "beats it by more than 2 standard errors)")
    assert _candidates.describe(res, 0) == (
        "pooled held-out balanced accuracy 0.900 (+0.100 over the reference, "
        "standard error 0.040)")


def test_the_reference_is_the_best_of_the_most_experts():
    res = _results(["rule", "rule + linear", "rule + softmax", "linear"],
                   [0.7, 0.8, 0.9, 0.95], [0.0] * 4)
    assert res["candidate"][res["reference_candidate"]][0] == "rule + softmax"
    res = _results(["rule + linear", "rule + softmax"], [0.8, 0.8], [0.0] * 2)
    assert res["candidate"][res["reference_candidate"]][0] == "rule + linear"


def test_selection_keeps_the_product_of_experts_unless_clearly_beaten():
    clf, X, y = fitted()
    res = clf.cv_results_
    assert list(res["candidate"]) == [_candidates.name_of(c) for c in _candidates.CANDIDATES]
    ref = int(np.flatnonzero(res["reference_candidate"])[0])
    assert res["candidate"][ref] == "rule + linear + softmax"
    np.testing.assert_allclose(res["pooled_test_gain"],
                               res["pooled_test_score"] - res["pooled_test_score"][ref])
    assert res["pooled_test_gain_se"][ref] == 0.0
    beats = res["pooled_test_gain"] > 2 * res["pooled_test_gain_se"]
    chosen = list(res["candidate"]).index(clf.selected_)
    if beats.any():
        assert beats[chosen]
        assert res["rank_test_score"][chosen] == res["rank_test_score"][beats].min()
    else:
        assert chosen == ref
    assert sorted(res["rank_test_score"]) == list(range(1, 8))
    best = res["pooled_test_score"].max()
    assert res["pooled_test_score"][res["rank_test_score"] == 1][0] == best
    np.testing.assert_allclose(
        res["mean_test_score"], (res["split0_test_score"] + res["split1_test_score"]) / 2)
    assert clf.n_splits_ == 2 and clf.refit_embedder_
    assert clf.budget_ is None  # explicit n_rounds: the embedder's own budget


@pytest.mark.parametrize("candidate", ["rule", "linear", "softmax", "rule + softmax",
                                       "rule + linear + softmax"])
def test_prediction_is_the_selected_combination(candidate):
    clf, X, y = fitted(candidates=[candidate], ensemble=False)
    assert clf.selected_ == candidate
    Z = clf.embedder_.transform(X)
    parts = {}
    if "rule" in candidate:
        assert clf.rule_.get_params()["scale"] == clf.rule_params_["scale"]
        parts["rule"] = np.log(np.maximum(clf.rule_.predict_proba(Z), 1e-12))
    else:
        assert clf.rule_ is None
    if "linear" in candidate:
        prior = np.bincount(np.searchsorted(clf.classes_, y)) / len(y)
        parts["linear"] = clf.linear_head_.predict_log_proba(Z) - np.log(prior)
    if "softmax" in candidate:
        parts["softmax"] = clf.embedder_.head_log_proba(X)
    total = sum(parts.values())
    total -= logsumexp(total, axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_log_proba(X), total, atol=1e-9)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1)
    assert (clf.predict(X) == clf.classes_[total.argmax(1)]).all()
    assert clf.decision_function(X).shape == (len(X), 3)


def _member_log_proba(emb, rule, linear, X, y, candidate):
    Z = emb.transform(X)
    parts = {}
    if "rule" in candidate:
        parts["rule"] = np.log(np.maximum(rule.predict_proba(Z), 1e-12))
    if "linear" in candidate:
        prior = np.bincount(np.searchsorted(np.unique(y), y)) / len(y)
        parts["linear"] = linear.predict_log_proba(Z) - np.log(prior)
    if "softmax" in candidate:
        parts["softmax"] = emb.head_log_proba(X)
    total = sum(parts.values())
    return total - logsumexp(total, axis=1, keepdims=True)


@pytest.mark.parametrize("candidate", ["rule + linear", "softmax"])
def test_ensemble_is_the_mean_probability_of_the_refit_and_the_parts(candidate):
    clf, X, y = fitted(candidates=[candidate])
    # cv=2: the refitted embedder, then the two parts' embedders
    assert len(clf.ensemble_) == 3
    assert clf.ensemble_[0][0] is clf.embedder_
    assert all(emb.train_split is not None for emb, _, _ in clf.ensemble_[1:])
    proba = np.mean([np.exp(_member_log_proba(*member, X, y, candidate))
                     for member in clf.ensemble_], axis=0)
    np.testing.assert_allclose(clf.predict_proba(X), proba, atol=1e-9)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), atol=1e-9)
    alone, _, _ = fitted(candidates=[candidate], ensemble=False)
    assert len(alone.ensemble_) == 1
    np.testing.assert_allclose(
        alone.predict_proba(X), np.exp(_member_log_proba(*clf.ensemble_[0], X, y,
                                                         candidate)), atol=1e-9)


def test_a_parts_embeddings_of_all_rows_are_put_back_in_place():
    from sklearn_clmle.classifier._crossfit import all_embeddings, cross_fit

    X, y = problem()
    y_idx = np.searchsorted(np.unique(y), y)
    splits = holdout_split(y_idx, 0.25, np.random.RandomState(0))
    part, = cross_fit(CLMLEEmbedder(**TINY), X, y, splits, 0)
    Z = all_embeddings(part, X)
    assert Z.dtype == part.Z_train.dtype
    np.testing.assert_array_equal(Z, part.embedder.transform(X))
    # rows in neither side: the embedder's transform of all rows
    train, held = splits[0]
    part.train, part.Z_train = train[5:], part.Z_train[5:]
    np.testing.assert_array_equal(all_embeddings(part, X),
                                  part.embedder.transform(X))


def test_margin_levels_resolve_to_fractions_of_the_bound():
    from sklearn_clmle.classifier._crossfit import COMPARED_LEVELS, margin_levels
    from sklearn_clmle.embedding import _auto

    y_idx = np.repeat([0, 1, 2], [60, 25, 10])
    emb = CLMLEEmbedder(embedding_dim=4)
    a1, a2 = _auto.margins(y_idx[:, None], "auto", "auto", 4)
    # d = 4: 3 classes a simplex, bound 1.5; 95 / 10 = 9.5 regions beyond
    # 2 d = 8: cosine sqrt(1 - (8 / 9.5) ** (2 / 3))
    assert 20 * a1[0] == pytest.approx(1.5)
    assert 20 * a2[0] == pytest.approx(1 - np.sqrt(1 - (8 / 9.5) ** (2 / 3)))
    # "auto": the embedder's own margins, at every size
    assert margin_levels("auto", emb, y_idx) == [("auto", {})]
    levels = margin_levels([*COMPARED_LEVELS], emb, y_idx)
    # a1, a2 ("auto") are a twentieth of the bounds
    assert [name for name, _ in levels] == ["auto", "0.25 x bound", "0.5 x bound"]
    assert levels[0][1] == {}
    assert levels[1][1]["margin_between"] == pytest.approx(0.25 * 1.5)
    assert levels[2][1] == pytest.approx({"margin_between": 0.75,
                                          "margin_within": 0.5 * 20 * a2[0]})
    big = np.repeat([0, 1], [LARGE_N, 5])
    assert margin_levels("auto", emb, big) == [("auto", {})]
    fixed = CLMLEEmbedder(margin_between=0.2)
    assert margin_levels("auto", fixed, y_idx) == [("auto", {})]
    with pytest.raises(ValueError, match="fractions of the margin bound"):
        margin_levels(["auto", 0.1], fixed, y_idx)
    with pytest.raises(ValueError, match="fraction of the margin bound"):
        margin_levels([3.0], emb, y_idx)


def test_margin_level_is_chosen_with_the_candidate_on_held_out_rows():
    clf, X, y = fitted(margin_levels=["auto", 0.05], candidates=["rule", "linear"])
    res = clf.cv_results_
    assert list(res["margin_level"]) == ["auto", "auto", "0.05 x bound", "0.05 x bound"]
    assert [p["margin_level"] for p in res["params"]] == list(res["margin_level"])
    best = int(np.argmax(res["pooled_test_score"]))  # first of the best
    assert res["rank_test_score"][best] == 1
    assert sorted(res["rank_test_score"]) == [1, 2, 3, 4]
    # one reference for both levels: no candidate has two experts here, so
    # the best of the one-expert candidates, which nothing can beat
    ref = int(np.flatnonzero(res["reference_candidate"])[0])
    assert ref == best
    chosen = _candidates.selected_index(res)
    assert (clf.margin_level_, clf.selected_) == (res["margin_level"][chosen],
                                                 res["candidate"][chosen])
    # the refit and the kept parts use the chosen level's margins
    from sklearn_clmle.classifier._crossfit import margin_levels
    y_idx = np.searchsorted(clf.classes_, y)
    expected = dict(margin_levels(["auto", 0.05], CLMLEEmbedder(**TINY), y_idx))
    for emb, _, _ in clf.ensemble_:
        got = {k: emb.get_params()[k] for k in ("margin_between", "margin_within")}
        assert got == (expected[clf.margin_level_] or {"margin_between": "auto",
                                                       "margin_within": "auto"})


def test_rule_settings_are_chosen_on_unseen_rows():
    clf, X, y = fitted(candidates=["rule"])
    assert set(clf.rule_params_) == {"cluster_size", "scale", "prior_correction",
                                     "aggregate"}
    assert clf.rule_.head_ == "none"
    assert clf.rule_.scale_ == clf.rule_params_["scale"]


def test_holdout_mode_keeps_the_part_embedder():
    X, y = problem()
    clf = CLMLEClassifier(CLMLEEmbedder(**TINY), cv=0.3, refit_embedder=False,
                          random_state=0).fit(X, y)
    assert clf.n_splits_ == 1 and not clf.refit_embedder_
    assert len(clf.ensemble_) == 1  # nothing refitted: one member
    assert "split1_test_score" not in clf.cv_results_
    # the kept embedder never trained on the held-out rows
    assert clf.embedder_.train_split is not None


def test_curve_budget_reaches_the_refit(monkeypatch):
    from sklearn_clmle.embedding import _budget
    monkeypatch.setattr(_budget, "CURVE_MIN_CAP", 12)
    monkeypatch.setattr(_budget, "CURVE_MAX_CAP", 12)
    X, y = problem()
    params = {k: v for k, v in TINY.items() if k not in ("n_rounds", "steps_per_round")}
    clf = CLMLEClassifier(CLMLEEmbedder(**params), candidates=["rule"],
                          random_state=0).fit(X, y)
    assert clf.budget_ is not None
    emb = clf.embedder_
    assert emb.n_rounds == clf.budget_["n_rounds"] == emb.n_rounds_
    assert emb.steps_per_round_ == clf.budget_["steps_per_round"]
    assert emb.train_split is None and emb.best_round_ is None


def test_binary_decision_function_is_the_difference():
    X, y = problem(counts=(40, 12))
    clf = CLMLEClassifier(CLMLEEmbedder(**TINY), random_state=0).fit(X, y)
    logp = clf.predict_log_proba(X)
    np.testing.assert_allclose(clf.decision_function(X), logp[:, 1] - logp[:, 0])


def test_nested_params_grid_search_pickle_and_clone():
    X, y = problem()
    clf = CLMLEClassifier(CLMLEEmbedder(**TINY), candidates=["rule", "linear"],
                          random_state=0)
    assert "embedder__margin_between" in clf.get_params()
    search = GridSearchCV(clf, {"embedder__margin_between": [0.0, 0.2]}, cv=2,
                          scoring="balanced_accuracy").fit(X, y)
    assert search.best_estimator_.embedder_.margin_between_[0] in (0.0, 0.2)
    fitted_clf = search.best_estimator_
    again = pickle.loads(pickle.dumps(fitted_clf))
    np.testing.assert_array_equal(again.predict_proba(X), fitted_clf.predict_proba(X))
    assert clone(clf).get_params()["embedder"] is not clf.embedder


def test_nested_params_of_the_default_embedder_and_rule():
    clf = CLMLEClassifier()
    params = clf.get_params()
    assert params["embedder"] is None and params["rule"] is None
    assert params["embedder__margin_between"] == "auto"
    assert params["rule__n_neighbors"] == 10
    assert clf.set_params(embedder__margin_between=0.1, rule__n_neighbors=3) is clf
    assert isinstance(clf.embedder, CLMLEEmbedder)
    assert clf.embedder.get_params()["margin_between"] == 0.1
    assert clf.rule.get_params()["n_neighbors"] == 3
    assert clone(CLMLEClassifier()).get_params(deep=False)["embedder"] is None
    # deep params fed back give the same estimator
    again = CLMLEClassifier().set_params(**CLMLEClassifier().get_params())
    assert again.embedder.get_params() == CLMLEEmbedder().get_params()


def test_grid_search_over_the_default_embedders_margin():
    X, y = problem()
    tiny = {f"embedder__{k}": [v] for k, v in TINY.items()}
    search = GridSearchCV(
        CLMLEClassifier(candidates=["rule"], random_state=0),
        {"embedder__margin_between": [0.1, 0.2], **tiny}, cv=2).fit(X, y)
    assert [p["embedder__margin_between"] for p in search.cv_results_["params"]] \
        == [0.1, 0.2]
    best = search.best_estimator_
    assert best.embedder_.margin_between_[0] == search.best_params_[
        "embedder__margin_between"]
    assert best.embedder_.hidden_units == (16,)


@pytest.mark.parametrize("cv, n_splits", [
    (np.float32(0.25), 1), (np.int64(3), 3), (StratifiedKFold(2), 2),
    (StratifiedShuffleSplit(1, test_size=0.3, random_state=0), 1)])
def test_cv_takes_what_scikit_learn_users_pass(cv, n_splits):
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [40, 16, 8])
    splits, refit = resolve_cv(cv, y, rng)
    assert len(splits) == n_splits and refit
    for train, held in splits:
        assert np.intersect1d(train, held).size == 0
        assert set(y[train]) == {0, 1, 2}
    if isinstance(cv, np.floating):  # a share, not int(0.25) == 0 folds
        assert np.bincount(y[splits[0][1]]).tolist() == [10, 4, 2]


def test_cv_iterable_of_pairs_and_a_splitter_fit():
    X, y = problem()
    folds = list(StratifiedKFold(2, shuffle=True, random_state=0).split(X, y))
    clf = CLMLEClassifier(CLMLEEmbedder(**TINY), cv=folds, candidates=["rule"],
                          random_state=0).fit(X, y)
    assert clf.n_splits_ == 2 and clf.refit_embedder_
    clf = CLMLEClassifier(CLMLEEmbedder(**TINY), cv=np.float32(0.3),
                          refit_embedder=False, candidates=["rule"],
                          random_state=0).fit(X, y)
    assert clf.n_splits_ == 1 and not clf.refit_embedder_


def test_same_seed_same_model_and_inputs_untouched():
    X, y = problem()
    X0, y0 = X.copy(), y.copy()
    a = CLMLEClassifier(CLMLEEmbedder(**TINY), random_state=3).fit(X, y)
    b = CLMLEClassifier(CLMLEEmbedder(**TINY), random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_bad_input_is_refused_clearly():
    X, y = problem()
    est = CLMLEClassifier(CLMLEEmbedder(**TINY))
    with pytest.raises(ValueError, match="single-label"):
        est.fit(X, np.eye(3)[np.searchsorted(["a", "b", "c"], y)].astype(int))
    with pytest.raises(ValueError, match="at least two classes"):
        est.fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="unknown candidate"):
        CLMLEClassifier(CLMLEEmbedder(**TINY), candidates=["rules"]).fit(X, y)
    with pytest.raises(ValueError, match="cv"):
        CLMLEClassifier(cv=1).fit(X, y)
    from sklearn_clmle import MetricEmbedder
    with pytest.raises(ValueError, match="head_log_proba"):
        CLMLEClassifier(MetricEmbedder(hidden_units=(8,), embedding_dim=4,
                                       warmup_epochs=1, n_rounds=1, steps_per_round=2),
                        candidates=["softmax"]).fit(X, y)


def test_metric_embedder_without_softmax_head_competes_without_it():
    from sklearn_clmle import MetricEmbedder
    X, y = problem()
    clf = CLMLEClassifier(MetricEmbedder(hidden_units=(8,), embedding_dim=4,
                                         warmup_epochs=1, n_rounds=1,
                                         steps_per_round=2, device="cpu"),
                          random_state=0).fit(X, y)
    assert not any("softmax" in c for c in clf.cv_results_["candidate"])
    assert len(clf.cv_results_["candidate"]) == 3


def test_verbose_announces_every_phase_with_its_caps(capsys):
    X, y = problem()
    clf = CLMLEClassifier(CLMLEEmbedder(**TINY), cv=2, candidates=["rule", "linear"],
                          margin_levels=["auto"], random_state=0, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert not any("\x1b[" in line for line in lines)  # no ANSI colours
    assert clf.embedder_.callbacks is None  # the progress callback was removed
    # a part trains on 47 rows: 2 rounds of 4 steps x 4 clusters x 5 rows
    # = 80 rows = 1.7 passes each, after 2 warm-up epochs
    for k, (n_train, n_held) in enumerate([(47, 48), (48, 47)], start=1):
        label = f"[CLMLEClassifier] part {k}/2 ({n_held} rows held out): "
        start = lines.index(f"{label}fitting the embedder on {n_train} rows: 2 "
                            f"warm-up epochs, then at most 2 rounds of "
                            f"{80 / n_train:.1f} passes")
        assert lines[start + 1].startswith(f"{label}warm-up epoch 1/2, held-out ")
        assert lines[start + 2].startswith(f"{label}warm-up epoch 2/2")
        assert lines[start + 3].startswith(f"{label}round 1/2")
        assert lines[start + 4].startswith(f"{label}round 2/2")
        assert lines[start + 5].startswith(f"{label}embedder fitted in ")
    assert lines[12] == ("[CLMLEClassifier] scoring 2 candidates on 95 held-out "
                         "rows of 2 part(s)")
    assert lines[13].startswith(f"[CLMLEClassifier] selected {clf.selected_!r}: "
                                "pooled held-out balanced accuracy ")
    row = list(clf.cv_results_["candidate"]).index(clf.selected_)
    why = ("(the reference; no candidate beats it by more than 2 standard errors)"
           if clf.cv_results_["reference_candidate"][row] else "over the reference, ")
    assert why in lines[13]
    label = "[CLMLEClassifier] refit on all rows: "
    assert lines[14] == (f"{label}fitting the embedder on 95 rows: 2 warm-up "
                         "epochs, then at most 2 rounds of 0.8 passes")
    assert lines[15:19] == [f"{label}warm-up epoch 1/2", f"{label}warm-up epoch 2/2",
                            f"{label}round 1/2", f"{label}round 2/2"]
    assert lines[19].startswith(f"{label}embedder fitted in ")
    assert lines[20] == (f"[CLMLEClassifier] refit: fitting {clf.selected_!r} on "
                         "the embeddings of all 95 rows")
    assert len(lines) == 21


def test_the_embedders_own_table_has_no_colours_off_a_terminal(capsys):
    X, y = problem()
    CLMLEEmbedder(**TINY, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "round" in out and "\x1b[" not in out


def test_a_rule_without_choose_auto_settings_is_refused_before_any_fit():
    from sklearn.linear_model import LogisticRegression

    X, y = problem()
    with pytest.raises(ValueError, match="'rule' parameter.*choose_auto_settings"):
        CLMLEClassifier(CLMLEEmbedder(**TINY), LogisticRegression()).fit(X, y)
