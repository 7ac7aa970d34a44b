"""The training loop behind ``MetricEmbedder.fit`` (private, inputs validated).

The optional softmax warm-up of ``CLMLEEmbedder`` (``clmle_rounds.WarmupPhase``),
then ``n_rounds`` rounds of ``steps_per_round`` steps of the metric loss:
P x K class-balanced batches for the triplet loss; for LMLE, per-class
clustering of freshly extracted embeddings at the start of every round and
batches of nearby clusters (``ClusterBatchSampler`` with uniform queries).
The loop receives the loss, the batch sampler (or the clustering and the
sampler factory for LMLE), the optimiser and the schedule, never the
estimator.
"""

import time

import torch

from . import validation
from .engine import at_step
from .recluster import recluster


class MetricPhase:
    """``n_rounds`` x ``steps_per_round`` optimiser steps of the metric loss.

    The phase after the warm-up of ``clmle_rounds.train`` (``softmax``, the
    warm-up's term, is not used here); ``Y`` is the ``(n, 1)`` class column.
    ``loss_fn(embeddings, y)`` with a fixed ``sampler`` of indices (the
    triplet loss on P x K batches), or ``loss_fn(embeddings, y,
    batch_cluster_labels)`` with batches of clusters re-clustered every
    round: ``cluster(features, y, rng, previous=...)``, ``batches(cluster_of,
    classes, centroids)`` (LMLE).  ``phase`` names the rounds in
    ``history``.
    """

    def __init__(self, net, softmax, X, Y, device, rng, dp, *, loss_fn, phase,
                 schedule, sampler=None, cluster=None, batches=None):
        self.net, self.X, self.device, self.rng, self.dp = net, X, device, rng, dp
        self.y = Y[:, 0]
        self.y_t = torch.from_numpy(self.y)
        self.loss_fn, self.name, self.schedule = loss_fn, phase, schedule
        self.sampler, self.cluster, self.make_sampler = sampler, cluster, batches
        self.reclustered = sampler is None
        self.cluster_of = None
        self.forward = dp.replicate(net)
        self.step = 0
        self.n_batches = schedule.steps_per_round  # batches a round
        self.extra = None  # the network alone is trained

    def begin(self, history, index):
        self.round = index + 1
        history.record("phase", self.name)
        history.record("round", self.round)
        if self.reclustered:
            where = f"round {self.round}, re-clustering"
            with at_step(where):
                tic = time.perf_counter()
                [(self.cluster_of, classes, centroids)] = recluster(
                    self.cluster, self.net, self.X, self.y[:, None], self.device,
                    self.rng, [self.cluster_of], self.dp, self.schedule.batch_size,
                    where)
                self.sampler = self.make_sampler(self.cluster_of, classes, centroids)
            history.record("n_clusters", len(self.sampler.sizes))
            history.record("cluster_sizes", self.sampler.sizes.tolist())
            history.record("clustering_dur", time.perf_counter() - tic)

    def batches(self):
        for t in range(self.schedule.steps_per_round):
            self.where = (f"round {self.round}, step {t + 1} (step {self.step + 1} "
                          "of the metric phase)")
            with at_step(self.where):
                if not self.reclustered:
                    idx = torch.from_numpy(self.sampler.sample(self.rng))
                    self.extra = ()
                else:
                    indices, batch_clusters, clusters = self.sampler.sample(self.rng)
                    idx = torch.from_numpy(indices)
                    self.extra = (torch.from_numpy(clusters[batch_clusters]).to(
                        self.device),)
            self.step += 1
            yield idx

    def loss(self, idx):
        (emb,) = self.forward(self.X, idx, self.device)
        loss, _ = self.loss_fn(emb, self.y_t[idx].to(self.device), *self.extra)
        return loss

    def after_step(self, idx):
        pass

    valid_loss = validation.metric_rounds_loss


def metric_rounds(net, softmax, X, Y, device, rng, dp, **parts):
    """The metric rounds of ``clmle_rounds.train`` (a ``MetricPhase`` of
    ``parts``)."""
    return MetricPhase(net, softmax, X, Y, device, rng, dp, **parts)
