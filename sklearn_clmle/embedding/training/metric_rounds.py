"""The training loop behind ``MetricEmbedder.fit`` (private, inputs validated).

The optional softmax warm-up of ``CLMLEEmbedder`` (``clmle_rounds.warmup``),
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

from .engine import (
    _check_finite,
    _check_finite_embeddings,
    at_step,
    end_round,
    optimizer_step,
)


def _recluster(cluster, batches, net, X, y, device, rng, previous, history,
               where, dp, batch_size):
    """Re-cluster every class on fresh embeddings (embedded by all ranks,
    clustered on rank 0); the round's batch sampler."""
    tic = time.perf_counter()
    feats = dp.extract(net, X, batch_size, device)

    def on_root():
        _check_finite_embeddings(feats, where)
        return cluster(feats, y, rng, previous=previous)

    cluster_of, classes, centroids = dp.on_root(on_root, rng)
    sampler = batches(cluster_of, classes, centroids)
    history.record("n_clusters", len(sampler.sizes))
    history.record("cluster_sizes", sampler.sizes.tolist())
    history.record("clustering_dur", time.perf_counter() - tic)
    return sampler, cluster_of


def metric_rounds(net, softmax, X, Y, device, rng, history, bar, dp, *, loss_fn,
                  phase, optimizer, schedule, sampler=None, cluster=None,
                  batches=None):
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
    y = Y[:, 0]
    y_t = torch.from_numpy(y)
    reclustered = sampler is None
    cluster_of = None
    opt = optimizer(net.parameters())
    forward = dp.replicate(net)
    step = 0
    for r in range(schedule.n_rounds):
        history.new_epoch()
        tic = time.perf_counter()
        history.record("phase", phase)
        history.record("round", r + 1)
        if reclustered:
            where = f"round {r + 1}, re-clustering"
            with at_step(where):
                sampler, cluster_of = _recluster(
                    cluster, batches, net, X, y, device, rng, cluster_of, history,
                    where, dp, schedule.batch_size,
                )
        net.train()
        step_losses = []
        for t in range(schedule.steps_per_round):
            with at_step(f"round {r + 1}, step {t + 1} (step {step + 1} of the "
                         "metric phase)"):
                if not reclustered:
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
