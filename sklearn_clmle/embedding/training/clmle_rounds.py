"""The training loops behind ``CLMLEEmbedder.fit`` (private, inputs validated).

Two phases: a softmax warm-up of the backbone and heads, then rounds of
per-class clustering on freshly extracted embeddings followed by steps of the
cluster loss on batches from ``ClusterBatchSampler``.  The loops receive
their parts from the estimator and never read it: the losses, the clustering
(``cluster(features, y, rng, previous=...)``), the batch sampler factory
(``batches(cluster_of, classes, centroids)``), the optimiser (an
``OptimizerSpec``) and the ``Schedule``.  Data flows one way: X -> backbone
-> loss <- sampler <- clusters.
"""

import time

import numpy as np
import torch
from skorch.history import History
from threadpoolctl import threadpool_limits
from torch import nn
from tqdm.auto import tqdm

from .distributed import SingleProcess
from .engine import (
    _check_finite,
    _check_finite_embeddings,
    at_step,
    end_round,
    optimizer_step,
    run_epoch,
)


def warmup(net, softmax, X, Y, device, rng, history, bar, dp, *, optimizer,
           schedule):
    """Softmax pre-training: cross-entropy (or BCE per label), see ``SoftmaxTerm``."""
    n = Y.shape[0]
    opt = optimizer(list(net.parameters()) + list(softmax.parameters()))
    batch = schedule.warmup_batch
    Y_t = torch.from_numpy(Y)
    forward = dp.replicate(net, softmax.classifiers)
    net.train()
    for epoch in range(schedule.warmup_epochs):
        history.new_epoch()
        tic = time.perf_counter()
        losses = run_epoch(
            lambda idx: softmax(forward(X, idx, device, "raw_heads"),
                                Y_t[idx].to(device)),
            opt, torch.from_numpy(rng.permutation(n)), batch,
            f"warm-up epoch {epoch + 1}", bar, phase="warm-up",
        )
        history.record("phase", "warmup")
        history.record("epoch", epoch + 1)
        history.record("step_loss", losses)
        history.record("train_loss", float(np.mean(losses)))
        history.record("dur", time.perf_counter() - tic)


def _sample_clusters(sampler, indices):
    """Batch clusters of ``indices`` under a (possibly other label's) clustering."""
    uniq, inverse = np.unique(sampler.cluster_of[indices], return_inverse=True)
    return uniq, inverse


def _recluster(cluster, net, X, Y, device, rng, previous, dp, batch_size, where):
    """Per-class clusterings (``cluster``) of every label on fresh
    embeddings: embedded by all ranks, clustered on rank 0, shared with every
    rank."""
    dim = net.heads[0].out_features
    feats = dp.extract(net, X, batch_size, device)

    def on_root():
        _check_finite_embeddings(feats, where)
        return [
            cluster(feats[:, j * dim:(j + 1) * dim], Y[:, j], rng,
                    previous=previous[j])
            for j in range(Y.shape[1])
        ]

    return dp.on_root(on_root, rng)


