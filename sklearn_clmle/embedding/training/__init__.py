"""The training of the torch estimators, as skorch fits (``skorch_net``):
what the loops share (``engine``), CLMLE's warm-up and cluster rounds
(``clmle_rounds``), the metric-learning rounds of ``MetricEmbedder``
(``metric_rounds``), the supervised epochs of ``LongTailNetClassifier``
(``supervised``), the re-clustering that starts the rounds of both
embedders (``recluster``), the embedders' loss on held-out rows
(``validation``) and data-parallel training (``distributed``).
"""

from .clmle_rounds import ClusterCriterion, RoundBatches, RoundStart, train
from .engine import (
    OptimizerSpec,
    Schedule,
    embed_checked,
    extract,
)
from .metric_rounds import MetricCriterion
from .supervised import HeadLoss, train_head_net

__all__ = [
    "ClusterCriterion",
    "HeadLoss",
    "MetricCriterion",
    "OptimizerSpec",
    "RoundBatches",
    "RoundStart",
    "Schedule",
    "embed_checked",
    "extract",
    "train",
    "train_head_net",
]
