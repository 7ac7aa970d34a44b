"""``CLMLEClassifier``: the embedder and the classifier in one estimator,
the classifier chosen on rows the embedder never saw (cross-fitting)."""

from ._clmle_classifier import CLMLEClassifier

__all__ = ["CLMLEClassifier"]
