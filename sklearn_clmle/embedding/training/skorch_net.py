"""The torch estimators' training on skorch's ``NeuralNet`` (private).

skorch runs the loop (epochs, batches, callbacks, validation split,
``History``); this module gives it what the library's loop did.  For the
embedders, ``EmbedderTrainer`` runs the phases of ``clmle_rounds`` and
``metric_rounds`` (one skorch epoch per warm-up epoch or round, a fresh
optimiser per phase; ``fit_phases``).  For ``LongTailNetClassifier``:

* ``IndexBatches``, the training iterator: batches of *row indices* in the
  order of one numpy permutation per epoch, drawn from the fit's random
  state (so a fit is the same with or without skorch, bit for bit);
* ``HeadNetTrainer``, a ``NeuralNet`` whose ``infer`` runs the network on
  the rows of the training tensor named by a batch of indices (through the
  data-parallel context, which slices the batch over the ranks), whose loss
  is the epoch's ``HeadLoss``, and whose step refuses a non-finite loss or an
  overflowing optimiser step with the library's errors;
* ``EpochLoss``, the callback that sets the loss of each epoch (LDAM-DRW
  re-weights from ``drw_epoch``) and records ``reweighted`` in the history
  (``StepLosses`` records ``step_loss`` for both trainers).

Users' skorch callbacks (``EarlyStopping``, ``LRScheduler``, ``Checkpoint``,
``EpochScoring``, ...) run beside these; with a ``train_split`` (e.g.
``skorch.dataset.ValidSplit(0.2, stratified=True)``) skorch scores the
held-out rows every epoch (``valid_loss``), which ``EarlyStopping`` reads.
The embedders split before training (``held_out_rows``: their phases are
built on the training rows) and score each phase's own objective on the
held-out rows (``training.validation``).
"""

import math

import numpy as np
import torch
from sklearn.base import clone
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, PrintLog
from skorch.dataset import Dataset, unpack_data
from skorch.utils import TeeGenerator

from .engine import _check_finite, at_step, extract, optimizer_step

__all__ = ["EmbedderTrainer", "EpochLoss", "HeadNetTrainer", "IndexBatches",
           "PrintTable", "StepLosses", "cloned_callback", "fit_phases",
           "held_out_rows"]


def _dataset_rows(dataset):
    """The row indices and targets held by a skorch ``Dataset`` or by a
    ``torch.utils.data.Subset`` of one (what ``train_split`` returns)."""
    if isinstance(dataset, torch.utils.data.Subset):
        idx, y = _dataset_rows(dataset.dataset)
        keep = np.asarray(dataset.indices)
        keep = keep.astype(np.intp) if keep.size == 0 else keep
        return idx[keep], (None if y is None else y[keep])
    return np.asarray(dataset.X), (None if dataset.y is None else np.asarray(dataset.y))


class IndexBatches:
    """skorch iterator over batches of ``(row indices, targets)``.

    ``shuffle``: one permutation of the rows per pass, from ``rng`` (the
    fit's ``RandomState``); otherwise the rows in order (validation).
    """

    def __init__(self, dataset, batch_size, rng=None, shuffle=False):
        self.rows, self.y = _dataset_rows(dataset)
        self.batch_size = batch_size
        self.rng = rng
        self.shuffle = shuffle

    def __len__(self):
        return math.ceil(len(self.rows) / self.batch_size)

    def __iter__(self):
        n = len(self.rows)
        order = (torch.from_numpy(self.rng.permutation(n)) if self.shuffle
                 else torch.arange(n))
        rows = torch.from_numpy(self.rows)
        y = None if self.y is None else torch.from_numpy(self.y)
        for start in range(0, n, self.batch_size):
            take = order[start:start + self.batch_size]
            yield rows[take], (None if y is None else y[take])


class EpochLoss(Callback):
    """Sets ``net.loss_fn_`` to the loss of the starting epoch
    (``head_loss.at(epoch)``) and records ``reweighted``."""

    def __init__(self, head_loss):
        self.head_loss = head_loss

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - 1
        net.loss_fn_, reweighted = self.head_loss.at(epoch)
        net.history.record("reweighted", reweighted)


