"""Prediction methods of ``CLMLEClassifier`` (private): the selected
candidate's log-probabilities, averaged over the ensemble's members."""

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.validation import check_is_fitted, validate_data

from ..neighbors import _head
from ..utils._docs import doc_filler
from ..utils._validation import validate_numeric
from . import _candidates

_FRAGMENTS = {
    "params_X_like_fit": """
        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Query data, as for ``fit``.
        """,
}
fill_doc = doc_filler(_FRAGMENTS)


@fill_doc
class SelectedPredictionMixin:
    """``predict_log_proba``, ``predict_proba``, ``decision_function`` and
    ``predict`` of a fitted ``CLMLEClassifier`` (its ``ensemble_``,
    ``_selected`` and ``_log_prior``)."""

    def _log_proba(self, X):
        check_is_fitted(self)
        X = validate_numeric(self, X, lambda: validate_data(
            self, X, reset=False, allow_nd=True, dtype=None))
        n_classes = len(self.classes_)
        members = []
        for emb, rule, linear in self.ensemble_:
            Z = emb.transform(X)
            log_probas = {}
            if rule is not None:
                log_probas["rule"] = _candidates.rule_columns(rule, Z, n_classes)
            if linear is not None:
                log_probas["linear"] = _head.adjusted_log_proba(
                    linear, Z, self._log_prior, n_classes)
            if "softmax" in self._selected:
                log_probas["softmax"] = emb.head_log_proba(X)
            members.append(_candidates.combine(log_probas, self._selected))
        if len(members) == 1:
            return members[0]
        # the members' mean probability
        return logsumexp(members, axis=0) - np.log(len(members))

    def predict_log_proba(self, X):
        """Log-probabilities of the selected candidate.

        {{params_X_like_fit}}

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Rows are normalised log-probabilities over ``classes_``.
        """
        return self._log_proba(X)

    def predict_proba(self, X):
        """Probabilities of the selected candidate.

        {{params_X_like_fit}}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one.
        """
        return np.exp(self._log_proba(X))

    def decision_function(self, X):
        """Log-probabilities of the selected candidate (their difference for
        two classes, as in scikit-learn).

        {{params_X_like_fit}}

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            The score of every class; for two classes that of ``classes_[1]``
            minus that of ``classes_[0]``.
        """
        scores = self._log_proba(X)
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X):
        """Class of highest probability under the selected candidate.

        {{params_X_like_fit}}

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Class labels.
        """
        best = self._log_proba(X).argmax(axis=1)
        return self.classes_[best]
