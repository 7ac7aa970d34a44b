"""The "auto" settings of KNearestClusterClassifier (hold-out selection)."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.metrics import balanced_accuracy_score
from sklearn.neighbors import KNeighborsClassifier

from sklearn_clmle import KNearestClusterClassifier
from sklearn_clmle.neighbors import _auto

PAPER = dict(scale=1.0, aggregate="min", prior_correction=0.0, head="none")


def multimodal(seed=0, n=4000, d=16, n_classes=5, modes=6, ratio=30, n_query=500):
    """Unit-norm classes made of separated modes, long-tailed."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_classes, modes, d))
    share = ratio ** (-np.arange(n_classes) / (n_classes - 1))
    counts = np.maximum(2 * modes, (n * share / share.sum()).astype(int))

    def draw(sizes):
        X, y = [], []
        for c, k in enumerate(sizes):
            X.append(centers[c, rng.integers(modes, size=k)]
                     + 0.15 * rng.normal(size=(k, d)))
            y.append(np.full(k, c))
        X = np.concatenate(X)
        return X / np.linalg.norm(X, axis=1, keepdims=True), np.concatenate(y)

    return draw(counts) + draw(np.full(n_classes, n_query // n_classes))


def test_fixed_settings_are_used_as_given():
    X, y, _, _ = multimodal(n=600)
    clf = KNearestClusterClassifier(cluster_size=20, random_state=0, **PAPER).fit(X, y)
    assert (clf.cluster_size_, clf.scale_, clf.prior_correction_, clf.aggregate_,
            clf.head_, clf.head_C_) == (20, 1.0, 0.0, "min", "none", None)
    assert clf.auto_scores_ is None and clf.head_estimator_ is None


def test_auto_picks_the_best_holdout_setting():
    X, y, _, _ = multimodal(n=800)
    clf = KNearestClusterClassifier(random_state=0).fit(X, y)
    scores = clf.auto_scores_
    chosen = (clf.cluster_size_, clf.scale_, clf.prior_correction_, clf.aggregate_,
              clf.head_, clf.head_C_)
    assert scores[chosen] == max(scores.values())
    sizes = _auto.candidate_cluster_sizes(np.bincount(y))
    rule_alone = [k for k in scores if k[4] == "none"]
    assert len(rule_alone) == (len(sizes) * len(_auto.SCALES)
                               * len(_auto.PRIOR_CORRECTIONS) * len(_auto.AGGREGATES))
    # the heads are scored beside the best rule setting only, for each C
    best_rule = max(rule_alone, key=lambda k: scores[k])[:4]
    heads = {k for k in scores if k[4] != "none"}
    assert {k[:4] for k in heads} == {best_rule}
    assert {k[4:] for k in heads} == {(h, c) for h in ("ensemble", "linear")
                                      for c in (1.0, 10.0)}


def test_fixed_rule_with_auto_head():
    X, y, _, _ = multimodal(n=800)
    clf = KNearestClusterClassifier(cluster_size=20, scale=16.0, prior_correction=1.0,
                                    aggregate="max", random_state=0).fit(X, y)
    assert {k[:4] for k in clf.auto_scores_} == {(20, 16.0, 1.0, "max")}
    assert len(clf.auto_scores_) == 5  # the rule alone, two heads x two C
    if clf.head_ != "none":
        assert clf.head_estimator_.C == clf.head_C_


def test_heads_score_as_documented():
    """ensemble = adjusted head log-probabilities + log rule probabilities;
    linear = the head alone; both match a naive re-computation."""
    from scipy.special import logsumexp

    X, y, Xq, _ = multimodal(n=600, n_query=50)
    base = dict(cluster_size=20, scale=16.0, prior_correction=1.0, aggregate="max",
                head_C=1.0, random_state=0)
    rule = KNearestClusterClassifier(head="none", **base).fit(X, y)
    prior = np.bincount(y) / len(y)
    for head in ("ensemble", "linear"):
        clf = KNearestClusterClassifier(head=head, **base).fit(X, y)
        lr = clf.head_estimator_
        logp = lr.predict_log_proba(Xq) - np.log(prior)
        logp -= logsumexp(logp, axis=1, keepdims=True)
        expected = logp
        if head == "ensemble":
            expected = logp + np.log(np.maximum(rule.predict_proba(Xq), 1e-12))
        np.testing.assert_allclose(clf.decision_function(Xq), expected, rtol=1e-6,
                                   atol=1e-9)
        np.testing.assert_allclose(clf.predict_proba(Xq).sum(1), 1.0)
        assert_array_equal(clf.predict(Xq), expected.argmax(1))


def test_partly_auto_keeps_the_fixed_values():
    X, y, _, _ = multimodal(n=800)
    clf = KNearestClusterClassifier(scale=8.0, aggregate="min", random_state=0).fit(X, y)
    assert clf.scale_ == 8.0 and clf.aggregate_ == "min"
    assert {key[1] for key in clf.auto_scores_} == {8.0}
    assert {key[3] for key in clf.auto_scores_} == {"min"}
    fixed_head = KNearestClusterClassifier(head="none", random_state=0).fit(X, y)
    assert fixed_head.head_ == "none"
    assert {key[4] for key in fixed_head.auto_scores_} == {"none"}


def test_auto_defaults_handle_multimodal_long_tail():
    # the paper's unit temperature counts retrieved clusters, so the head wins;
    # "auto" must come close to instance k-NN while searching clusters
    X, y, Xq, yq = multimodal()
    knn = balanced_accuracy_score(yq, KNeighborsClassifier(10).fit(X, y).predict(Xq))
    paper = KNearestClusterClassifier(cluster_size=50, random_state=0, **PAPER)
    auto = KNearestClusterClassifier(random_state=0).fit(X, y)
    paper_bacc = balanced_accuracy_score(yq, paper.fit(X, y).predict(Xq))
    auto_bacc = balanced_accuracy_score(yq, auto.predict(Xq))
    assert auto_bacc >= knn - 0.02
    assert auto_bacc > paper_bacc + 0.1
    assert auto.cluster_size_ > 1


def test_single_samples_fall_back_to_documented_values():
    X = np.eye(3) + 0.1
    clf = KNearestClusterClassifier(random_state=0).fit(X, [0, 1, 2])
    fallback = _auto.FALLBACK
    assert (clf.cluster_size_, clf.scale_, clf.prior_correction_, clf.aggregate_,
            clf.head_) == (fallback["cluster_size"], fallback["scale"],
                           fallback["prior_correction"], fallback["aggregate"], "none")
    assert clf.auto_scores_ is None
    assert_array_equal(clf.predict(X), [0, 1, 2])


@pytest.mark.parametrize("counts, expected", [
    ([30, 12, 5], [10, 1, 3, 30]),     # sizes above the largest class dropped
    ([200_000, 1000], [100, 300]),  # at most max(2000, n / 50) centroids
    ([3000, 300], [10, 3, 30, 100, 300]),  # size 1: 3,300 > 2,000 centroids
])
def test_candidate_cluster_sizes(counts, expected):
    assert _auto.candidate_cluster_sizes(counts) == expected


def test_cv_splits_small_data_are_stratified_folds():
    y = np.repeat([0, 1, 2, 3], [40, 9, 2, 1])
    splits = _auto.cv_splits(y, np.random.RandomState(0))
    assert len(splits) == _auto.N_FOLDS
    held = np.concatenate([h for _, h in splits])
    # every sample of a class with two or more is held out exactly once
    assert_array_equal(np.sort(held), np.flatnonzero(y != 3))
    for train, h in splits:
        assert np.intersect1d(train, h).size == 0
        assert_array_equal(np.sort(np.r_[train, h]), np.arange(len(y)))
        assert_array_equal(np.unique(y[train]), [0, 1, 2, 3])  # all classes train
        assert np.bincount(y[h], minlength=4)[0] == 10


def test_cv_splits_large_data_is_one_holdout():
    y = np.repeat([0, 1], [_auto.SMALL_N, 10])
    splits = _auto.cv_splits(y, np.random.RandomState(0))
    assert len(splits) == 1
    assert np.bincount(y[splits[0][1]]).tolist() == [1250, 2]


def test_auto_scores_are_pooled_out_of_fold_accuracies():
    """The score of a setting is the balanced accuracy of the pooled fold
    predictions of a rule fitted on each fold's training part: a naive
    re-computation on the same folds (fit draws them first from its
    random state), with its own (fixed, so that the test is deterministic)
    k-means seeds, so within a tolerance."""
    X, y, _, _ = multimodal(n=300, d=8)
    clf = KNearestClusterClassifier(cluster_size=10, scale=16.0, aggregate="max",
                                    prior_correction=1.0, head="auto", head_C=1.0,
                                    random_state=0).fit(X, y)
    splits = _auto.cv_splits(y, np.random.RandomState(0))
    preds, truth = [], []
    for train, held in splits:
        ref = KNearestClusterClassifier(cluster_size=10, scale=16.0, aggregate="max",
                                        prior_correction=1.0, head="none",
                                        random_state=1)
        ref.fit(X[train], y[train])
        preds.append(ref.predict(X[held]))
        truth.append(y[held])
    naive = balanced_accuracy_score(np.concatenate(truth), np.concatenate(preds))
    assert clf.auto_scores_[10, 16.0, 1.0, "max", "none", None] == pytest.approx(
        naive, abs=0.05)


def test_choose_auto_settings_on_given_parts_is_what_fit_chooses():
    """The public search on the folds ``fit`` draws (the same random state,
    consumed in the same order) gives the settings ``fit`` resolved."""
    X, y, _, _ = multimodal(n=300, d=8)
    labels = np.array(["p", "q", "r", "s", "t", "u"])[y]
    clf = KNearestClusterClassifier(random_state=0).fit(X, labels)
    rng = np.random.RandomState(0)
    parts = [(X[tr], labels[tr], X[he], labels[he])
             for tr, he in _auto.cv_splits(y, rng)]
    unfitted = KNearestClusterClassifier()
    params = unfitted.choose_auto_settings(parts, labels, random_state=rng)
    assert params == {"cluster_size": clf.cluster_size_, "scale": clf.scale_,
                      "prior_correction": clf.prior_correction_,
                      "aggregate": clf.aggregate_, "head": clf.head_,
                      **({} if clf.head_ == "none" else {"head_C": clf.head_C_})}
    assert not hasattr(unfitted, "classes_")  # nothing fitted
    fixed = KNearestClusterClassifier(scale=8.0, head="none").choose_auto_settings(
        parts, labels, random_state=0)
    assert fixed["scale"] == 8.0 and fixed["head"] == "none" and "head_C" not in fixed
    with pytest.raises(ValueError, match="'scale' parameter of KNearestClusterClassifier"):
        KNearestClusterClassifier(scale=-1.0).choose_auto_settings(parts, labels)
    with pytest.raises(ValueError, match="labels that y does not have"):
        unfitted.choose_auto_settings([(X, labels, X, labels)], labels[labels != "p"])
