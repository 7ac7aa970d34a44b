"""Held-out scores and probabilities shared by the classifiers (private):
the balanced accuracy that chooses every ``"auto"`` setting and candidate,
and the floor under probabilities whose logarithm is taken."""

import warnings

import numpy as np
from sklearn.metrics import balanced_accuracy_score

# Probabilities below this count as this where their log is taken (a class
# the k-nearest-cluster rule did not retrieve keeps a finite, very low score).
PROBA_FLOOR = 1e-12


def floored_log(proba):
    """``log(max(proba, PROBA_FLOOR))``."""
    return np.log(np.maximum(proba, PROBA_FLOOR))


def balanced_accuracy(y_true, y_pred):
    """scikit-learn's ``balanced_accuracy_score``: the mean recall over the
    classes present in ``y_true``.  A held-out part may lack a class that is
    predicted; scikit-learn's warning about it is silenced (the class is
    left out of the mean, as intended)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(y_true, y_pred))
