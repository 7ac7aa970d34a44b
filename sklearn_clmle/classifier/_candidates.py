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