class PrintTable(PrintLog):
    """skorch's ``PrintLog`` (``verbose=1``) for the library's histories:
    columns whose value is a list, tuple, array or dict (``step_loss``,
    ``cluster_sizes``, ...) stay out of the table, and the header is printed
    again whenever the columns change (e.g. when the warm-up gives way to
    the rounds, which add ``round`` and ``n_clusters``)."""

    def table(self, row):
        return super().table({k: v for k, v in row.items()
                              if not isinstance(v, (list, tuple, dict, np.ndarray))})

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        columns = [k for k, v in row.items()
                   if not isinstance(v, (list, tuple, dict, np.ndarray))]
        if columns != getattr(self, "columns_", columns):
            self.first_iteration_ = True
        self.columns_ = columns
        super().on_epoch_end(net, **kwargs)


class StopOnlyByCallback(NeuralNet):
    """``NeuralNet`` whose ``fit`` ends quietly only when a callback stops it
    at an epoch's end (skorch's ``EarlyStopping`` raises
    ``KeyboardInterrupt`` there); any other ``KeyboardInterrupt`` (Ctrl-C) is
    re-raised, so that the library leaves the estimator unfitted.  Both
    trainers take their steps through ``_library_step``."""

    def notify(self, method_name, **cb_kwargs):
        # skorch callbacks end training by raising KeyboardInterrupt from
        # on_epoch_end (EarlyStopping does): remember that it was one
        try:
            super().notify(method_name, **cb_kwargs)
        except KeyboardInterrupt:
            if method_name == "on_epoch_end":
                self.stopped_by_callback_ = True
            raise

    def _library_step(self, batch, where, compute, after=None):
        """One optimiser step as the library takes it: ``compute()`` gives
        ``(loss, y_pred)``; a non-finite loss or an overflowing step is
        refused naming ``where`` and any exception gets ``where`` as a note;
        skorch's ``on_grad_computed`` callbacks (e.g.
        ``GradientNormClipping``) run between ``backward`` and the step;
        ``after()`` (the loss cache's update) follows the step."""
        self.module_.train(True)
        self.criterion_.train(True)
        with at_step(where):
            loss, y_pred = compute()
            _check_finite(loss, where)
            self.optimizer_.zero_grad()
            loss.backward()
            self.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(self.get_all_learnable_params()),
                batch=batch, training=True,
            )
            optimizer_step(self.optimizer_, where)
            if after is not None:
                after()
        return {"loss": loss, "y_pred": y_pred}

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, but only a callback's stop at the end of
        an epoch (``EarlyStopping``) ends training quietly: a
        ``KeyboardInterrupt`` from anywhere else (``Ctrl-C``) is re-raised,
        and the library leaves the estimator unfitted (a half-trained model
        is never kept)."""
        if not self.initialized_:
            self.initialize()
        routing_method = fit_params.pop("_routing_method", "partial_fit")
        self.stopped_by_callback_ = False
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, _routing_method=routing_method, **fit_params)
        except KeyboardInterrupt:
            if not self.stopped_by_callback_:
                raise
        self.notify("on_train_end", X=X, y=y)
        return self


class HeadNetTrainer(StopOnlyByCallback):
    """``NeuralNet`` over row indices of the float32 training tensor
    ``X_t_`` (set before ``fit``), with ``forward_(X_t_, indices, device)``
    the (data-parallel) forward pass and ``loss_fn_`` the epoch's loss."""

    def infer(self, x, **fit_params):
        return self.forward_(self.X_t_, x, self.device)

    def predict(self, X):
        """Encoded predictions (class indices; 0/1 per label for multi-label
        ``y``) of the row indices ``X``, for skorch's scoring callbacks
        (``EpochScoring("balanced_accuracy")`` and the like)."""
        logits = self.predict_proba(X)
        if self.multilabel_:
            return (logits > 0).astype(np.int64)
        return logits.argmax(axis=1)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.loss_fn_(y_pred, y_true.to(y_pred.device))

    def _where(self):
        epoch = len(self.history)
        batch = len(self.history[-1]["batches"]) if epoch else 0
        return f"epoch {epoch}, batch {batch}"

    def train_step(self, batch, **fit_params):
        Xi, yi = unpack_data(batch)

        def compute():
            y_pred = self.infer(Xi)
            return self.get_loss(y_pred, yi, X=Xi, training=True), y_pred

        return self._library_step(batch, self._where(), compute)


