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
from threadpoolctl import threadpool_limits
from torch import nn

from . import validation
from .distributed import SingleProcess
from .skorch_net import fit_phases
from .engine import at_step
from .recluster import recluster


class WarmupPhase:
    """Softmax pre-training: cross-entropy (or BCE per label), see
    ``SoftmaxTerm``; one pass over a fresh permutation of the rows an
    epoch, in batches of ``schedule.warmup_batch``."""

    name = "warmup"

    def __init__(self, net, softmax, X, Y, device, rng, dp, *, schedule):
        self.net, self.softmax, self.X, self.device, self.rng = net, softmax, X, device, rng
        self.Y_t = torch.from_numpy(Y)
        self.batch, self.schedule = schedule.warmup_batch, schedule
        self.forward = dp.replicate(net, softmax.classifiers)
        self.n_batches = -(-X.shape[0] // self.batch)  # batches an epoch
        self.extra = softmax.classifiers  # trained beside the network

    def begin(self, history, index):
        history.record("phase", "warmup")
        self.epoch = index + 1

    def batches(self):
        perm = torch.from_numpy(self.rng.permutation(self.X.shape[0]))
        for b, start in enumerate(range(0, len(perm), self.batch)):
            self.where = f"warm-up epoch {self.epoch}, batch {b + 1}"
            yield perm[start:start + self.batch]

    def loss(self, idx):
        return self.softmax(self.forward(self.X, idx, self.device, "raw_heads"),
                            self.Y_t[idx].to(self.device))

    def after_step(self, idx):
        pass

    valid_loss = validation.warmup_loss


def _sample_clusters(sampler, indices):
    """Batch clusters of ``indices`` under a (possibly other label's) clustering."""
    uniq, inverse = np.unique(sampler.cluster_of[indices], return_inverse=True)
    return uniq, inverse


class ClusterPhase:
    """Rounds of clustering on fresh embeddings, each followed by
    ``schedule.steps_per_round`` steps of the cluster loss.

    ``losses``: one ``ClusterLoss`` per label; ``cluster(features, y, rng,
    previous=...)`` the per-class clustering; ``batches(cluster_of, classes,
    centroids)`` the batch sampler of a clustering; ``softmax_weight``: the
    weight of ``softmax`` (the warm-up's term) added to the cluster loss.
    Step ``t`` draws its batch with the sampler of label ``t mod n_labels``
    and updates every label's loss cache after the optimiser's step.
    """

    name = "cluster"

    def __init__(self, net, softmax, X, Y, device, rng, dp, *, losses, cluster,
                 batches, schedule, softmax_weight):
        self.net, self.softmax, self.X, self.Y, self.device = net, softmax, X, Y, device
        self.rng, self.dp, self.losses = rng, dp, losses
        self.cluster, self.make_sampler = cluster, batches
        self.schedule, self.softmax_weight = schedule, softmax_weight
        self.Y_t = torch.from_numpy(Y)
        self.forward = dp.replicate(net, softmax.classifiers if softmax_weight > 0
                                    else None)
        self.previous = [None] * Y.shape[1]
        self.step = 0
        self.n_batches = schedule.steps_per_round  # batches a round
        # trained beside the network
        self.extra = softmax.classifiers if softmax_weight > 0 else None

    def begin(self, history, index):
        self.round = index + 1
        tic = time.perf_counter()
        where = f"round {self.round}, re-clustering"
        with at_step(where):
            clusterings = recluster(self.cluster, self.net, self.X, self.Y,
                                    self.device, self.rng, self.previous, self.dp,
                                    self.schedule.batch_size, where)
            self.samplers = []
            for j, (cluster_of, classes, centroids) in enumerate(clusterings):
                self.previous[j] = cluster_of
                self.samplers.append(self.make_sampler(cluster_of, classes, centroids))
        history.record("phase", "cluster")
        history.record("round", self.round)
        history.record("n_clusters", [len(s.sizes) for s in self.samplers])
        history.record("cluster_sizes", [s.sizes.tolist() for s in self.samplers])
        history.record("clustering_dur", time.perf_counter() - tic)

    def batches(self):
        n_heads = self.Y.shape[1]
        for t in range(self.schedule.steps_per_round):
            self.where = (f"round {self.round}, step {t + 1} (step {self.step + 1} "
                          "of the cluster phase)")
            with at_step(self.where):
                self.label = self.step % n_heads
                self.drawn = self.samplers[self.label].sample(self.rng)
            self.step += 1
            yield torch.from_numpy(self.drawn[0])

    def loss(self, idx_t):
        indices, batch_clusters, clusters = self.drawn
        device = self.device
        raw = self.forward(self.X, idx_t, device, "raw_heads")
        embs = [nn.functional.normalize(h, dim=1) for h in raw]
        total = 0.0
        self.per_label = []
        for j in range(len(self.losses)):
            if j == self.label:  # the sampler's own clustering: known
                uniq, inverse = clusters, batch_clusters
            else:
                uniq, inverse = _sample_clusters(self.samplers[j], indices)
            loss_j, per = self.losses[j](
                embs[j],
                torch.from_numpy(inverse).to(device),
                torch.from_numpy(self.samplers[j].cluster_classes[uniq]).to(device),
            )
            total = total + loss_j
            self.per_label.append(per)
        total = total / len(self.losses)
        if self.softmax_weight > 0:
            total = total + self.softmax_weight * self.softmax(
                raw, self.Y_t[idx_t].to(device))
        return total

    def after_step(self, idx_t):
        for j, per in enumerate(self.dp.consistent(self.per_label)):
            self.samplers[j].update(self.drawn[0], per.cpu().numpy())

    valid_loss = validation.cluster_rounds_loss


def cluster_rounds(net, softmax, X, Y, device, rng, dp, **parts):
    """The cluster rounds of ``train`` (a ``ClusterPhase`` of ``parts``)."""
    return ClusterPhase(net, softmax, X, Y, device, rng, dp, **parts)


def train(net, X, Y, device, rng, dp=None, *, softmax, schedule, rounds,
          optimizer, verbose=0, callbacks=None, valid=None):
    """Warm-up (if ``schedule.warmup_epochs``), then ``schedule.n_rounds``
    rounds, on skorch (``skorch_net.EmbedderTrainer``, one skorch epoch per
    warm-up epoch or round); returns the fitted trainer (skorch's
    ``history`` and ``callbacks_``).

    ``softmax(device)`` builds the softmax term (``SoftmaxTerm``) once the
    net exists; ``rounds(net, softmax, X, Y, device, rng, dp)`` makes the
    phase after the warm-up (``cluster_rounds`` with its parts, or the
    metric rounds of ``MetricEmbedder``); ``optimizer``: an
    ``OptimizerSpec``, a fresh optimiser for each phase.  ``callbacks``:
    skorch callbacks (cloned).  ``valid``: ``(X, Y)`` tensors of held-out
    rows, never trained on, whose loss (``training.validation``) is
    recorded every epoch as ``valid_loss``; ``None``: none.  ``dp``: the
    data-parallel context
    (``training.distributed``); ``None``, a plain fit.
    """
    dp = SingleProcess(device) if dp is None else dp
    softmax = softmax(device)
    phases = []
    if schedule.warmup_epochs:
        phases.append((schedule.warmup_epochs, lambda: WarmupPhase(
            net, softmax, X, Y, device, rng, dp, schedule=schedule)))
    phases.append((schedule.n_rounds,
                   lambda: rounds(net, softmax, X, Y, device, rng, dp)))
    # numpy's small per-step products must not leave OpenBLAS threads spinning
    # against torch's OpenMP threads: numpy's BLAS gets one thread meanwhile.
    with threadpool_limits(limits=1, user_api="blas"):
        return fit_phases(net, phases, optimizer=optimizer, device=device,
                          verbose=verbose if dp.is_root else 0,
                          callbacks=callbacks, valid=valid)
