"""The decoupled linear head of ``KNearestClusterClassifier`` (private).

A multinomial logistic regression fitted on the unit-norm features, with
post-hoc logit adjustment (Menon et al., 2021): its log-probabilities minus
the log class priors, renormalised.  It is "decoupled" in the sense of Kang
et al. (2020): trained on fixed features, e.g. a ``CLMLEEmbedder``'s
embeddings.  ``combine`` puts it beside the k-nearest-cluster rule.
"""

import numpy as np
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression

from ..utils._scores import balanced_accuracy, floored_log
from . import _scoring

HEADS = ("none", "ensemble", "linear")
# Candidates of "auto", in order of preference on a tie.
C_VALUES = (1.0, 10.0)
FALLBACK_C = 1.0


def fit(X, y_idx, C):
    """The logistic regression of the head on unit-norm ``X``."""
    return LogisticRegression(C=C, max_iter=1000).fit(X, y_idx)


def adjusted_log_proba(model, X, log_prior, n_classes):
    """``(n, n_classes)`` log-probabilities with the log priors subtracted
    and renormalised; classes the model never saw get ``-inf``."""
    out = np.full((X.shape[0], n_classes), -np.inf)
    out[:, model.classes_] = (model.predict_log_proba(X)
                              - log_prior[model.classes_])
    return out - logsumexp(out, axis=1, keepdims=True)


def held_out_log_probas(parts, log_priors, n_classes, Cs=C_VALUES):
    """``{C: [adjusted log-probabilities of the held-out rows of each
    part]}``: the head fitted with every ``C`` on the training rows of each
    part ``(X_train, y_train, X_held, ...)``, adjusted by that part's
    ``log_priors[i]``.  ``KNearestClusterClassifier``'s ``"auto"`` head and
    ``CLMLEClassifier``'s ``"linear"`` candidate are both chosen on these."""
    out = {C: [] for C in Cs}
    for (X_train, y_train, X_held, *_), log_prior in zip(parts, log_priors):
        for C in Cs:
            out[C].append(adjusted_log_proba(fit(X_train, y_train, C), X_held,
                                             log_prior, n_classes))
    return out


def best_C(per_C, y_held):
    """The ``C`` of ``held_out_log_probas`` whose predictions of all parts'
    held-out rows (``y_held``, pooled) have the highest balanced accuracy;
    the first on a tie."""
    scores = [balanced_accuracy(y_held, np.concatenate(
        [log_proba.argmax(1) for log_proba in per_C[C]])) for C in per_C]
    return list(per_C)[int(np.argmax(scores))]


def combine(head, rule_scores, floor, head_log_proba):
    """Scores of ``head`` ("ensemble" or "linear") from the rule's dense
    scores and the head's adjusted log-probabilities."""
    if head == "linear":
        return head_log_proba
    rule = _scoring.softmax_over_present(rule_scores, floor)
    return head_log_proba + floored_log(rule)
