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

from . import _scoring

HEADS = ("none", "ensemble", "linear")
# Candidates of "auto", in order of preference on a tie.
C_VALUES = (1.0, 10.0)
FALLBACK_C = 1.0
# Rule probabilities below this count as this in the ensemble (a class the
# rule did not retrieve keeps a finite, very low score).
PROBA_FLOOR = 1e-12


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


def combine(head, rule_scores, floor, head_log_proba):
    """Scores of ``head`` ("ensemble" or "linear") from the rule's dense
    scores and the head's adjusted log-probabilities."""
    if head == "linear":
        return head_log_proba
    rule = _scoring.softmax_over_present(rule_scores, floor)
    return head_log_proba + np.log(np.maximum(rule, PROBA_FLOOR))