class _PhaseBatches:
    """The training iterator of ``EmbedderTrainer``: each pass iterates the
    current phase's batches (row indices, drawn as the phase goes)."""

    def __init__(self, trainer):
        self.trainer = trainer

    def __iter__(self):
        return self.trainer.phase_.batches()

    def __len__(self):
        return self.trainer.phase_.n_batches


class StepLosses(Callback):
    """Records ``step_loss``, the loss of every step of the epoch."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("step_loss", [
            b["train_loss"] for b in net.history[-1]["batches"] if "train_loss" in b])


class EmbedderTrainer(StopOnlyByCallback):
    """``NeuralNet`` running the embedders' phases (``phases_``: pairs of a
    number of skorch epochs and a factory of the phase: the warm-up, then the
    cluster or metric rounds, one skorch epoch each), one skorch
    ``fit_loop`` per phase.  A phase gives the parameters of its optimiser
    (a fresh one at each phase, on which skorch ``LRScheduler`` callbacks
    restart, and ``EarlyStopping`` callbacks and the scores' ``*_best``
    flags start again: each phase has its own objective), begins
    each of its epochs (re-clustering, history records), draws the epoch's
    batches of row indices, computes a batch's loss, updates its state after
    the optimiser's step (the loss cache) and computes its objective on the
    held-out rows (``valid_``, a skorch ``Dataset`` of the rows
    ``held_out_rows`` set aside, or ``None``): ``valid_loss``, one batch of
    all of them.  A callback's stop at an epoch's end (``EarlyStopping``)
    ends the phase: the next phase follows, and the last one ends the fit."""

    def get_split_datasets(self, X, y=None, **fit_params):
        # the rows were split before the phases were built (held_out_rows);
        # one entry per batch of the phase (with batch_size=1, skorch's
        # ProgressBar counts the phase's batches)
        return np.arange(self.phase_.n_batches), self.valid_

    def get_iterator(self, dataset, training=False):
        if training:
            return _PhaseBatches(self)
        return [(dataset.X, dataset.y)]

    def get_all_learnable_params(self):
        for i, p in enumerate(self.phase_.parameters()):
            yield f"param_{i}", p

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        last = len(self.phases_) - 1
        for k, (n_epochs, make) in enumerate(self.phases_):
            if k:
                self._start_phase(make)
            self.phase_start_ = len(self.history)
            try:
                super().fit_loop(X, y, epochs=n_epochs, **fit_params)
            except KeyboardInterrupt:
                if k == last or not self.stopped_by_callback_:
                    raise
                self.stopped_by_callback_ = False
        return self

    def _start_phase(self, make):
        self.phase_ = make()
        self.initialize_optimizer()
        for _, cb in self.callbacks_:
            if isinstance(cb, LRScheduler):
                # learning-rate schedulers restart on the new phase's
                # optimiser (from last_epoch=-1, see phase_callback)
                cb.on_train_begin(self)
            elif isinstance(cb, EarlyStopping):
                # a new objective: its best score and patience start again
                cb.on_train_begin(self)
            if hasattr(cb, "best_score_") and hasattr(cb, "lower_is_better"):
                # the scores' *_best flags (Checkpoint's monitor) too
                cb.best_score_ = np.inf if cb.lower_is_better else -np.inf

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.phase_.begin(self.history, len(self.history) - 1 - self.phase_start_)

    def train_step(self, batch, **fit_params):
        phase = self.phase_
        return self._library_step(batch, phase.where,
                                  lambda: (phase.loss(batch), None),
                                  after=lambda: phase.after_step(batch))

    def transform(self, X):
        """Unit-norm embeddings (float32 numpy, one block a head) of the
        rows ``X`` (a float32 tensor, e.g. the held-out rows a scoring
        callback receives), as the estimator's ``transform`` computes them."""
        return extract(self.module_, X, self.phase_.schedule.batch_size,
                       self.device)

    def validation_step(self, batch, **fit_params):
        self.module_.train(False)
        self.criterion_.train(False)
        where = f"the held-out rows' loss (valid_loss) of epoch {len(self.history)}"
        X, Y = batch
        with torch.no_grad(), at_step(where):
            loss = self.phase_.valid_loss(X, Y[:, None] if Y.ndim == 1 else Y)
        return {"loss": loss, "y_pred": None}


