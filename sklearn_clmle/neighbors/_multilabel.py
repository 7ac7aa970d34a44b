"""Multi-label ``y`` for ``KNearestClusterClassifier`` (private): one binary
classifier per label, each on all the features or on its block of them."""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target

from ..utils._targets import encode_targets

__all__ = ["PerLabelMixin"]


class PerLabelMixin:
    """``_fit_multilabel`` (one fitted copy of the estimator per label, in
    ``estimators_``) and ``_per_label`` (a prediction method of every
    label's copy); reads the parameters ``multilabel_features`` and
    ``random_state``."""

    @staticmethod
    def _is_multilabel(y):
        """Whether validated ``y`` is a multi-label indicator matrix; other
        2-D targets are refused."""
        if y.ndim != 2 or y.shape[1] == 1:
            return False
        if type_of_target(y) != "multilabel-indicator":
            raise ValueError(
                f"y of shape {y.shape} is not a binary indicator matrix; "
                "multi-label y must hold 0/1 per label (multi-class "
                "multi-output targets are not supported)."
            )
        return True

    def _fit_multilabel(self, X, Y):
        n_labels = Y.shape[1]
        if self.multilabel_features == "blocks" and X.shape[1] % n_labels:
            raise ValueError(
                f"multilabel_features='blocks' needs n_features={X.shape[1]} to "
                f"be a multiple of n_labels={n_labels}."
            )
        # every label both values, as for the embedders
        encode_targets(Y, type(self).__name__)
        self._multilabel = True
        rng = check_random_state(self.random_state)
        params = self.get_params()
        self.estimators_ = []
        for j in range(n_labels):
            params["random_state"] = rng.randint(np.iinfo(np.int32).max)
            est = type(self)(**params).fit(self._label_features(X, j, n_labels), Y[:, j])
            self.estimators_.append(est)
        self.classes_ = [est.classes_ for est in self.estimators_]
        return self

    def _label_features(self, X, j, n_labels):
        if self.multilabel_features == "shared":
            return X
        width = X.shape[1] // n_labels
        return X[:, j * width : (j + 1) * width]

    def _per_label(self, X, method):
        n_labels = len(self.estimators_)
        return [
            getattr(est, method)(self._label_features(X, j, n_labels))
            for j, est in enumerate(self.estimators_)
        ]