def cluster_rounds(net, softmax, X, Y, device, rng, history, bar, dp, *, losses,
                   cluster, batches, optimizer, schedule, softmax_weight):
    """Alternate clustering on fresh embeddings and steps of the cluster loss.

    ``losses``: one ``ClusterLoss`` per label; ``cluster(features, y, rng,
    previous=...)`` the per-class clustering; ``batches(cluster_of, classes,
    centroids)`` the batch sampler of a clustering; ``softmax_weight``: the
    weight of ``softmax`` (the warm-up's term) added to the cluster loss.
    """
    n, n_heads = Y.shape
    params = list(net.parameters())
    if softmax_weight > 0:
        params += list(softmax.parameters())
    opt = optimizer(params)
    forward = dp.replicate(net, softmax.classifiers if softmax_weight > 0 else None)
    Y_t = torch.from_numpy(Y)
    previous = [None] * n_heads
    step = 0
    for r in range(schedule.n_rounds):
        history.new_epoch()
        tic = time.perf_counter()
        with at_step(f"round {r + 1}, re-clustering"):
            clusterings = _recluster(cluster, net, X, Y, device, rng, previous,
                                     dp, schedule.batch_size,
                                     f"round {r + 1}, re-clustering")
            samplers = []
            for j, (cluster_of, classes, centroids) in enumerate(clusterings):
                previous[j] = cluster_of
                samplers.append(batches(cluster_of, classes, centroids))
            del clusterings
        history.record("phase", "cluster")
        history.record("round", r + 1)
        history.record("n_clusters", [len(s.sizes) for s in samplers])
        history.record("cluster_sizes", [s.sizes.tolist() for s in samplers])
        history.record("clustering_dur", time.perf_counter() - tic)
        net.train()
        step_losses = []
        for t in range(schedule.steps_per_round):
            with at_step(f"round {r + 1}, step {t + 1} (step {step + 1} of the "
                         "cluster phase)"):
                label = step % n_heads
                indices, batch_clusters, clusters = samplers[label].sample(rng)
                idx_t = torch.from_numpy(indices)
                raw = forward(X, idx_t, device, "raw_heads")
                embs = [nn.functional.normalize(h, dim=1) for h in raw]
                total = 0.0
                per_label = []
                for j in range(n_heads):
                    if j == label:  # the sampler's own clustering: known
                        uniq, inverse = clusters, batch_clusters
                    else:
                        uniq, inverse = _sample_clusters(samplers[j], indices)
                    loss_j, per = losses[j](
                        embs[j],
                        torch.from_numpy(inverse).to(device),
                        torch.from_numpy(samplers[j].cluster_classes[uniq]).to(device),
                    )
                    total = total + loss_j
                    per_label.append(per)
                total = total / n_heads
                if softmax_weight > 0:
                    total = total + softmax_weight * softmax(
                        raw, Y_t[idx_t].to(device))
                _check_finite(total, f"round {r + 1}, step {t + 1} (step {step + 1} "
                                     "of the cluster phase)")
                opt.zero_grad(set_to_none=True)
                total.backward()
                optimizer_step(opt, f"round {r + 1}, step {t + 1}")
                for j, per in enumerate(dp.consistent(per_label)):
                    samplers[j].update(indices, per.cpu().numpy())
            step_losses.append(total.item())
            step += 1
            bar.update(1)
            bar.set_postfix(phase=f"round {r + 1}", loss=f"{step_losses[-1]:.4f}")
        end_round(history, step_losses, tic)


def train(net, X, Y, device, rng, dp=None, *, softmax, schedule, rounds,
          optimizer, verbose=0, name="CLMLEEmbedder"):
    """Warm-up (if ``schedule.warmup_epochs``), then ``rounds``; returns a
    skorch ``History``, one row per epoch / round.

    ``softmax(device)`` builds the softmax term (``SoftmaxTerm``) once the
    net exists; ``rounds(net, softmax, X, Y, device, rng, history, bar, dp)``
    is the phase after the warm-up (``cluster_rounds`` with its parts, or the
    metric losses' loop of ``MetricEmbedder``); ``optimizer``: the warm-up's
    ``OptimizerSpec``.  ``dp``: the data-parallel context
    (``training.distributed``); ``None``, a plain fit.
    """
    dp = SingleProcess(device) if dp is None else dp
    history = History()
    softmax = softmax(device)
    # numpy's small per-step products must not leave OpenBLAS threads spinning
    # against torch's OpenMP threads: numpy's BLAS gets one thread meanwhile.
    with threadpool_limits(limits=1, user_api="blas"), tqdm(
        total=schedule.total_steps(X.shape[0]), disable=not verbose or not dp.is_root,
        desc=name, leave=False,
    ) as bar:
        if schedule.warmup_epochs:
            warmup(net, softmax, X, Y, device, rng, history, bar, dp,
                   optimizer=optimizer, schedule=schedule)
        rounds(net, softmax, X, Y, device, rng, history, bar, dp)
    return history
