"""Resolution of ``KNearestClusterClassifier``'s ``"auto"`` settings (private).

The temperature, the prior correction, the cluster size and the aggregate
that suit one set of features do not suit another (cosines of raw pixels,
of a trained embedding, of a multi-modal table).  ``"auto"`` chooses them on
held-out predictions of the training data: up to 5,000 rows, those of 4
stratified folds, pooled; above, those of one stratified hold-out split.
The classifier is fitted on the other rows with each candidate cluster size,
the retrieved centroids of the held-out rows are scored under every
candidate temperature, prior correction and aggregate, and the setting of
highest balanced accuracy wins (the first in the candidates' order on a
tie).  The final classifier is then fitted on
all the training data with the chosen setting.
"""

import numpy as np

from ..utils._scores import balanced_accuracy
from ..utils._splits import stratified_folds, stratified_holdout
from . import _head, _scoring
from ._clusters import cluster_classes

# Candidate values, in order of preference on a tie (first wins).
SCALES = (16.0, 32.0, 8.0, 64.0, 4.0)
PRIOR_CORRECTIONS = (1.0, 0.5, 0.0, 2.0)
AGGREGATES = ("max", "min")
CLUSTER_SIZES = (10, 1, 3, 30, 100, 300)

# "auto" never searches more centroids than this (or than 2 % of the
# training samples, whichever is larger): the rule stays a search over
# clusters, not over samples, on large data, and the hold-out fits stay
# affordable (equal-size k-means costs grow with the number of clusters).
MAX_CENTROIDS = 2000
CENTROID_SHARE = 50

# k-means iterations of the hold-out fits (the final fit uses 300).
MAX_ITER = 20

# Up to this many samples, folds instead of one hold-out split.
SMALL_N = 5000
N_FOLDS = 4

# Hold-out: this share of each class (at least one sample of every class
# with two or more), at most this many rows in all.
HOLDOUT_SHARE = 0.25
MAX_HOLDOUT = 5000

# Without a hold-out (too few samples) these documented values are used.
FALLBACK = dict(scale=16.0, prior_correction=1.0, aggregate="max", cluster_size=1)


