"""The candidates ``CLMLEClassifier`` compares on held-out rows (private).

Three experts give log-probabilities over the classes of an embedded row,
each with its settings chosen on the held-out rows of all parts:

* ``"rule"``: the k-nearest-cluster rule (Eq. 10), ``KNearestClusterClassifier``
  with its ``"auto"`` settings chosen by ``choose_auto_settings``, its
  probabilities floored at ``utils._scores.PROBA_FLOOR`` (a class it did not
  retrieve keeps a finite, very low score);
* ``"linear"``: a multinomial logistic regression on the embeddings with
  post-hoc logit adjustment (``neighbors._head``), ``C`` chosen there too;
* ``"softmax"``: the embedder's own logit-adjusted softmax head
  (``CLMLEEmbedder.head_log_proba``).

A candidate is one expert or a sum of experts' log-probabilities (a product
of experts), renormalised (``combine``).  ``CANDIDATES`` is their order of
preference on a tie (the paper's rule first, then the simplest).
``cv_results`` ranks any list of named held-out log-probabilities, so other
axes (several embedder settings per part) add entries, not code.
"""

import numpy as np
from scipy.special import logsumexp
from sklearn.base import clone

from ..neighbors import _head
from ..utils._scores import PROBA_FLOOR, balanced_accuracy, floored_log

CANDIDATES = (
    ("rule",),
    ("rule", "linear"),
    ("linear",),
    ("softmax",),
    ("rule", "softmax"),
    ("linear", "softmax"),
    ("rule", "linear", "softmax"),
)
RULE_PARAMS = ("cluster_size", "scale", "prior_correction", "aggregate")


def name_of(candidate):
    """``("rule", "linear")`` -> ``"rule + linear"``."""
    return " + ".join(candidate)


def parse(name):
    """``"rule + linear"`` -> ``("rule", "linear")`` (a known candidate)."""
    parts = tuple(p.strip() for p in name.split("+"))
    if parts not in CANDIDATES:
        known = ", ".join(repr(name_of(c)) for c in CANDIDATES)
        raise ValueError(f"unknown candidate {name!r}; expected one of {known}.")
    return parts


def combine(log_probas, candidate):
    """The renormalised sum of the experts' log-probabilities."""
    total = sum(log_probas[p] for p in candidate)
    return total - logsumexp(total, axis=1, keepdims=True)


def rule_columns(rule, Z, n_classes):
    """The rule's floored log-probabilities in the columns of the encoded
    classes (a rule fitted on encoded labels may lack some)."""
    out = np.full((Z.shape[0], n_classes), np.log(PROBA_FLOOR))
    out[:, np.asarray(rule.classes_, dtype=int)] = floored_log(rule.predict_proba(Z))
    return out - logsumexp(out, axis=1, keepdims=True)


def fit_rule(rule, params, Z, y_idx, seed):
    """A clone of ``rule`` (its ``random_state`` ``seed`` where it had none)
    with the chosen ``params``, no head, fitted on ``Z``."""
    rule = clone(rule)
    if rule.get_params(deep=False).get("random_state", 0) is None:
        rule.set_params(random_state=seed)
    return rule.set_params(head="none", **params).fit(Z, y_idx)


def log_prior(y_idx, n_classes):
    """Log class shares of the encoded labels ``y_idx``."""
    return np.log(np.bincount(y_idx, minlength=n_classes) / len(y_idx))


