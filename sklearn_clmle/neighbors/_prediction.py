"""Prediction methods of ``KNearestClusterClassifier`` (private): the
rule's scores, probabilities and classes, per label for multi-label ``y``."""

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.validation import check_is_fitted

from ..utils._docs import fill_doc
from ..utils._validation import validate_float_csr
from . import _scoring


@fill_doc
class PredictionMixin:
    """``decision_function``, ``predict_proba`` and ``predict`` of a fitted
    ``KNearestClusterClassifier`` (on ``NearestClusterRuleMixin``'s
    ``_scores`` and ``_rule``, ``PerLabelMixin``'s ``_per_label``)."""

    def _validate_for_predict(self, X):
        check_is_fitted(self)
        return validate_float_csr(self, X, reset=False)

    def decision_function(self, X):
        """Scores of the k-nearest-cluster rule (see Notes).

        {{params_X_query}}

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), (n_samples,) or (n_samples, n_labels)
            One score per class.  For two classes, as in scikit-learn, the
            score of ``classes_[1]`` minus that of ``classes_[0]``.  For
            multi-label ``y``, that difference for every label.
        """
        X = self._validate_for_predict(X)
        if self._multilabel:
            return np.column_stack(self._per_label(X, "decision_function"))
        scores, _ = self._scores(X)
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X):
        """Softmax of the scores over the retrieved classes (see Notes).

        {{params_X_query}}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of such
            Rows sum to one; without a head, classes absent from the
            retrieved clusters have probability 0.  A list with one ``(n_samples, 2)`` array per label
            for multi-label ``y``.
        """
        X = self._validate_for_predict(X)
        if self._multilabel:
            return self._per_label(X, "predict_proba")
        scores, floor = self._scores(X)
        if floor is None:
            return np.exp(scores - logsumexp(scores, axis=1, keepdims=True))
        return _scoring.softmax_over_present(scores, floor)

    def predict(self, X):
        """Class of highest score among the retrieved clusters' classes.

        {{params_X_query}}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Original class labels, or the binary indicator matrix for
            multi-label ``y``.
        """
        X = self._validate_for_predict(X)
        if self._multilabel:
            return np.column_stack(self._per_label(X, "predict"))
        if self.head_ != "none":
            return self.classes_[self._scores(X)[0].argmax(axis=1)]
        return self.classes_[self._rule(self._unit_rows(X), dense=False)]
