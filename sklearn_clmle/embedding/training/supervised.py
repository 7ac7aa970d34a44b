"""Training of LongTailNetClassifier (private): the loss of each epoch and the
mini-batch loop."""

from dataclasses import dataclass

import numpy as np

from ..losses import longtail as L
from .distributed import SingleProcess
from .skorch_net import (
    EpochCriterion,
    EpochLoss,
    EpochsEnded,
    HeadNetTrainer,
    IndexBatches,
    PrintTable,
    RowsForward,
    StepLosses,
    cloned_callback,
    raise_if_interrupted,
)

__all__ = ["AUTO_ANGULAR_MARGIN", "HeadLoss", "LOSSES", "MULTILABEL_LOSSES",
           "train_head_net"]

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


def train_head_net(net, X, y, device, rng, dp=None, *, loss, optimizer, epochs,
                   batch_size, verbose=0, callbacks=None, train_split=None):
    """Train ``net`` on the float32 tensor ``X`` and encoded numpy ``y`` with
    skorch (``skorch_net.HeadNetTrainer``).

    ``epochs`` epochs of shuffled mini-batches of ``batch_size`` (one
    permutation a pass, drawn from ``rng``) with the loss ``loss.at(epoch)``
    (a ``HeadLoss``) and the optimiser ``optimizer`` (an ``OptimizerSpec``).
    ``callbacks``: skorch callbacks, cloned (the user's objects are not
    changed), run after the library's own; ``train_split``: skorch's, e.g.
    ``ValidSplit(0.2, stratified=True)``, or ``None`` (train on all rows).
    ``verbose``: skorch's per-epoch table (on rank 0; ``reweighted`` only
    for LDAM-DRW, where it changes).  Returns the fitted trainer (its
    ``history`` and ``callbacks_``).  ``dp``: the data-parallel context
    (``training.distributed``); ``None``, a plain fit.
    """
    dp = SingleProcess(device) if dp is None else dp
    cls, kwargs = optimizer.torch_class()
    user = [cloned_callback(cb) for cb in (callbacks or [])]
    trainer = HeadNetTrainer(
        module=RowsForward(net, X, dp.replicate(net), device),
        criterion=EpochCriterion, optimizer=cls,
        lr=optimizer.learning_rate,
        **{f"optimizer__{k}": v for k, v in kwargs.items()},
        max_epochs=epochs, batch_size=batch_size,
        iterator_train=IndexBatches, iterator_train__rng=rng,
        iterator_train__shuffle=True, iterator_valid=IndexBatches,
        train_split=train_split,
        callbacks=[("epochs_ended", EpochsEnded()), ("epoch_loss", EpochLoss(loss)),
                   ("step_losses", StepLosses()), *user],
        callbacks__print_log=PrintTable(
            keys_ignored=None if loss.drw_epoch is not None else ["reweighted"]),
        verbose=verbose if dp.is_root else 0, device=device,
    )
    trainer.multilabel_ = loss.multilabel
    trainer.fit(np.arange(len(y)), y)
    raise_if_interrupted(trainer)
    return trainer
