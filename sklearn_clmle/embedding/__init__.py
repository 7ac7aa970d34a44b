"""Deep embeddings trained with the CLMLE loss, and the long-tail and
metric-learning baselines on the same backbone (the only torch subpackage)."""

from ._clmle import CLMLEEmbedder
from ._longtail import LongTailNetClassifier
from ._metric import MetricEmbedder
from .losses import ClusterLoss

__all__ = ["CLMLEEmbedder", "ClusterLoss", "LongTailNetClassifier", "MetricEmbedder"]
