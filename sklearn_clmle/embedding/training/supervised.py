"""Training of LongTailNetClassifier (private): the loss of each epoch and the
mini-batch loop."""

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from skorch.history import History
from tqdm.auto import tqdm

from ..losses import longtail as L
from .distributed import SingleProcess
from .engine import run_epoch

__all__ = ["HeadLoss", "train_head_net"]


@dataclass(frozen=True)
class HeadLoss:
    """The loss of a ``LongTailNetClassifier`` fit: its ``name`` (the
    ``loss`` parameter) with the settings it needs, fixed at ``fit``;
    ``at(epoch)`` is the loss of ``epoch`` (LDAM-DRW re-weights from
    ``drw_epoch``)."""

    name: str
    counts: np.ndarray  # samples per class, or (2, n_labels) for multi-label y
    multilabel: bool
    tau: float
    gamma: float
    beta: float
    ldam_max_margin: float
    angular_scale: float
    angular_margin: float = None
    drw_epoch: int = None

    def at(self, epoch):
        """The loss function of ``epoch`` (0-based) and whether it is
        re-weighted: ``(fn, reweighted)`` with ``fn(logits, targets)`` a
        scalar."""
        counts = self.counts
        if self.multilabel:
            if self.name == "ce":
                return (lambda z, t: L.binary_cross_entropy_loss(z, t)), False
            w = L.balanced_label_weights(counts)
            return (lambda z, t: L.binary_cross_entropy_loss(z, t, w)), True
        if self.name == "ce":
            return (lambda z, t: L.cross_entropy_loss(z, t)), False
        if self.name == "weighted_ce":
            w = L.balanced_weights(counts)
            return (lambda z, t: L.cross_entropy_loss(z, t, w)), True
        if self.name == "logit_adjusted":
            return (lambda z, t: L.logit_adjusted_loss(z, t, counts, self.tau)), False
        if self.name == "focal":
            return (lambda z, t: L.focal_loss(z, t, self.gamma)), False
        if self.name == "class_balanced_focal":
            w = L.effective_number_weights(counts, self.beta)
            return (lambda z, t: L.focal_loss(z, t, self.gamma, w)), True
        if self.name == "cosface":
            return (lambda z, t: L.cosface_loss(z, t, self.angular_margin,
                                              self.angular_scale)), False
        if self.name == "arcface":
            return (lambda z, t: L.arcface_loss(z, t, self.angular_margin,
                                              self.angular_scale)), False
        # ldam_drw
        reweighted = epoch >= self.drw_epoch
        w = L.effective_number_weights(counts, self.beta) if reweighted else None
        return (lambda z, t: L.ldam_loss(z, t, counts, self.ldam_max_margin,
                                       self.angular_scale, w)), reweighted


def train_head_net(net, X, y, device, rng, dp=None, *, loss, optimizer, epochs,
                   batch_size, verbose=0, name="LongTailNetClassifier"):
    """Train ``net`` on the float32 tensor ``X`` and encoded numpy ``y``.

    ``epochs`` epochs of shuffled mini-batches of ``batch_size`` (the
    permutations drawn from ``rng``) with the loss ``loss.at(epoch)`` (a
    ``HeadLoss``) and the optimiser ``optimizer`` (an ``OptimizerSpec``);
    returns the skorch ``History``.  ``dp``: the data-parallel context
    (``training.distributed``); ``None``, a plain fit.
    """
    dp = SingleProcess(device) if dp is None else dp
    history = History()
    n = len(y)
    y_t = torch.from_numpy(y)
    opt = optimizer(net.parameters())
    n_batches = math.ceil(n / batch_size)
    forward = dp.replicate(net)
    net.train()
    with tqdm(total=epochs * n_batches, disable=not verbose or not dp.is_root,
              desc=name, leave=False) as bar:
        for epoch in range(epochs):
            history.new_epoch()
            tic = time.perf_counter()
            loss_fn, reweighted = loss.at(epoch)
            losses = run_epoch(
                lambda idx: loss_fn(forward(X, idx, device), y_t[idx].to(device)),
                opt, torch.from_numpy(rng.permutation(n)), batch_size,
                f"epoch {epoch + 1}", bar, epoch=epoch + 1,
            )
            history.record("epoch", epoch + 1)
            history.record("reweighted", reweighted)
            history.record("step_loss", losses)
            history.record("train_loss", float(np.mean(losses)))
            history.record("dur", time.perf_counter() - tic)
    return history