def fit_phases(net, phases, *, optimizer, device, verbose=0, callbacks=None,
               valid=None):
    """Train ``net`` through ``phases`` on an ``EmbedderTrainer``; returns
    the fitted trainer (its ``history`` and ``callbacks_``).  ``optimizer``:
    an ``OptimizerSpec``; ``callbacks``: skorch callbacks, cloned;
    ``valid``: ``(X, Y)`` tensors of the held-out rows, whose loss is
    ``valid_loss``, or ``None`` (a scoring callback receives ``Y`` as a
    vector when it has one column)."""
    cls, kwargs = optimizer.torch_class()
    if valid is not None and valid[1].shape[1] == 1:
        valid = (valid[0], valid[1][:, 0])
    trainer = EmbedderTrainer(
        module=net, criterion=torch.nn.Identity, optimizer=cls,
        lr=optimizer.learning_rate,
        **{f"optimizer__{k}": v for k, v in kwargs.items()},
        max_epochs=sum(n for n, _ in phases), train_split=None,
        batch_size=1,  # get_split_datasets: one entry a batch
        iterator_valid__batch_size=1 if valid is None else len(valid[0]),
        callbacks=[("step_losses", StepLosses()),
                   *[phase_callback(cb) for cb in (callbacks or [])]],
        callbacks__print_log=PrintTable(),
        verbose=verbose, device=device,
    )
    trainer.phases_ = phases
    trainer.valid_ = None if valid is None else Dataset(*valid)
    trainer.phase_ = phases[0][1]()
    trainer.fit(np.arange(1))
    return trainer


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
            idx, _ = _dataset_rows(dataset)
        except (AttributeError, TypeError, IndexError) as exc:
            raise TypeError(
                f"train_split={train_split!r} returned a {what} part of type "
                f"{type(dataset).__name__}; expected the dataset it was given "
                "or a torch.utils.data.Subset of it (as skorch.dataset."
                "ValidSplit returns).") from exc
        idx = np.asarray(idx)
        if idx.size == 0 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n:
            raise ValueError(
                f"train_split={train_split!r} gave a {what} part of "
                f"{idx.size} rows; both parts should hold at least one of the "
                f"{n} rows.")
        rows.append(idx)
    return rows[0], rows[1]


def phase_callback(callback):
    """``cloned_callback`` for the embedders' phases: a learning-rate
    scheduler without a ``last_epoch`` of its own gets ``last_epoch=-1``, so
    that it starts afresh on every phase's optimiser (skorch would resume
    it at the epoch reached)."""
    name, cb = callback if isinstance(callback, tuple) else (None, callback)
    if isinstance(cb, LRScheduler) and "last_epoch" not in cb.kwargs:
        cb = type(cb)(**{**cb.get_params(), "last_epoch": -1})
    cb = cloned_callback(cb)
    return cb if name is None else (name, cb)


def cloned_callback(callback):
    """A fresh copy of a user's skorch callback (or ``(name, callback)``)."""
    if isinstance(callback, tuple):
        name, cb = callback
        return name, clone(cb)
    return clone(callback)
