"""Training of LongTailNetClassifier (private): the loss of each epoch and the
mini-batch loop."""

import math
import time

import numpy as np
import torch
from skorch.history import History
from tqdm.auto import tqdm

from ..losses import longtail as L
from .distributed import SingleProcess
from .engine import make_optimizer, run_epoch

__all__ = ["epoch_loss", "train_head_net"]


def epoch_loss(est, epoch):
    """The loss function of ``epoch`` (0-based) for the fitted settings of
    ``est``, and whether it is re-weighted.

    Returns ``(fn, reweighted)`` with ``fn(logits, targets)`` a scalar.
    """
    counts = est.class_counts_
    if est._multilabel:
        if est.loss == "ce":
            return (lambda z, t: L.binary_cross_entropy_loss(z, t)), False
        w = L.balanced_label_weights(counts)
        return (lambda z, t: L.binary_cross_entropy_loss(z, t, w)), True
    if est.loss == "ce":
        return (lambda z, t: L.cross_entropy_loss(z, t)), False
    if est.loss == "weighted_ce":
        w = L.balanced_weights(counts)
        return (lambda z, t: L.cross_entropy_loss(z, t, w)), True
    if est.loss == "logit_adjusted":
        return (lambda z, t: L.logit_adjusted_loss(z, t, counts, est.tau)), False
    if est.loss == "focal":
        return (lambda z, t: L.focal_loss(z, t, est.gamma)), False
    if est.loss == "class_balanced_focal":
        w = L.effective_number_weights(counts, est.beta)
        return (lambda z, t: L.focal_loss(z, t, est.gamma, w)), True
    if est.loss == "cosface":
        return (lambda z, t: L.cosface_loss(z, t, est.angular_margin_,
                                          est.angular_scale)), False
    if est.loss == "arcface":
        return (lambda z, t: L.arcface_loss(z, t, est.angular_margin_,
                                          est.angular_scale)), False
    # ldam_drw
    reweighted = epoch >= est.drw_epoch_
    w = L.effective_number_weights(counts, est.beta) if reweighted else None
    return (lambda z, t: L.ldam_loss(z, t, counts, est.ldam_max_margin,
                                   est.angular_scale, w)), reweighted


def train_head_net(est, net, X, y, device, rng, dp=None):
    """Train ``net`` on the float32 tensor ``X`` and encoded numpy ``y``.

    Epochs of shuffled mini-batches (the permutations drawn from ``rng``)
    with ``est``'s optimiser settings; returns the skorch ``History``.
    ``dp``: the data-parallel context (``training.distributed``); ``None``,
    a plain fit.
    """
    dp = SingleProcess(device) if dp is None else dp
    history = History()
    n = len(y)
    y_t = torch.from_numpy(y)
    opt = make_optimizer(est.optimizer, net.parameters(), est.learning_rate,
                         est.weight_decay)
    n_batches = math.ceil(n / est.batch_size)
    forward = dp.replicate(net)
    net.train()
    with tqdm(total=est.epochs * n_batches, disable=not est.verbose or not dp.is_root,
              desc=type(est).__name__, leave=False) as bar:
        for epoch in range(est.epochs):
            history.new_epoch()
            tic = time.perf_counter()
            loss_fn, reweighted = est._epoch_loss(epoch)
            losses = run_epoch(
                lambda idx: loss_fn(forward(X, idx, device), y_t[idx].to(device)),
                opt, torch.from_numpy(rng.permutation(n)), est.batch_size,
                f"epoch {epoch + 1}", bar, epoch=epoch + 1,
            )
            history.record("epoch", epoch + 1)
            history.record("reweighted", reweighted)
            history.record("step_loss", losses)
            history.record("train_loss", float(np.mean(losses)))
            history.record("dur", time.perf_counter() - tic)
    return history
