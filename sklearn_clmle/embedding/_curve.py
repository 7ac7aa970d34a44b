"""The budget read from a validation curve, and the kept softmax head (private).

With held-out rows (a ``train_split``, or the folds of ``CLMLEClassifier``)
``CLMLEEmbedder(epochs="auto")`` runs up to ``_auto.CURVE_ROUNDS`` rounds
sharing a cap of passes (``_auto.curve_cap``) and stops once the held-out loss (``valid_loss``, the
rounds' own objective on the held-out rows) has not improved for
``_auto.CURVE_PATIENCE`` rounds: ``curve_stopping`` is that skorch
``EarlyStopping``; ``best_round`` reads the budget a refit on all rows uses
from the history: the earliest round within one standard error of the
lowest held-out loss.
"""

import copy

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping

from ._auto import CURVE_PATIENCE


def _quiet(*args, **kwargs):
    pass


class HeldOutHeadLoss(Callback):
    """Records ``valid_head_loss`` after every epoch: the class-balanced
    cross-entropy of the phase's softmax head (no training offset) on the
    held-out rows ``X``, ``y`` (single-label), each class weighing as much
    as any other; it estimates the balanced risk, which balanced accuracy
    follows, and is smoother than the held-out accuracy."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def on_epoch_end(self, net, **kwargs):
        module, clf = net.module_, net.phase_.softmax.classifiers[0]
        was = module.training, clf.training
        module.eval()
        clf.eval()
        try:
            with torch.no_grad():
                X, y = self.X.to(net.device), self.y.to(net.device)
                logits = clf(module.raw_heads(X)[0])
                per = torch.nn.functional.cross_entropy(logits, y, reduction="none")
                counts = torch.bincount(y, minlength=logits.shape[1]).double()
                w = (1.0 / counts.clamp(min=1))[y]
                w = w / w.sum()
                per = per.double()
                loss = float((w * per).sum())
                # the weighted mean's standard error over the held-out rows
                se = float(torch.sqrt((w ** 2 * (per - loss) ** 2).sum()))
        finally:
            module.train(was[0])
            clf.train(was[1])
        net.history.record("valid_head_loss", loss)
        net.history.record("valid_head_loss_se", se)


def curve_monitor(valid, multilabel, softmax_weight):
    """``(callbacks, monitor)``: the held-out head loss where it means
    something (single-label ``y``, the softmax term trained in the rounds),
    else the rounds' own ``valid_loss``."""
    if multilabel or softmax_weight <= 0:
        return [], "valid_loss"
    return [("valid_head_loss", HeldOutHeadLoss(valid[0], valid[1][:, 0]))], \
        "valid_head_loss"


def curve_stopping(monitor="valid_loss", verbose=0):
    """skorch's ``EarlyStopping`` on ``monitor`` with the curve's patience
    (its message printed only when ``verbose``)."""
    return EarlyStopping(monitor=monitor, patience=CURVE_PATIENCE,
                         threshold=1e-4, threshold_mode="rel",
                         sink=print if verbose else _quiet)


def best_round(history, monitor="valid_loss"):
    """The round (1-based) the budget stops at, among the cluster rounds of
    an embedder's ``history_``.

    Where the history records the held-out loss's standard error
    (``monitor + "_se"``, as ``HeldOutHeadLoss`` does), the one-standard-error
    rule: the earliest round whose loss is at most the lowest loss plus its
    standard error.  Rounds that differ by less than the held-out rows can
    tell apart are ties, so float rounding that moves the lowest point
    along a flat stretch of the curve does not move the budget (the lowest
    round itself swung between 11 and 15 of 15 rounds across torch's CPU
    kernels on README's digits).  Without a standard error: the round of
    lowest ``monitor`` (the first on a tie).
    """
    rounds = [row for row in history
              if row.get("phase") == "cluster" and monitor in row]
    if not rounds:
        raise ValueError(f"the history holds no cluster round with a {monitor}")
    losses = np.array([row[monitor] for row in rounds])
    best = int(np.argmin(losses))
    se_key = monitor + "_se"
    if se_key in rounds[best]:
        best = int(np.flatnonzero(losses <= losses[best] + rounds[best][se_key])[0])
    return int(rounds[best]["round"])


@torch.no_grad()
def head_log_proba(module, classifier, X, batch_size, device):
    """``log_softmax(classifier(raw head))`` of the rows of ``X``, in
    batches, as float64 numpy (``module``: a fitted ``EmbeddingNet`` on the
    CPU; ``classifier``: the kept ``nn.Linear`` of its first head)."""
    net, clf = module, classifier
    if device != "cpu":  # copies: the fitted CPU modules are never moved
        net, clf = copy.deepcopy(module).to(device), copy.deepcopy(classifier).to(device)
    out = []
    for start in range(0, X.shape[0], batch_size):
        xb = torch.from_numpy(np.array(X[start:start + batch_size], dtype=np.float32))
        raw = net.raw_heads(xb.to(device))[0]
        out.append(torch.log_softmax(clf(raw), dim=1).double().cpu().numpy())
    return np.concatenate(out) if out else np.empty((0, clf.out_features))


class FixedSplit:
    """A skorch ``train_split`` that keeps the rows ``train`` for training
    and holds out ``held`` (row positions of the data given to ``fit``), as
    ``CLMLEClassifier`` gives its folds to the embedder."""

    def __init__(self, train, held):
        self.train = np.asarray(train)
        self.held = np.asarray(held)

    def __call__(self, dataset, y=None):
        return (torch.utils.data.Subset(dataset, self.train),
                torch.utils.data.Subset(dataset, self.held))

    def __repr__(self):
        return f"FixedSplit({len(self.train)} training rows, {len(self.held)} held out)"
