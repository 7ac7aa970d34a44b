"""The budget read from a validation curve, and the kept softmax head (private).

With held-out rows (a ``train_split``, or the folds of ``CLMLEClassifier``)
``CLMLEEmbedder(epochs="auto")`` runs up to ``_budget.CURVE_ROUNDS`` rounds
sharing a cap of passes (``_budget.curve_cap``) and stops once the held-out
loss (``valid_loss``, the rounds' own objective on the held-out rows, or the
softmax head's) has not improved for ``_budget.CURVE_PATIENCE`` rounds: ``curve_stopping`` is that skorch
``EarlyStopping``; ``best_round`` reads the budget a refit on all rows uses
from the history: the earliest round within one standard error of the
lowest held-out loss.
"""

import hashlib

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping

from ._budget import CURVE_PATIENCE
from .training.engine import extract, on_device


def _quiet(*args, **kwargs):
    pass


class HeldOutHeadLoss(Callback):
    """Records ``valid_head_loss`` with every held-out batch (the held-out
    rows are one): the class-balanced cross-entropy of the softmax head (no
    training offset) on them, single-label, each class weighing as much
    as any other; it estimates the balanced risk, which balanced accuracy
    follows, and is smoother than the held-out accuracy.  The logits are
    the module's (``clmle_rounds.SoftmaxModel``: raw head, then logits)."""

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training or y_pred is None or len(y_pred) < 2:
            return
        with torch.no_grad():
            logits = y_pred[1]
            y = batch[1].to(logits.device)
            per = torch.nn.functional.cross_entropy(logits, y, reduction="none")
            counts = torch.bincount(y, minlength=logits.shape[1]).double()
            w = (1.0 / counts.clamp(min=1))[y]
            w = w / w.sum()
            per = per.double()
            loss = float((w * per).sum())
            # the weighted mean's standard error over the held-out rows
            se = float(torch.sqrt((w ** 2 * (per - loss) ** 2).sum()))
        net.history.record("valid_head_loss", loss)
        net.history.record("valid_head_loss_se", se)


def curve_monitor(multilabel, softmax_weight):
    """``(callbacks, monitor)``: the held-out head loss where it means
    something (single-label ``y``, the softmax term trained in the rounds),
    else the rounds' own ``valid_loss``."""
    if multilabel or softmax_weight <= 0:
        return [], "valid_loss"
    return [("valid_head_loss", HeldOutHeadLoss())], "valid_head_loss"


def curve_stopping(monitor="valid_loss", verbose=0, *, patience=CURVE_PATIENCE,
                   load_best=False):
    """skorch's ``EarlyStopping`` on ``monitor`` with the curve's patience
    (the embedders'; ``LongTailNetClassifier`` gives its own), its message
    printed only when ``verbose``: the budget of every torch estimator read
    from a held-out curve."""
    return EarlyStopping(monitor=monitor, patience=patience, threshold=1e-4,
                         threshold_mode="rel", load_best=load_best,
                         sink=print if verbose else _quiet)


def best_round(history, monitor="valid_loss", phase="cluster", key="round"):
    """The ``key`` (1-based) the budget stops at, among the rows of
    ``phase`` of a ``history_``: an embedder's cluster round, or with
    ``phase=None, key="epoch"`` a ``LongTailNetClassifier``'s epoch.

    Where the history records the held-out loss's standard error
    (``monitor + "_se"``, as ``HeldOutHeadLoss`` does), the one-standard-error
    rule: the earliest row whose loss is at most the lowest loss plus its
    standard error (rows that differ by less than the held-out rows can tell
    apart are ties, so float rounding that moves the lowest point along a
    flat stretch of the curve does not move the budget).  Without a
    standard error: the row of lowest ``monitor`` (the first on a tie).
    """
    rows = [row for row in history
            if (phase is None or row.get("phase") == phase) and monitor in row]
    if not rows:
        what = " ".join(filter(None, (phase, key)))
        raise ValueError(f"the history holds no {what} with a {monitor}")
    losses = np.array([row[monitor] for row in rows])
    best = int(np.argmin(losses))
    se_key = monitor + "_se"
    if se_key in rows[best]:
        best = int(np.flatnonzero(losses <= losses[best] + rows[best][se_key])[0])
    return int(rows[best][key])


def head_log_proba(module, classifier, X, batch_size, device):
    """``log_softmax(classifier(raw head))`` of the rows of ``X``, in
    batches (``engine.extract``), as float64 numpy (``module``: a fitted
    ``EmbeddingNet`` on the CPU; ``classifier``: the kept ``nn.Linear`` of
    its first head)."""
    model = on_device(torch.nn.ModuleList([module, classifier]).eval(), device)

    def output(model, xb):
        return torch.log_softmax(model[1](model[0].raw_heads(xb)[0]), dim=1)

    return extract(model, X, batch_size, device, output=output,
                   width=classifier.out_features).astype(np.float64)


class FixedSplit:
    """A skorch ``train_split`` that keeps the rows ``train`` for training
    and holds out ``held`` (row positions of the data given to ``fit``), as
    ``CLMLEClassifier`` gives its folds to the embedder.  Its rows are
    fixed, so a data-parallel fit accepts it; its ``repr`` carries a digest
    of the rows, which the fit's check that every rank passed the same
    parameters compares."""

    def __init__(self, train, held):
        self.train = np.asarray(train)
        self.held = np.asarray(held)

    def __call__(self, dataset, y=None):
        return (torch.utils.data.Subset(dataset, self.train),
                torch.utils.data.Subset(dataset, self.held))

    def __repr__(self):
        digest = hashlib.blake2b(digest_size=4)
        for rows in (self.train, self.held):
            digest.update(np.ascontiguousarray(rows, dtype=np.int64).tobytes() + b"|")
        return (f"FixedSplit({len(self.train)} training rows, {len(self.held)} "
                f"held out, rows {digest.hexdigest()})")
