"""The training behind ``CLMLEEmbedder.fit`` and ``MetricEmbedder.fit``
(private, inputs validated), as skorch fits (``skorch_net.fit_net``).

The warm-up is one skorch fit: the module is the network with the softmax
classifiers (``SoftmaxModel``), the criterion the softmax term
(``WarmupLoss``), the batches skorch's shuffled ones.  The rounds are the
next fit, one skorch epoch a round: ``RoundStart`` (an ``on_epoch_begin``
callback) re-clusters the training rows on their fresh embeddings and gives
``RoundBatches`` (the ``iterator_train__batch_sampler``) the clustering's
samplers; the criterion is ``ClusterCriterion`` (or the metric losses of
``metric_rounds``); ``LossCache`` (``on_batch_end``) feeds the per-sample
losses back to the samplers.  Data flow one way: X -> backbone -> loss <-
sampler <- clusters.
"""

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits
from torch import nn

from ...cluster._per_class import PerClassClustering
from ...utils._samplers import ClusterBatchSampler
from ..losses.cluster import ClusterLoss
from ..losses.longtail import SoftmaxTerm
from .distributed import SingleProcess
from .engine import OptimizerSpec, at_step
from .recluster import recluster
from .skorch_net import (
    RowsDataset,
    cloned_callback,
    fit_net,
    joined_history,
    kept_interrupt,
)
from .validation import nearest_cluster_of_class


def label_columns(y):
    """The targets of a batch as one column a label."""
    return y[:, None] if y.ndim == 1 else y


class SoftmaxModel(nn.Module):
    """The module skorch trains: the ``EmbeddingNet`` ``net`` and, unless
    ``None``, the softmax term's ``classifiers`` (one per head).  Outputs
    the raw heads, then the classifiers' logits, in one list."""

    def __init__(self, net, classifiers=None):
        super().__init__()
        self.net = net
        self.classifiers = classifiers

    def forward(self, x):
        raw = self.net.raw_heads(x)
        if self.classifiers is None:
            return raw
        return [*raw, *(clf(h) for clf, h in zip(self.classifiers, raw))]


class WarmupLoss(nn.Module):
    """The warm-up's criterion: ``softmax`` (a ``SoftmaxTerm``) of the
    logits of ``SoftmaxModel``."""

    def __init__(self, softmax):
        super().__init__()
        self.softmax = softmax

    @staticmethod
    def step_name(epoch, batch):
        return f"warm-up epoch {epoch}, batch {batch}"

    def forward(self, out, y):
        return self.softmax(out[self.softmax.n_heads:], label_columns(y))


class RoundBatches(torch.utils.data.Sampler):
    """The rounds' ``iterator_train__batch_sampler``: ``steps`` batches of
    row indices a round, step ``t`` drawn with ``samplers[t mod
    len(samplers)]`` (a ``ClusterBatchSampler`` of a label, set by
    ``RoundStart``, or a fixed ``ClassBalancedBatchSampler``) from ``rng``.
    ``drawn`` keeps the last batch (indices, and for cluster batches the
    batch cluster of each row and the clusters), ``label`` its sampler."""

    def __init__(self, steps, rng, phase, samplers=None):
        self.steps, self.rng, self.phase = steps, rng, phase
        self.samplers = samplers
        self.step = 0
        self.drawn = self.label = None

    def __len__(self):
        return self.steps

    def __iter__(self):
        for t in range(self.steps):
            where = (f"round {self.step // self.steps + 1}, step {t + 1} (step "
                     f"{self.step + 1} of the {self.phase} phase)")
            with at_step(where):
                self.label = self.step % len(self.samplers)
                out = self.samplers[self.label].sample(self.rng)
            self.drawn = out if isinstance(out, tuple) else (out, None, None)
            self.step += 1
            yield self.drawn[0]


