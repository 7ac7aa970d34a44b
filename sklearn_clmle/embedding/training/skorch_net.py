"""The torch estimators' training on skorch's ``NeuralNet`` (private).

Every fit is made of skorch fits (``fit_net``): the warm-up and the rounds
of the embedders are one each (``clmle_rounds``, ``metric_rounds``),
``LongTailNetClassifier`` is one (``supervised``).  skorch runs them as
usual: the real rows go through a skorch ``Dataset`` (``RowsDataset``, whose
batches are fetched with one index per batch) and an iterator whose batches
come from a batch sampler (``iterator_train__batch_sampler``) or from
skorch's shuffling, the loss is the ``criterion``, the per-epoch and
per-batch work sits in callbacks, and ``History`` records it all.

``TrainingNet`` adds what the library promises on top of skorch's step,
through skorch's hooks: ``train_step_single`` names the step in any
exception raised in it and keeps a ``KeyboardInterrupt`` (which skorch's
loop swallows) so that ``fit_net`` raises it again after the fit;
``get_loss`` refuses a non-finite training loss.  The step's name comes from
the criterion (``step_name(epoch, batch)``, both 1-based).
"""

import contextlib
import sys

import numpy as np
import torch
from sklearn.base import clone
from skorch import NeuralNet
from skorch.callbacks import Callback, PrintLog, ProgressBar
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from skorch.history import History

from .engine import _check_finite, at_step, extract

__all__ = ["PlainPrintLog", "RowsDataset", "StepLosses", "TrainingNet", "cloned_callback",
           "fit_net", "held_out_rows", "joined_history", "kept_interrupt",
           "rows_batch"]

# History keys whose values are lists (not table columns of PrintLog).
LIST_KEYS = ["step_loss", "cluster_sizes", "n_clusters", "train_batch_size",
             "valid_batch_size"]


class RowsDataset(Dataset):
    """skorch's ``Dataset`` of tensors, whose batches are fetched with one
    index per batch (``__getitems__``, which torch's ``DataLoader`` calls;
    ``rows_batch`` is the matching ``collate_fn``)."""

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices)
        return self.X[idx], (None if self.y is None else self.y[idx])


def rows_batch(batch):
    """``collate_fn`` of ``RowsDataset``: the batch is already one."""
    return batch


