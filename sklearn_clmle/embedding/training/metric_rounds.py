"""The training loop behind ``MetricEmbedder.fit`` (private, inputs validated).

The optional softmax warm-up of ``CLMLEEmbedder`` (``clmle_rounds.warmup``),
then ``n_rounds`` rounds of ``steps_per_round`` steps of the metric loss:
P x K class-balanced batches for the triplet loss; for LMLE, per-class
clustering of freshly extracted embeddings at the start of every round and
batches of nearby clusters (``ClusterBatchSampler`` with uniform queries).
"""

import time

import torch

from ..losses.metric import BatchHardTripletLoss, QuintupletLoss
from ..samplers.cluster_batches import ClassBalancedBatchSampler, ClusterBatchSampler
from ..samplers.clustering import cluster_per_class
from .engine import (
    _check_finite,
    _check_finite_embeddings,
    at_step,
    end_round,
    make_optimizer,
    optimizer_step,
)


def _lmle_sampler(est, net, X, y, device, rng, previous, history, where, dp):
    """Re-cluster every class on fresh embeddings (embedded by all ranks,
    clustered on rank 0); the round's batch sampler."""
    tic = time.perf_counter()
    feats = dp.extract(net, X, est.batch_size, device)

    def cluster():
        _check_finite_embeddings(feats, where)
        return cluster_per_class(feats, y, est.cluster_size, rng, previous=previous)

    cluster_of, classes, centroids = dp.on_root(cluster, rng)
    sampler = ClusterBatchSampler(
        cluster_of, classes, centroids, est.n_clusters_per_batch,
        est.n_samples_per_cluster, "uniform",
    )
    history.record("n_clusters", len(sampler.sizes))
    history.record("cluster_sizes", sampler.sizes.tolist())
    history.record("clustering_dur", time.perf_counter() - tic)
    return sampler, cluster_of


def metric_rounds(est, net, softmax, X, Y, device, rng, history, bar, dp):
    """``n_rounds`` x ``steps_per_round`` optimiser steps of the metric loss.

    The phase after the warm-up of ``clmle_rounds.train`` (``softmax``, the
    warm-up's term, is not used here); ``Y`` is the ``(n, 1)`` class column.
    """
    y = Y[:, 0]
    y_t = torch.from_numpy(y)
    if est.loss == "triplet":
        loss_fn = BatchHardTripletLoss(est.triplet_margin)
        sampler = ClassBalancedBatchSampler(
            y, est.n_classes_per_batch, est.n_samples_per_class
        )
    else:
        loss_fn = QuintupletLoss(est.lmle_margins)
        cluster_of = None
    opt = make_optimizer(est.optimizer, net.parameters(), est.learning_rate,
                         est.weight_decay)
    forward = dp.replicate(net)
    step = 0
    for r in range(est.n_rounds):
        history.new_epoch()
        tic = time.perf_counter()
        history.record("phase", est.loss)
        history.record("round", r + 1)
        if est.loss == "lmle":
            where = f"round {r + 1}, re-clustering"
            with at_step(where):
                sampler, cluster_of = _lmle_sampler(
                    est, net, X, y, device, rng, cluster_of, history, where, dp
                )
        net.train()
        step_losses = []
        for t in range(est.steps_per_round):
            with at_step(f"round {r + 1}, step {t + 1} (step {step + 1} of the "
                         "metric phase)"):
                if est.loss == "triplet":
                    idx = torch.from_numpy(sampler.sample(rng))
                    extra = ()
                else:
                    indices, batch_clusters, clusters = sampler.sample(rng)
                    idx = torch.from_numpy(indices)
                    extra = (torch.from_numpy(clusters[batch_clusters]).to(device),)
                (emb,) = forward(X, idx, device)
                loss, _ = loss_fn(emb, y_t[idx].to(device), *extra)
                _check_finite(loss, f"round {r + 1}, step {t + 1} (step {step + 1} "
                                    "of the metric phase)")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                optimizer_step(opt, f"round {r + 1}, step {t + 1}")
            step_losses.append(loss.item())
            step += 1
            bar.update(1)
            bar.set_postfix(phase=f"round {r + 1}", loss=f"{step_losses[-1]:.4f}")
        end_round(history, step_losses, tic)
