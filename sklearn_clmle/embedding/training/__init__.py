"""The training of the torch estimators, on skorch's ``NeuralNet``
(``skorch_net``): what the loops share (``engine``), CLMLE's warm-up and
cluster rounds as phases (``clmle_rounds``), the metric-learning rounds of
``MetricEmbedder`` (``metric_rounds``), the supervised epochs of
``LongTailNetClassifier`` (``supervised``), the re-clustering that starts
the rounds of both embedders (``recluster``), the embedders' loss on
held-out rows (``validation``) and data-parallel training
(``distributed``).

The phases are re-exported here (``WarmupPhase``, ``ClusterPhase``,
``MetricPhase``); the factories of the rounds stay in their modules, so that
``training.metric_rounds`` is the submodule.
"""

from .clmle_rounds import ClusterPhase, WarmupPhase, cluster_rounds, train
from .engine import (
    OptimizerSpec,
    Schedule,
    embed_checked,
    extract,
)
from .metric_rounds import MetricPhase
from .supervised import HeadLoss, train_head_net

__all__ = [
    "ClusterPhase",
    "WarmupPhase",
    "HeadLoss",
    "MetricPhase",
    "OptimizerSpec",
    "Schedule",
    "cluster_rounds",
    "embed_checked",
    "extract",
    "train",
    "train_head_net",
]