class TrainingNet(NeuralNet):
    """skorch's ``NeuralNet`` with the library's checks on its step (see the
    module docstring)."""

    interrupt_ = None

    def step_name(self):
        epoch = len(self.history)
        batch = len(self.history[-1]["batches"]) if epoch else 0
        name = getattr(self.criterion_, "step_name", None)
        return (name(epoch, batch) if name is not None
                else f"epoch {epoch}, batch {batch}")

    def transform(self, X):
        """Unit-norm embeddings (float32 numpy, one block a head) of the
        rows ``X`` (a float32 tensor, e.g. the held-out rows a scoring
        callback receives), as the embedders' ``transform`` computes them
        (their module: ``clmle_rounds.SoftmaxModel``)."""
        return extract(self.module_.net, X, max(1, len(X)), self.device)

    def train_step_single(self, batch, **fit_params):
        with kept_interrupt(self, self.step_name()):
            return super().train_step_single(batch, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training:
            _check_finite(loss, self.step_name())
        return loss


class PlainPrintLog(PrintLog):
    """skorch's ``PrintLog``, without ANSI colours unless the sink is
    ``print`` to a terminal (no escape codes in logs, files and notebooks'
    captures)."""

    def format_row(self, row, key, color):
        if self.sink is print and sys.stdout.isatty():
            return super().format_row(row, key, color)
        return super().format_row({k: v for k, v in row.items()
                                   if k != key + "_best"}, key, color)


class StepLosses(Callback):
    """Records ``step_loss``, the loss of every step of the epoch."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("step_loss", [
            b["train_loss"] for b in net.history[-1]["batches"] if "train_loss" in b])


def fit_net(module, criterion, X, y, *, epochs, optimizer, device, callbacks=(),
            user_callbacks=(), valid=None, verbose=0, ignored=(), **params):
    """A ``TrainingNet`` fitted ``epochs`` epochs on the tensors ``X, y``.

    ``module``, ``criterion``: instances; ``optimizer``: an
    ``OptimizerSpec``; ``callbacks``: the library's ``(name, callback)``
    pairs, run before ``user_callbacks`` (the user's, already cloned:
    ``cloned_callback``); ``valid``: a ``Dataset`` of held-out rows
    (``predefined_split``), or ``None``; ``ignored``: history keys left
    out of the ``verbose`` table; ``params``: further ``NeuralNet``
    parameters (``batch_size``, ``iterator_train__*``, ``train_split``, ...).
    A user's ``ProgressBar`` left at ``batches_per_epoch="auto"`` counts the
    batches of an ``iterator_train__batch_sampler`` (``counted_batches``).
    A ``KeyboardInterrupt`` raised in a step is raised again once skorch
    has ended the fit; an optimiser step that overflows (a huge
    ``learning_rate``) is a ``FloatingPointError`` naming the step."""
    cls, kwargs = optimizer.torch_class()
    if valid is not None:
        params["train_split"] = predefined_split(valid)
    params.setdefault("train_split", None)
    net = TrainingNet(
        module=module, criterion=criterion, optimizer=cls, lr=optimizer.learning_rate,
        **{f"optimizer__{k}": v for k, v in kwargs.items()},
        dataset=RowsDataset, iterator_train__collate_fn=rows_batch,
        iterator_valid__collate_fn=rows_batch, max_epochs=epochs,
        callbacks=[*callbacks, ("step_losses", StepLosses()),
                   *user_callbacks],
        callbacks__print_log=PlainPrintLog(keys_ignored=[*LIST_KEYS, *ignored]),
        verbose=verbose, device=device, **params)
    try:
        with counted_batches(net, user_callbacks, valid):
            net.partial_fit(X, y)
    except RuntimeError as exc:
        if "overflow" not in str(exc):
            raise
        raise FloatingPointError(
            f"The optimiser's step overflowed at {net.step_name()} ({exc}). "
            "Lower learning_rate (or weight_decay).") from exc
    if net.interrupt_ is not None:
        raise net.interrupt_
    return net


@contextlib.contextmanager
def counted_batches(net, callbacks, valid):
    """The batches an epoch of ``net`` runs, told to the ``ProgressBar`` callbacks
    among ``callbacks`` left at ``batches_per_epoch="auto"`` while ``net``
    trains with an ``iterator_train__batch_sampler``: the sampler's length
    and the held-out batches of ``valid``.  (skorch's ``"auto"`` divides the
    dataset's length by ``iterator_train__batch_size``, which a batch
    sampler requires to be 1: the rows, not the batches.)  The callbacks
    get ``"auto"`` back afterwards."""
    sampler = net.get_params().get("iterator_train__batch_sampler")
    bars = [cb for cb in (c[1] if isinstance(c, tuple) else c for c in callbacks)
            if isinstance(cb, ProgressBar) and cb.batches_per_epoch == "auto"]
    if sampler is None or not bars:
        yield
        return
    n_batches = len(sampler)
    if valid is not None:
        params = net.get_params()
        size = params.get("iterator_valid__batch_size", params["batch_size"])
        n_batches += -(-len(valid) // size)
    for bar in bars:
        bar.set_params(batches_per_epoch=n_batches)
    try:
        yield
    finally:
        for bar in bars:
            bar.set_params(batches_per_epoch="auto")


@contextlib.contextmanager
def kept_interrupt(net, where):
    """``at_step(where)``, and a ``KeyboardInterrupt`` raised inside kept on
    ``net`` for ``fit_net`` (skorch's loop swallows it)."""
    try:
        with at_step(where):
            yield
    except KeyboardInterrupt as exc:
        net.interrupt_ = exc
        raise


def joined_history(histories):
    """One ``History`` of the epochs of successive fits (phases), numbered
    on from one fit to the next."""
    joined = History()
    for history in histories:
        for row in history:
            joined.append({**row, "epoch": len(joined) + 1})
    return joined


def held_out_rows(train_split, y):
    """The training rows and the held-out rows (``None`` for none) that
    ``train_split`` (skorch's, e.g. ``ValidSplit(0.2, stratified=True)``)
    makes of a skorch ``Dataset`` of the row indices with the targets ``y``
    (called as skorch calls it: ``train_split(dataset, y)``)."""
    n = len(y)
    out = train_split(Dataset(np.arange(n), y), y)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"train_split={train_split!r} returned {type(out).__name__}; a "
            "train_split should return (dataset_train, dataset_valid), as "
            "skorch.dataset.ValidSplit does.")
    rows = []
    for what, dataset in zip(("training", "validation"), out):
        if dataset is None and what == "validation":
            rows.append(None)
            continue
        try:
            idx = _dataset_rows(dataset)
        except (AttributeError, TypeError, IndexError) as exc:
            raise TypeError(
                f"train_split={train_split!r} returned a {what} part of type "
                f"{type(dataset).__name__}; expected the dataset it was given "
                "or a torch.utils.data.Subset of it (as skorch.dataset."
                "ValidSplit returns).") from exc
        if idx.size == 0 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n:
            raise ValueError(
                f"train_split={train_split!r} gave a {what} part of "
                f"{idx.size} rows; both parts should hold at least one of the "
                f"{n} rows.")
        rows.append(idx)
    return rows[0], rows[1]


def _dataset_rows(dataset):
    """The row indices held by a ``Dataset`` of row indices or by a
    ``torch.utils.data.Subset`` of one."""
    if isinstance(dataset, torch.utils.data.Subset):
        keep = np.asarray(dataset.indices)
        return _dataset_rows(dataset.dataset)[keep.astype(np.intp) if keep.size == 0
                                              else keep]
    return np.asarray(dataset.X)


def cloned_callback(callback):
    """A fresh copy of a user's skorch callback (or ``(name, callback)``)."""
    if isinstance(callback, tuple):
        name, cb = callback
        return name, clone(cb)
    return clone(callback)
