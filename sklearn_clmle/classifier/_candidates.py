"""The candidates ``CLMLEClassifier`` compares on held-out rows (private).

Three parts give log-probabilities over the classes of an embedded row:

* ``"rule"``: the k-nearest-cluster rule (Eq. 10), ``KNearestClusterClassifier``
  with the settings chosen on the held-out embeddings, its probabilities
  floored at ``PROBA_FLOOR`` (a class it did not retrieve keeps a finite,
  very low score);
* ``"linear"``: a multinomial logistic regression on the embeddings with
  post-hoc logit adjustment (its log-probabilities minus the log priors);
* ``"softmax"``: the embedder's own logit-adjusted softmax head
  (``CLMLEEmbedder.head_log_proba``).

A candidate is one part or a sum of parts' log-probabilities (a product of
experts), renormalised.  ``CANDIDATES`` is their order of preference on a
tie (the paper's rule first, then the simplest).
"""

import numpy as np
from scipy.special import logsumexp

PARTS = ("rule", "linear", "softmax")
CANDIDATES = (
    ("rule",),
    ("rule", "linear"),
    ("linear",),
    ("softmax",),
    ("rule", "softmax"),
    ("linear", "softmax"),
    ("rule", "linear", "softmax"),
)
PROBA_FLOOR = 1e-12


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


def rule_log_proba(rule, Z):
    """Floored log-probabilities of a fitted rule (``head="none"``)."""
    return np.log(np.maximum(rule.predict_proba(Z), PROBA_FLOOR))


def combine(log_probas, candidate):
    """The renormalised sum of the parts' log-probabilities."""
    total = sum(log_probas[p] for p in candidate)
    return total - logsumexp(total, axis=1, keepdims=True)


def balanced_accuracy(y_true, y_pred, n_classes):
    """Mean recall over the classes present in ``y_true``."""
    support = np.bincount(y_true, minlength=n_classes)
    hits = np.bincount(y_true[y_true == y_pred], minlength=n_classes)
    present = support > 0
    return float(np.mean(hits[present] / support[present]))


def rule_columns(rule, Z, n_classes):
    """The rule's floored log-probabilities in the columns of the encoded
    classes (a rule fitted on encoded labels may lack some)."""
    out = np.full((Z.shape[0], n_classes), np.log(PROBA_FLOOR))
    out[:, np.asarray(rule.classes_, dtype=int)] = rule_log_proba(rule, Z)
    return out - logsumexp(out, axis=1, keepdims=True)


def cv_results(chosen, parts, y_idx, n_classes, rule_params, linear_C):
    """``CLMLEClassifier.cv_results_`` of the candidates ``chosen`` from the
    parts' held-out log-probabilities (``part["log_proba"]``)."""
    y_held = np.concatenate([y_idx[p["held"]] for p in parts])
    rows = []
    for cand in chosen:
        preds = [combine(p["log_proba"], cand).argmax(1)
                 for p in parts]
        split_scores = [balanced_accuracy(
            y_idx[p["held"]], pred, n_classes) for p, pred in zip(parts, preds)]
        pooled = balanced_accuracy(y_held, np.concatenate(preds),
                                               n_classes)
        params = {}
        if "rule" in cand:
            params.update(rule_params)
        if "linear" in cand:
            params["linear_C"] = linear_C
        rows.append((cand, params, split_scores, pooled))
    # rank by the pooled score; ties keep the order of preference
    order = sorted(range(len(rows)), key=lambda i: (-round(rows[i][3], 12),
                                                     CANDIDATES.index(rows[i][0])))
    ranks = np.empty(len(rows), dtype=np.int32)
    ranks[order] = np.arange(1, len(rows) + 1)
    results = {
        "candidate": np.array([name_of(r[0]) for r in rows], dtype=object),
        "params": [r[1] for r in rows],
    }
    for k in range(len(parts)):
        results[f"split{k}_test_score"] = np.array([r[2][k] for r in rows])
    split = np.array([r[2] for r in rows])
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
