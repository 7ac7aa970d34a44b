"""Training of LongTailNetClassifier (private): the loss of each epoch and the
mini-batch loop."""

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

from ..losses import longtail as L
from .distributed import SingleProcess
from .skorch_net import cloned_callback, fit_net

__all__ = ["AUTO_ANGULAR_MARGIN", "HeadCriterion", "HeadLoss", "LOSSES",
           "LossSchedule", "MULTILABEL_LOSSES", "train_head_net",
           "warn_if_never_reweighted"]

LOSSES = ("ce", "weighted_ce", "logit_adjusted", "ldam_drw", "focal",
          "class_balanced_focal", "cosface", "arcface")
# Losses available for multi-label targets (binary cross-entropy per label).
MULTILABEL_LOSSES = ("ce", "weighted_ce")
# ``angular_margin="auto"``: the margins of the CosFace and ArcFace papers.
AUTO_ANGULAR_MARGIN = {"cosface": 0.35, "arcface": 0.5}


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

    @classmethod
    def resolve(cls, name, counts, multilabel, *, epochs, drw_epoch,
                angular_margin, **settings):
        """The loss ``name`` of a fit with ``epochs`` epochs: refused for
        multi-label targets unless in ``MULTILABEL_LOSSES``; ``drw_epoch``
        (LDAM-DRW only) ``None`` is ``2 * epochs // 3``; ``angular_margin``
        (CosFace, ArcFace only) ``"auto"`` is the paper's; ``settings``: the
        other fields (``tau``, ``gamma``, ``beta``, ``ldam_max_margin``,
        ``angular_scale``)."""
        if multilabel and name not in MULTILABEL_LOSSES:
            allowed = ", ".join(repr(v) for v in MULTILABEL_LOSSES)
            raise ValueError(
                f"loss={name!r} is not available for multi-label y (a binary "
                f"indicator matrix); use loss in ({allowed})."
            )
        if name == "ldam_drw":
            drw_epoch = 2 * epochs // 3 if drw_epoch is None else int(drw_epoch)
        else:
            drw_epoch = None
        if name in AUTO_ANGULAR_MARGIN:
            angular_margin = float(AUTO_ANGULAR_MARGIN[name] if angular_margin == "auto"
                                   else angular_margin)
        else:
            angular_margin = None
        return cls(name, counts, multilabel, angular_margin=angular_margin,
                   drw_epoch=drw_epoch, **settings)

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


class HeadCriterion(nn.Module):
    """``LongTailNetClassifier``'s criterion: the ``HeadLoss`` ``loss`` at the
    current epoch (``epoch``, 0-based, set by ``LossSchedule``) of the
    logits and the targets."""

    def __init__(self, loss):
        super().__init__()
        self.loss = loss
        self.epoch = 0

    def forward(self, logits, y):
        return self.loss.at(self.epoch)[0](logits, y)


class LossSchedule(Callback):
    """Tells the criterion the epoch that begins (LDAM-DRW re-weights from
    ``drw_epoch``) and records ``reweighted``."""

    def on_epoch_begin(self, net, **kwargs):
        net.criterion_.epoch = len(net.history) - 1
        net.history.record("reweighted", net.criterion_.loss.at(
            net.criterion_.epoch)[1])


def warn_if_never_reweighted(trained, drw_epoch, epochs, stacklevel=2):
    """Warn when LDAM-DRW's re-weighting (from epoch ``drw_epoch + 1``;
    ``None`` for the other losses) never ran in the ``trained`` epochs of a
    fit whose budget was ``epochs``."""
    if drw_epoch is None or trained > drw_epoch:
        return
    why = (f"epochs={epochs} ends" if trained == epochs else
           f"training stopped after {trained} of epochs={epochs} "
           "epoch(s) (a callback such as EarlyStopping stopped it)")
    warnings.warn(
        f"loss='ldam_drw': the deferred re-weighting never ran; {why} "
        f"before the re-weighting from epoch drw_epoch_ + 1 = "
        f"{drw_epoch + 1}. Lower drw_epoch, or train longer.",
        UserWarning, stacklevel=stacklevel)


def decode_multilabel(logits):
    """``predict`` of the skorch net (for scoring callbacks): 0/1 a label."""
    return (logits > 0).long()


def decode_classes(logits):
    """``predict`` of the skorch net (for scoring callbacks): class indices."""
    return logits.argmax(dim=1)


def train_head_net(net, X, y, device, rng, dp=None, *, loss, optimizer, epochs,
                   batch_size, verbose=0, callbacks=None, train_split=None):
    """Train ``net`` on the float32 tensor ``X`` and encoded numpy ``y``: one
    skorch fit (``skorch_net.fit_net``) of ``epochs`` epochs of shuffled
    batches of ``batch_size`` (skorch's shuffling, seeded from ``rng``) with
    the loss ``loss.at(epoch)`` (a ``HeadLoss``) and the optimiser
    ``optimizer`` (an ``OptimizerSpec``).  ``callbacks``: skorch callbacks,
    cloned (the user's objects are not changed), run after the library's
    own; ``train_split``: skorch's, e.g. ``ValidSplit(0.2,
    stratified=True)``, or ``None`` (train on all rows).  ``verbose``:
    skorch's per-epoch table (on rank 0; ``reweighted`` only for LDAM-DRW,
    where it changes).  Returns skorch's history and fitted callbacks.
    ``dp``: the data-parallel context (``training.distributed``); ``None``,
    a plain fit.
    """
    dp = SingleProcess(device) if dp is None else dp
    generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
    fitted = fit_net(
        dp.wrap(net), HeadCriterion(loss), X, torch.from_numpy(y), epochs=epochs,
        optimizer=optimizer, device=device,
        callbacks=[("loss_schedule", LossSchedule())],
        user_callbacks=[cloned_callback(cb) for cb in (callbacks or [])],
        verbose=verbose if dp.is_root else 0, batch_size=batch_size,
        iterator_train__shuffle=True, iterator_train__generator=generator,
        train_split=train_split,
        predict_nonlinearity=decode_multilabel if loss.multilabel else decode_classes,
        ignored=() if loss.drw_epoch is not None else ("reweighted",))
    return fitted.history, fitted.callbacks_