def candidate_cluster_sizes(class_counts):
    """Cluster sizes that "auto" may choose for these class sizes.

    A size is a candidate when it keeps the number of centroids
    ``sum_c max(1, n_c // size)`` within ``max(MAX_CENTROIDS, n / 50)``;
    sizes larger than the largest class are dropped (they all give one
    cluster per class, as does the largest remaining one).
    """
    counts = np.asarray(class_counts)
    n = counts.sum()
    limit = max(MAX_CENTROIDS, n // CENTROID_SHARE)
    out = []
    for size in sorted(CLUSTER_SIZES):
        n_centroids = np.maximum(1, counts // size).sum()
        if n_centroids > limit:
            continue
        out.append(size)
        if size >= counts.max():
            break
    if not out:  # every candidate exceeds the limit: the largest one
        out = [max(CLUSTER_SIZES)]
    order = {s: i for i, s in enumerate(CLUSTER_SIZES)}
    return sorted(out, key=order.get)


def cv_splits(y_idx, rng):
    """The (train, held-out) splits the "auto" settings are scored on.

    Up to ``SMALL_N`` samples: ``N_FOLDS`` stratified folds (the samples of
    each class with two or more are dealt to the folds in turn, so every
    class keeps a sample in every training part), scored on the pooled
    out-of-fold predictions; a hold-out of a quarter is too few samples of
    the rare classes there.  Above: one ``holdout_split``.  ``None`` when no
    class has two samples.
    """
    if y_idx.shape[0] > SMALL_N:
        split = stratified_holdout(y_idx, HOLDOUT_SHARE, rng, MAX_HOLDOUT)
        return None if split is None else [split]
    return stratified_folds(y_idx, N_FOLDS, rng) or None


def predict_grid(sims, cluster_class, log_prior, n_classes, scales,
                 prior_corrections, aggregates):
    """Predicted class of every held-out row under every (scale, prior
    correction, aggregate): a dict of arrays.

    ``sims`` / ``cluster_class``: the retrieved centroids of the held-out
    rows (see ``CentroidIndex.query``).
    """
    n_q = sims.shape[0]
    out = {}
    for aggregate in aggregates:
        for scale in scales:
            rows, classes, scores = _scoring.segment_scores(
                sims, cluster_class, n_classes, scale, aggregate)
            for tau in prior_corrections:
                out[scale, tau, aggregate] = _scoring.best_class(
                    rows, classes, scores - tau * log_prior[classes], n_q)
    return out


def _position(value, candidates):
    return candidates.index(value) if value in candidates else -1


def best_setting(results):
    """The highest-scoring ``(cluster_size, scale, prior_correction,
    aggregate)``; ties go to the earliest candidates."""
    def key(setting):
        size, scale, tau, agg = setting
        return (-round(results[setting], 12), _position(size, CLUSTER_SIZES),
                _position(scale, SCALES), _position(tau, PRIOR_CORRECTIONS),
                _position(agg, AGGREGATES))
    return min(results, key=key)


def best_with_head(scores, rule_setting, head):
    """Best of the rule alone (``rule_setting``) and the heads scored beside
    it: ``scores`` keyed by ``rule_setting + (head, C)``.  On a tie the rule
    alone wins, then "ensemble", then "linear", then the smaller ``C``.
    With a fixed ``head`` other than "none", only that head competes."""
    order = ("none", "ensemble", "linear")
    keys = [k for k in scores if k[:4] == tuple(rule_setting)
            and (head == "auto" or k[4] == head)]
    return min(keys, key=lambda k: (-round(scores[k], 12), order.index(k[4]),
                                    k[5] or 0.0))


def resolve(est, X, y_idx, rng):
    """The setting ``(cluster_size, scale, prior_correction, aggregate,
    head, head_C)`` of the ``KNearestClusterClassifier`` ``est`` for the
    validated, unit-norm ``X`` and encoded ``y_idx`` (two classes or more):
    its parameters, with the ``"auto"`` ones chosen on held-out predictions
    (``cv_splits``); returned with the scores of every candidate (``None``
    when nothing was chosen).  Only ``est``'s parameters are read.
    """
    rule = (est.cluster_size, est.scale, est.prior_correction, est.aggregate)
    head = est.head
    splits = None
    if any(p == "auto" for p in rule) or head == "auto" or (
            head != "none" and est.head_C == "auto"):
        splits = cv_splits(y_idx, rng)
    if splits is None:
        names = ("cluster_size", "scale", "prior_correction", "aggregate")
        rule = tuple(FALLBACK[name] if value == "auto" else value
                     for name, value in zip(names, rule))
        head = "none" if head == "auto" else head
        C = est.head_C if est.head_C != "auto" else _head.FALLBACK_C
        return rule + (head, None if head == "none" else C), None
    parts = [(X[train], y_idx[train], X[held], y_idx[held])
             for train, held in splits]
    return search(est, parts, np.bincount(y_idx), rng)


def search(est, parts, class_counts, rng):
    """Choose ``est``'s ``"auto"`` settings on held-out rows: ``parts`` is a
    list of ``(X_train, y_train, X_held, y_held)`` (unit-norm features,
    encoded labels; the features of different parts may come from different
    embeddings, e.g. ``CLMLEClassifier``'s cross-fitted embedders), scored on
    the pooled held-out predictions.  ``class_counts``: the training set's
    class sizes (the candidate cluster sizes, and the prior of the prior
    correction and of the head's logit adjustment).  Only ``est``'s
    parameters are read.  Returns the best setting ``(cluster_size, scale,
    prior_correction, aggregate, head, head_C)`` and the scores of every
    candidate."""
    class_counts = np.asarray(class_counts)
    n_classes = len(class_counts)
    head = est.head
    log_prior = np.log(class_counts / class_counts.sum())
    y_held = np.concatenate([part[3] for part in parts])

    def candidates(value, auto):
        return auto if value == "auto" else (value,)

    def score(predictions):  # pooled over the splits
        return balanced_accuracy(y_held, np.concatenate(predictions))

    sizes = (candidate_cluster_sizes(class_counts)
             if est.cluster_size == "auto" else [est.cluster_size])
    scales = candidates(est.scale, SCALES)
    taus = candidates(est.prior_correction, PRIOR_CORRECTIONS)
    aggregates = candidates(est.aggregate, AGGREGATES)
    predictions, retrieved = {}, {}
    for size in sizes:
        for i, (X_train, y_train, X_held, _) in enumerate(parts):
            centers, owners, _ = cluster_classes(
                X_train, y_train, size, rng, MAX_ITER, est.algorithm)
            index = _scoring.CentroidIndex(centers, est.algorithm, est.n_neighbors)
            idx, sims = index.query(X_held, min(est.n_neighbors,
                                                centers.shape[0]))
            retrieved[size, i] = (sims, owners[idx])
            grid = predict_grid(sims, owners[idx], log_prior, n_classes,
                                scales, taus, aggregates)
            for (scale, tau, agg), pred in grid.items():
                predictions.setdefault((size, scale, tau, agg), []).append(pred)
    results = {key: score(preds) for key, preds in predictions.items()}
    best = best_setting(results)
    scores = {key + ("none", None): value for key, value in results.items()}
    heads = _head.HEADS[1:] if head == "auto" else (
        () if head == "none" else (head,))
    if not heads:
        return best + ("none", None), scores
    Cs = _head.C_VALUES if est.head_C == "auto" else (est.head_C,)
    per_C = _head.held_out_log_probas(parts, [log_prior] * len(parts),
                                      n_classes, Cs)
    head_preds = {}
    size, scale, tau, agg = best
    for i, (_, _, X_held, _) in enumerate(parts):
        sims, owner_idx = retrieved[size, i]
        rows, classes, rule_scores = _scoring.segment_scores(
            sims, owner_idx, n_classes, scale, agg)
        floor = _scoring.floor_score(scale, sims.shape[1])
        dense = _scoring.dense_scores(
            rows, classes, rule_scores - tau * log_prior[classes],
            X_held.shape[0], n_classes, floor)
        for C in Cs:
            for name in heads:
                head_preds.setdefault(best + (name, C), []).append(
                    _head.combine(name, dense, floor, per_C[C][i]).argmax(1))
    scores.update({key: score(preds) for key, preds in head_preds.items()})
    return best_with_head(scores, best, head), scores