def held_out(experts, parts, y_idx, n_classes, rule, rng, seed):
    """Each of ``experts``' log-probabilities of every part's held-out rows,
    with the settings chosen on those rows: ``({name: [one array a part]},
    rule_params, linear_C)``.  ``parts``: ``_crossfit.Part``s."""
    out, rule_params, linear_C = {}, dict.fromkeys(RULE_PARAMS), None
    if "rule" in experts:
        chosen = clone(rule).set_params(head="none").choose_auto_settings(
            [(p.Z_train, y_idx[p.train], p.Z_held, y_idx[p.held]) for p in parts],
            y_idx, random_state=rng)
        rule_params = {k: chosen[k] for k in RULE_PARAMS}
        out["rule"] = [rule_columns(fit_rule(rule, rule_params, p.Z_train,
                                             y_idx[p.train], seed), p.Z_held, n_classes)
                       for p in parts]
    if "linear" in experts:
        per_C = _head.held_out_log_probas(
            [(p.Z_train, y_idx[p.train], p.Z_held) for p in parts],
            [log_prior(y_idx[p.train], n_classes) for p in parts], n_classes)
        linear_C = _head.best_C(per_C, np.concatenate([y_idx[p.held] for p in parts]))
        out["linear"] = per_C[linear_C]
    if "softmax" in experts:
        out["softmax"] = [p.softmax for p in parts]
    return out, rule_params, linear_C


def entries(chosen, log_probas, rule_params, linear_C):
    """``(name, held-out log-probabilities a part, params, preference)`` of
    every candidate in ``chosen``, for ``cv_results`` (``preference``: its
    place in ``CANDIDATES``)."""
    out = []
    for cand in chosen:
        params = {}
        if "rule" in cand:
            params.update(rule_params)
        if "linear" in cand:
            params["linear_C"] = linear_C
        per_part = [combine(dict(zip(log_probas, split)), cand)
                    for split in zip(*log_probas.values())]
        out.append((name_of(cand), per_part, params, CANDIDATES.index(cand)))
    return out


def cv_results(candidates, y_held):
    """``CLMLEClassifier.cv_results_`` of ``candidates`` (``(name, held-out
    log-probabilities a part, params, preference)``; on a tie the lower
    ``preference`` ranks first) against the held-out labels of every part
    (``y_held``)."""
    pooled_y = np.concatenate(y_held)
    rows = []
    for name, per_part, params, preference in candidates:
        preds = [lp.argmax(1) for lp in per_part]
        split_scores = [balanced_accuracy(y, pred) for y, pred in zip(y_held, preds)]
        rows.append((name, params, split_scores,
                     balanced_accuracy(pooled_y, np.concatenate(preds)), preference))
    # rank by the pooled score; ties keep the order of preference
    order = sorted(range(len(rows)), key=lambda i: (-round(rows[i][3], 12), rows[i][4]))
    ranks = np.empty(len(rows), dtype=np.int32)
    ranks[order] = np.arange(1, len(rows) + 1)
    results = {"candidate": np.array([r[0] for r in rows], dtype=object),
               "params": [r[1] for r in rows]}
    split = np.array([r[2] for r in rows])
    for k in range(len(y_held)):
        results[f"split{k}_test_score"] = split[:, k]
    results["mean_test_score"] = split.mean(axis=1)
    results["std_test_score"] = split.std(axis=1)
    results["pooled_test_score"] = np.array([r[3] for r in rows])
    results["rank_test_score"] = ranks
    return results


def merge_levels(results, levels):
    """One ``cv_results_`` of several margin levels' (``results[i]`` of
    ``levels[i]``): their rows in order, a ``margin_level`` column (also in
    ``params``), ranked together by the pooled score; a tie keeps the level
    order, then the candidates' order of preference."""
    merged = {"margin_level": np.array(
        [lv for r, lv in zip(results, levels) for _ in r["candidate"]], dtype=object)}
    for key in results[0]:
        if key == "params":
            merged[key] = [dict(p, margin_level=lv) for r, lv in zip(results, levels)
                           for p in r[key]]
        elif key != "rank_test_score":
            merged[key] = np.concatenate([r[key] for r in results])
    pooled = merged["pooled_test_score"]
    order = sorted(range(len(pooled)), key=lambda i: (-round(pooled[i], 12), i))
    ranks = np.empty(len(pooled), dtype=np.int32)
    ranks[order] = np.arange(1, len(pooled) + 1)
    merged["rank_test_score"] = ranks
    return merged
