"""Deep embeddings trained with the CLMLE loss, and the long-tail and
metric-learning baselines on the same backbone (the only torch subpackage)."""

from ._baselines import LongTailNetClassifier
from ._embedder import CLMLEEmbedder
from ._loss import ClusterLoss
from ._metric_embedder import MetricEmbedder

__all__ = ["CLMLEEmbedder", "ClusterLoss", "LongTailNetClassifier", "MetricEmbedder"]