@dataclass(eq=False)
class RoundStart(Callback):
    """Begins every round (``on_epoch_begin``): records ``phase`` and
    ``round`` and, with a ``cluster`` (``PerClassClustering``), re-clusters
    the rows ``X`` of every label (column of ``Y``) on the embeddings of
    ``net`` and gives ``batches`` the samplers (``make_sampler(cluster_of,
    classes, centroids)``) of the clusterings (``n_clusters`` and
    ``cluster_sizes`` recorded, per label when ``per_label``)."""

    phase: str
    batches: RoundBatches = None
    cluster: object = None
    make_sampler: object = None
    net: nn.Module = None
    X: torch.Tensor = None
    Y: np.ndarray = None
    dp: object = None
    batch_size: int = 256
    per_label: bool = True
    previous: list = field(default=None, init=False)

    def on_epoch_begin(self, net, **kwargs):
        index = len(net.history)
        net.history.record("phase", self.phase)
        if self.phase == "warmup":
            return
        net.history.record("round", index)
        if self.cluster is None:
            return
        tic = time.perf_counter()
        where = f"round {index}, re-clustering"
        if self.previous is None:
            self.previous = [None] * self.Y.shape[1]
        with kept_interrupt(net, where):
            clusterings = recluster(self.cluster, self.net, self.X, self.Y,
                                    self.dp.device, self.batches.rng, self.previous,
                                    self.dp, self.batch_size, where)
            samplers = []
            for j, (cluster_of, classes, centroids) in enumerate(clusterings):
                self.previous[j] = cluster_of
                samplers.append(self.make_sampler(cluster_of, classes, centroids))
        self.batches.samplers = samplers
        sizes = [len(s.sizes) for s in samplers]
        lists = [s.sizes.tolist() for s in samplers]
        net.history.record("n_clusters", sizes if self.per_label else sizes[0])
        net.history.record("cluster_sizes", lists if self.per_label else lists[0])
        net.history.record("clustering_dur", time.perf_counter() - tic)


class LossCache(Callback):
    """After every training step (``on_batch_end``): the per-sample losses
    of the criterion (``per_label_``, one tensor a label; the same on every
    rank, ``dp.consistent``) go to the loss caches of ``batches``'
    samplers."""

    def __init__(self, batches, dp):
        self.batches, self.dp = batches, dp

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        indices = self.batches.drawn[0]
        for sampler, per in zip(self.batches.samplers,
                                self.dp.consistent(net.criterion_.per_label_)):
            sampler.update(indices, per.cpu().numpy())


class ClusterCriterion(nn.Module):
    """The rounds' criterion of ``CLMLEEmbedder``: the mean over the labels
    of the cluster loss (``losses``, one ``ClusterLoss`` a label), plus
    ``softmax_weight`` times ``softmax`` (the warm-up's term) when the
    module has the classifiers.

    In training, each row of the batch drawn by ``batches`` is in its
    cluster of that batch (and, for the other labels, in its cluster of
    their clustering); on held-out rows (eval mode: ``valid_loss``) each
    row joins the cluster of its own class whose centroid is nearest to its
    embedding.  ``per_label_``: the per-sample losses of the last step."""

    def __init__(self, losses, batches, softmax=None, softmax_weight=0.0):
        super().__init__()
        self.losses = nn.ModuleList(losses)
        self.batches = batches
        self.softmax, self.softmax_weight = softmax, softmax_weight

    def step_name(self, epoch, batch):
        steps = self.batches.steps
        return (f"round {epoch}, step {batch} (step {(epoch - 1) * steps + batch} "
                "of the cluster phase)")

    def forward(self, out, y):
        Y = label_columns(y)
        n_heads = len(self.losses)
        raw = out[:n_heads]
        total = 0.0
        self.per_label_ = []
        for j, loss in enumerate(self.losses):
            emb = nn.functional.normalize(raw[j], dim=1)
            sampler = self.batches.samplers[j]
            if not self.training:
                uniq, inverse = np.unique(nearest_cluster_of_class(
                    emb, Y[:, j].cpu().numpy(), sampler), return_inverse=True)
            elif j == self.batches.label:  # the sampler's own clustering
                _, inverse, uniq = self.batches.drawn
            else:
                uniq, inverse = np.unique(sampler.cluster_of[self.batches.drawn[0]],
                                          return_inverse=True)
            loss_j, per = loss(emb, torch.from_numpy(inverse).to(emb.device),
                               torch.from_numpy(sampler.cluster_classes[uniq]).to(
                                   emb.device))
            total = total + loss_j
            self.per_label_.append(per)
        total = total / n_heads
        if self.softmax is not None and len(out) > n_heads:
            total = total + self.softmax_weight * self.softmax(out[n_heads:], Y)
        return total


@dataclass
class Phase:
    """One skorch fit of ``train``: its module, criterion, epochs, the
    library's callbacks and further ``NeuralNet`` parameters."""

    module: nn.Module
    criterion: nn.Module
    epochs: int
    callbacks: list
    params: dict


def warmup_phase(model, softmax, epochs, batch_size, rng):
    """The softmax warm-up: ``epochs`` passes over shuffled rows (skorch's
    shuffling, seeded from ``rng``) in batches of ``batch_size``."""
    generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
    return Phase(model, WarmupLoss(softmax), epochs,
                 [("phase", RoundStart("warmup"))],
                 dict(batch_size=batch_size, iterator_train__shuffle=True,
                      iterator_train__generator=generator))


