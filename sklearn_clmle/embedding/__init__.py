"""Deep embeddings trained with the CLMLE loss, and the long-tail and
metric-learning baselines on the same backbone (the only torch subpackage)."""

from ._clmle import CLMLEEmbedder
from ._longtail import LongTailNetClassifier
from ._loss import ClusterLoss
from ._metric import MetricEmbedder

__all__ = ["CLMLEEmbedder", "ClusterLoss", "LongTailNetClassifier", "MetricEmbedder"]
