"""The training of the torch estimators, on skorch's ``NeuralNet``
(``skorch_net``): what the loops share (``engine``), CLMLE's warm-up and
cluster rounds as phases (``clmle_rounds``), the metric-learning rounds of
``MetricEmbedder`` (``metric_rounds``), the supervised epochs of
``LongTailNetClassifier`` (``supervised``), the re-clustering that starts
the rounds of both embedders (``recluster``), the embedders' loss on
held-out rows (``validation``) and data-parallel training
(``distributed``).

``training.metric_rounds`` is the function re-exported here, which shadows
the submodule of the same name; ``importlib.import_module`` reaches the
module itself.
"""

from .clmle_rounds import ClusterPhase, WarmupPhase, cluster_rounds, train
from .engine import (
    OptimizerSpec,
    Schedule,
    embed_checked,
    extract,
    make_optimizer,
)
from .metric_rounds import metric_rounds
from .supervised import HeadLoss, train_head_net

__all__ = [
    "ClusterPhase",
    "WarmupPhase",
    "HeadLoss",
    "OptimizerSpec",
    "Schedule",
    "cluster_rounds",
    "embed_checked",
    "extract",
    "make_optimizer",
    "metric_rounds",
    "train",
    "train_head_net",
]