def round_phase(criterion, batches, start, dp, n_rounds, module, loss_cache=True):
    """The rounds: ``n_rounds`` skorch epochs of ``batches`` (a
    ``RoundBatches``) begun by ``start`` (a ``RoundStart``), the loss
    caches fed back by ``LossCache`` (``loss_cache``: the samplers have
    one)."""
    cache = [("loss_cache", LossCache(batches, dp))] if loss_cache else []
    return Phase(module, criterion, n_rounds, [("round_start", start), *cache],
                 dict(iterator_train__batch_sampler=batches,
                      iterator_train__batch_size=1, iterator_train__shuffle=False))


def clmle_phases(s, budget, model, X, Y, rng, dp, between, within, multilabel):
    """The optimiser and the phases of ``train`` for ``CLMLEEmbedder``'s
    resolved settings ``s`` (``_auto.Settings``) and ``budget``
    (``_budget.Budget``): the warm-up, then the cluster rounds with their
    losses (the per-class margins ``between`` and the ``within`` margin of
    every label), clustering and batch sampler."""
    softmax = SoftmaxTerm(Y, multilabel, s.warmup_class_weight)
    warmup = (warmup_phase(model, softmax, budget.warmup_epochs, s.warmup_batch, rng)
              if budget.warmup_epochs else None)
    losses = [ClusterLoss(a1, a2, s.scale, s.cost_sensitive)
              for a1, a2 in zip(between, within)]
    batches = partial(ClusterBatchSampler,
                      n_clusters_per_batch=s.n_clusters_per_batch,
                      n_per_cluster=s.n_samples_per_cluster, query=s.query)
    sampler = RoundBatches(budget.steps_per_round, rng, "cluster")
    start = RoundStart("cluster", sampler, PerClassClustering(s.cluster_size), batches,
                       model.net, X, Y, dp, s.batch_size)
    with_head = s.softmax_weight > 0
    criterion = ClusterCriterion(losses, sampler, softmax if with_head else None,
                                 s.softmax_weight)
    return dict(
        optimizer=OptimizerSpec(s.optimizer, s.learning_rate, s.weight_decay),
        warmup=warmup,
        rounds=round_phase(criterion, sampler, start, dp, budget.n_rounds,
                           SoftmaxModel(model.net,
                                        model.classifiers if with_head else None)))


def train(X, Y, device, dp=None, *, warmup, rounds, optimizer, verbose=0,
          callbacks=None, valid=None):
    """Train through the warm-up (a ``Phase``, or ``None``) and the rounds
    (a ``Phase``),
    one skorch fit each on ``X`` and the targets ``Y`` (a column a label);
    returns ``(history, callbacks_)``: the joined ``History`` and the last
    fit's callbacks (the data-parallel module wraps each phase's network
    anew).  ``optimizer``: an
    ``OptimizerSpec``, a fresh optimiser each fit; ``callbacks``: skorch
    callbacks, cloned once (each fit initialises them again); ``valid``:
    ``(X, Y)`` tensors of held-out rows, whose loss is ``valid_loss``.
    ``dp``: the data-parallel context; ``None``, a plain fit."""
    dp = SingleProcess(device) if dp is None else dp
    user = [cloned_callback(cb) for cb in (callbacks or [])]
    y = Y[:, 0] if Y.shape[1] == 1 else Y
    y = torch.from_numpy(np.ascontiguousarray(y))
    params = {}
    if valid is not None:
        valid = RowsDataset(valid[0], valid[1][:, 0] if valid[1].shape[1] == 1
                            else valid[1])
        # the held-out rows are one batch: the losses couple its rows
        params["iterator_valid__batch_size"] = len(valid)
    fits = []
    # numpy's small per-step products must not leave OpenBLAS threads spinning
    # against torch's OpenMP threads: numpy's BLAS gets one thread meanwhile.
    with threadpool_limits(limits=1, user_api="blas"):
        for phase in ([warmup] if warmup is not None else []) + [rounds]:
            fits.append(fit_net(
                dp.wrap(phase.module), phase.criterion, X, y, epochs=phase.epochs,
                optimizer=optimizer, device=device, callbacks=phase.callbacks,
                user_callbacks=user, valid=valid, verbose=verbose if dp.is_root else 0,
                **params, **phase.params))
    return joined_history([f.history for f in fits]), fits[-1].callbacks_
