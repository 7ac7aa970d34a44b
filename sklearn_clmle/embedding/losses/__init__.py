"""Training losses of the torch estimators: CLMLE's cluster loss
(``cluster``), the metric-learning baselines' triplet and quintuplet losses
(``metric``) and the long-tail classification losses (``longtail``)."""

from .cluster import ClusterLoss
from .longtail import (
    SoftmaxTerm,
    arcface_loss,
    arcface_target_cosine,
    balanced_label_weights,
    balanced_weights,
    binary_cross_entropy_loss,
    cosface_loss,
    cross_entropy_loss,
    effective_number_weights,
    focal_loss,
    ldam_loss,
    ldam_margins,
    logit_adjusted_loss,
    softmax_classifiers,
)
from .metric import BatchHardTripletLoss, QuintupletLoss, pairwise_euclidean

__all__ = [
    "BatchHardTripletLoss",
    "ClusterLoss",
    "QuintupletLoss",
    "SoftmaxTerm",
    "arcface_loss",
    "arcface_target_cosine",
    "balanced_label_weights",
    "balanced_weights",
    "binary_cross_entropy_loss",
    "cosface_loss",
    "cross_entropy_loss",
    "effective_number_weights",
    "focal_loss",
    "ldam_loss",
    "ldam_margins",
    "logit_adjusted_loss",
    "pairwise_euclidean",
    "softmax_classifiers",
]
