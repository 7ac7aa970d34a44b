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

Selection (``selected_index``) is a standard-error rule: the reference, the
product of the most experts (``"rule + linear + softmax"`` by default), is
kept unless a candidate's pooled held-out balanced accuracy beats it by more
than ``GAIN_SE`` paired standard errors (``gain_se``: both are scored on the
same rows).  With a few dozen held-out rows the best of seven candidates is
mostly the luckiest, and a product of experts errs less than its members on
average; with thousands of rows a real difference clears the bar.
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
# a candidate replaces the reference when it beats it by more than this many
# paired standard errors (two: a one-sided test at about 2.5 %, as seven
# candidates are compared on the same rows)
GAIN_SE = 2.0


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


def gain_se(y, hits, reference_hits):
    """Standard error of ``balanced_accuracy(hits) - balanced_accuracy(
    reference_hits)`` when both are scored on the same rows of labels ``y``
    (``hits``: bool, a row predicted right): the balanced accuracy is the
    mean of the classes' recalls, so the difference is the mean over the
    classes of the mean paired difference of their rows, whose variance is
    ``sum_c var_c / n_c / C**2`` (a class of one row adds none)."""
    classes = np.unique(y)
    var = 0.0
    for c in classes:
        diff = hits[y == c].astype(np.float64) - reference_hits[y == c]
        if len(diff) > 1:
            var += diff.var(ddof=1) / len(diff)
    return float(np.sqrt(var) / len(classes))


def add_gains(results, hits, pooled_y):
    """Add ``reference_candidate``, ``pooled_test_gain`` and
    ``pooled_test_gain_se`` to ``results`` (rows in the order of ``hits``,
    each row's pooled held-out hits): the reference is the candidate of the
    most experts (of those, the best pooled score; then the earliest row);
    each row's gain is its pooled score minus the reference's, with its
    paired standard error (``gain_se``)."""
    size = [len(parse(name)) for name in results["candidate"]]
    pooled = results["pooled_test_score"]
    ref = min(range(len(size)), key=lambda i: (-size[i], -round(pooled[i], 12), i))
    results["reference_candidate"] = np.array(
        [i == ref for i in range(len(size))], dtype=bool)
    results["pooled_test_gain"] = pooled - pooled[ref]
    results["pooled_test_gain_se"] = np.array(
        [gain_se(pooled_y, h, hits[ref]) for h in hits])
    return results


def selected_index(results):
    """The row of ``results`` that is selected: the best-ranked of those
    whose gain over the reference exceeds ``GAIN_SE`` standard errors, or
    the reference."""
    beats = results["pooled_test_gain"] > GAIN_SE * results["pooled_test_gain_se"]
    if beats.any():
        rows = np.flatnonzero(beats)
        return int(rows[np.argmin(results["rank_test_score"][rows])])
    return int(np.flatnonzero(results["reference_candidate"])[0])


def describe(results, row):
    """Why row ``row`` of ``results`` is selected, for the verbose log: its
    pooled held-out balanced accuracy, and its gain over the reference with
    the standard error, or that nothing cleared the bar."""
    text = ("pooled held-out balanced accuracy "
            f"{results['pooled_test_score'][row]:.3f}")
    if results["reference_candidate"][row]:
        return text + (f" (the reference; no candidate beats it by more than "
                       f"{GAIN_SE:g} standard errors)")
    return text + (f" ({results['pooled_test_gain'][row]:+.3f} over the reference, "
                   f"standard error {results['pooled_test_gain_se'][row]:.3f})")


def cv_results(candidates, y_held):
    """``(cv_results_, hits)`` of ``candidates`` (``(name, held-out
    log-probabilities a part, params, preference)``; on a tie the lower
    ``preference`` ranks first) against the held-out labels of every part
    (``y_held``); ``hits``: each candidate's pooled held-out rows predicted
    right (a row per candidate), for ``add_gains``."""
    pooled_y = np.concatenate(y_held)
    rows, hits = [], []
    for name, per_part, params, preference in candidates:
        preds = [lp.argmax(1) for lp in per_part]
        split_scores = [balanced_accuracy(y, pred) for y, pred in zip(y_held, preds)]
        hits.append(np.concatenate(preds) == pooled_y)
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
    return add_gains(results, hits, pooled_y), hits


def merge_levels(results, levels, hits, pooled_y):
    """One ``cv_results_`` of several margin levels' (``results[i]`` and
    ``hits[i]`` of ``levels[i]``, all on the same held-out rows, labels
    ``pooled_y``): their rows in order, a ``margin_level`` column (also in
    ``params``), ranked together by the pooled score (a tie keeps the level
    order, then the candidates' order of preference), the gains against one
    reference for all levels."""
    merged = {"margin_level": np.array(
        [lv for r, lv in zip(results, levels) for _ in r["candidate"]], dtype=object)}
    gains = ("rank_test_score", "reference_candidate", "pooled_test_gain",
             "pooled_test_gain_se")
    for key in results[0]:
        if key == "params":
            merged[key] = [dict(p, margin_level=lv) for r, lv in zip(results, levels)
                           for p in r[key]]
        elif key not in gains:
            merged[key] = np.concatenate([r[key] for r in results])
    pooled = merged["pooled_test_score"]
    order = sorted(range(len(pooled)), key=lambda i: (-round(pooled[i], 12), i))
    ranks = np.empty(len(pooled), dtype=np.int32)
    ranks[order] = np.arange(1, len(pooled) + 1)
    merged["rank_test_score"] = ranks
    return add_gains(merged, [h for level in hits for h in level], pooled_y)
