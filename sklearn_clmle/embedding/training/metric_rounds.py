"""The rounds of ``MetricEmbedder.fit`` (private, inputs validated).

After the optional softmax warm-up of ``clmle_rounds``, ``n_rounds`` skorch
epochs of ``steps_per_round`` steps of the metric loss (``MetricCriterion``):
P x K class-balanced batches for the triplet loss; for LMLE, per-class
clustering of freshly extracted embeddings at the start of every round
(``clmle_rounds.RoundStart``) and batches of nearby clusters
(``ClusterBatchSampler`` with uniform queries).
"""

import numpy as np
import torch
from torch import nn

from .clmle_rounds import RoundBatches, RoundStart, SoftmaxModel, label_columns, round_phase
from .validation import nearest_cluster_of_class


class MetricCriterion(nn.Module):
    """The metric loss ``loss_fn`` of the unit-norm embeddings: ``loss_fn(emb,
    y)`` (triplet), or ``loss_fn(emb, y, clusters)`` with the batch cluster of
    every row (LMLE: the drawn clusters of ``batches`` in training; on
    held-out rows the nearest cluster of the row's class)."""

    def __init__(self, loss_fn, batches, clustered):
        super().__init__()
        self.loss_fn, self.batches, self.clustered = loss_fn, batches, clustered

    def step_name(self, epoch, batch):
        steps = self.batches.steps
        return (f"round {epoch}, step {batch} (step {(epoch - 1) * steps + batch} "
                "of the metric phase)")

    def forward(self, out, y):
        emb = nn.functional.normalize(out[0], dim=1)
        y = label_columns(y)[:, 0]
        extra = ()
        if self.clustered:
            sampler = self.batches.samplers[0]
            if self.training:
                _, inverse, clusters = self.batches.drawn
                batch_clusters = clusters[inverse]
            else:
                batch_clusters = nearest_cluster_of_class(emb, y.cpu().numpy(), sampler)
            extra = (torch.from_numpy(np.asarray(batch_clusters)).to(emb.device),)
        loss, _ = self.loss_fn(emb, y, *extra)
        return loss


def metric_rounds(net, X, Y, rng, dp, *, loss_fn, phase, schedule, sampler=None,
                  cluster=None, batches=None):
    """The rounds of ``MetricEmbedder`` (a ``clmle_rounds.Phase``): a fixed
    ``sampler`` of indices (triplet), or a clustering ``cluster`` and the
    sampler factory ``batches`` (LMLE), re-clustered every round."""
    drawn = RoundBatches(schedule.steps_per_round, rng, "metric",
                         None if sampler is None else [sampler])
    start = RoundStart(phase, drawn, cluster, batches, net, X, Y, dp,
                       schedule.batch_size, per_label=False)
    criterion = MetricCriterion(loss_fn, drawn, clustered=sampler is None)
    return round_phase(criterion, drawn, start, dp, schedule.n_rounds,
                       SoftmaxModel(net), loss_cache=False)
