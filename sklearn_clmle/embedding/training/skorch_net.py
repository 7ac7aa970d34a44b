"""The torch estimators' training on skorch's ``NeuralNet`` (private).

skorch runs the loop (epochs, batches, callbacks, validation split,
``History``); this module gives it what the library's loop did.  For the
embedders, ``fit_phases`` runs the phases of ``clmle_rounds`` and
``metric_rounds`` as successive ``partial_fit`` calls of one
``EmbedderTrainer`` (one skorch epoch per warm-up epoch or round, a fresh
optimiser per phase), through skorch's own parameters: ``iterator_train``
(``PhaseBatches``), ``iterator_valid`` (``whole_batch``), ``train_split``
(``HeldOut``) and callbacks (``PhaseEpochs`` begins every epoch of a phase,
``PhaseScores`` restarts the best scores).  skorch swallows a Ctrl-C in its
loop: ``EpochsEnded`` and ``raise_if_interrupted`` raise it again.  For
``LongTailNetClassifier``:

* ``IndexBatches``, the training iterator: batches of *row indices* in the
  order of one numpy permutation per epoch, drawn from the fit's random
  state (so a fit is the same with or without skorch, bit for bit);
* ``HeadNetTrainer``, a ``NeuralNet`` whose module (``RowsForward``) runs
  the network on the rows of the training tensor named by a batch of
  indices (through the data-parallel context, which slices the batch over
  the ranks), whose criterion is the epoch's ``HeadLoss``, and whose step
  refuses a non-finite loss or an overflowing optimiser step with the
  library's errors;
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

import contextlib
import math
import sys

import numpy as np
import torch
from sklearn.base import clone
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler, PrintLog
from skorch.dataset import Dataset, unpack_data
from skorch.utils import TeeGenerator

from .engine import _check_finite, at_step, extract, optimizer_step

__all__ = ["EmbedderTrainer", "EpochCriterion", "EpochLoss", "EpochsEnded",
           "HeadNetTrainer", "IndexBatches", "PrintTable", "RowsForward",
           "StepLosses", "cloned_callback", "fit_phases", "held_out_rows",
           "raise_if_interrupted"]


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
    """Sets the criterion's loss (``net.criterion_.loss``) to the loss of
    the starting epoch (``head_loss.at(epoch)``) and records
    ``reweighted``."""

    def __init__(self, head_loss):
        self.head_loss = head_loss

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - 1
        net.criterion_.loss, reweighted = self.head_loss.at(epoch)
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

    def format_row(self, row, key, color):
        """skorch's, without ANSI colours unless the sink is ``print`` to a
        terminal (no escape codes in logs, files and notebooks' captures)."""
        if self.sink is print and sys.stdout.isatty():
            return super().format_row(row, key, color)
        return super().format_row({k: v for k, v in row.items()
                                   if k != key + "_best"}, key, color)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        columns = [k for k, v in row.items()
                   if not isinstance(v, (list, tuple, dict, np.ndarray))]
        if columns != getattr(self, "columns_", columns):
            self.first_iteration_ = True
        self.columns_ = columns
        super().on_epoch_end(net, **kwargs)


class EpochsEnded(Callback):
    """Records the last epoch whose ``on_epoch_end`` reached the library's
    callbacks (which run before the user's).  skorch's ``partial_fit``
    swallows every ``KeyboardInterrupt`` of its loop: a callback's stop at an
    epoch's end (``EarlyStopping``) is one, a Ctrl-C is another, and
    ``raise_if_interrupted`` tells them apart after the fact."""

    def on_train_begin(self, net, **kwargs):
        self.ended_ = len(net.history)
        net.interrupt_ = None

    def on_epoch_end(self, net, **kwargs):
        self.ended_ = len(net.history)


@contextlib.contextmanager
def remembered(net):
    """Keep on ``net.interrupt_`` a ``KeyboardInterrupt`` raised inside (with
    the note of the training step it names), for ``raise_if_interrupted``."""
    try:
        yield
    except KeyboardInterrupt as exc:
        net.interrupt_ = exc
        raise


def raise_if_interrupted(net):
    """After a ``fit`` / ``partial_fit`` of ``net``: re-raise the
    ``KeyboardInterrupt`` (Ctrl-C) that stopped an epoch before its end
    (the one the library's steps saw, with its note), so that the library
    leaves the estimator unfitted (a half-trained model is never kept); a
    callback's stop at an epoch's end is not one."""
    ended = dict(net.callbacks_)["epochs_ended"].ended_
    if len(net.history) > ended:
        raise getattr(net, "interrupt_", None) or KeyboardInterrupt(
            f"training was interrupted in epoch {len(net.history)}; the "
            "estimator was left unfitted.")


class LibraryStep:
    """The training step of both trainers: ``step_parts(batch)`` gives the
    step's name, ``compute()`` and ``after()`` (see ``_library_step``)."""

    def train_step(self, batch, **fit_params):
        with remembered(self):
            return self._library_step(batch, *self.step_parts(batch))

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


class EpochCriterion(torch.nn.Module):
    """``LongTailNetClassifier``'s criterion: the loss of the current epoch
    (``loss``, set by ``EpochLoss``) of the logits and the targets."""

    def __init__(self):
        super().__init__()
        self.loss = None

    def forward(self, y_pred, y_true):
        return self.loss(y_pred, y_true)


class RowsForward(torch.nn.Module):
    """``LongTailNetClassifier``'s skorch module: the network ``net`` on the
    rows of the float32 training tensor ``X`` named by a batch of row
    indices, through ``forward(X, rows, device)`` (the data-parallel
    context's, which slices the batch over the ranks)."""

    def __init__(self, net, X, forward, device):
        super().__init__()
        self.net = net
        self.X, self.rows_forward, self.device = X, forward, device

    def forward(self, rows):
        return self.rows_forward(self.X, rows.cpu(), self.device)


class HeadNetTrainer(LibraryStep, NeuralNet):
    """``NeuralNet`` over row indices (its module a ``RowsForward``); its
    criterion (``EpochCriterion``) is the epoch's loss."""

    def predict(self, X):
        """Encoded predictions (class indices; 0/1 per label for multi-label
        ``y``) of the row indices ``X``, for skorch's scoring callbacks
        (``EpochScoring("balanced_accuracy")`` and the like)."""
        logits = self.predict_proba(X)
        if self.multilabel_:
            return (logits > 0).astype(np.int64)
        return logits.argmax(axis=1)

    def _where(self):
        epoch = len(self.history)
        batch = len(self.history[-1]["batches"]) if epoch else 0
        return f"epoch {epoch}, batch {batch}"

    def step_parts(self, batch):
        Xi, yi = unpack_data(batch)

        def compute():
            y_pred = self.infer(Xi)
            return self.get_loss(y_pred, yi, X=Xi, training=True), y_pred

        return self._where(), compute, None


class PhaseModules(torch.nn.Module):
    """The embedders' criterion: it holds the trainable modules the current
    phase adds to the network (``extra``: the softmax term's classifiers, or
    ``None``), so that skorch's optimiser, built on the parameters of the
    module and of the criterion, trains the phase's parameters.  The phase
    computes its loss itself (``phase_.loss``)."""

    def __init__(self):
        super().__init__()
        self.extra = None


class CurrentPhase:
    """Holds the phase being trained (``phase``) and its ``trainer``, for
    ``PhaseBatches``."""

    phase = trainer = None


class PhaseBatches:
    """The embedders' training iterator (skorch's ``iterator_train``, with
    ``iterator_train__current`` a ``CurrentPhase``): each pass iterates the
    current phase's batches of row indices, drawn as the phase goes;
    ``len`` is the phase's number of batches."""

    def __init__(self, dataset, current, **kwargs):
        self.current = current

    def __iter__(self):
        with remembered(self.current.trainer):
            yield from self.current.phase.batches()

    def __len__(self):
        return self.current.phase.n_batches


def whole_batch(dataset, **kwargs):
    """The embedders' ``iterator_valid``: the held-out rows in one batch."""
    return [(dataset.X, dataset.y)]


class HeldOut:
    """The embedders' ``train_split``: the rows were split before the phases
    were built (``held_out_rows``); the held-out ones (a skorch ``Dataset``,
    or ``None``) are the validation set of every phase."""

    def __init__(self, valid):
        self.valid = valid

    def __call__(self, dataset, y=None, **fit_params):
        return dataset, self.valid


class PhaseEpochs(Callback):
    """Begins each epoch of the current phase (``phase_.begin``: the
    re-clustering of a round, the history records)."""

    def on_epoch_begin(self, net, **kwargs):
        with remembered(net):
            net.phase_.begin(net.history, len(net.history) - 1 - net.phase_start_)


class PhaseScores(Callback):
    """At the start of each phase (a ``partial_fit``), the scores' ``*_best``
    flags start again (``Checkpoint``'s monitor): a new objective.  Listed
    after the user's callbacks, so that it follows their ``on_train_begin``
    (``EpochScoring`` restores its best score from the history there)."""

    def on_train_begin(self, net, **kwargs):
        for _, cb in net.callbacks_:
            if hasattr(cb, "best_score_") and hasattr(cb, "lower_is_better"):
                cb.best_score_ = np.inf if cb.lower_is_better else -np.inf


class StepLosses(Callback):
    """Records ``step_loss``, the loss of every step of the epoch."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("step_loss", [
            b["train_loss"] for b in net.history[-1]["batches"] if "train_loss" in b])


class EmbedderTrainer(LibraryStep, NeuralNet):
    """``NeuralNet`` running one phase of the embedders (``phase_``: the
    warm-up, or the cluster or metric rounds, one skorch epoch each) per
    ``partial_fit`` (``fit_phases``).  A phase gives the parameters of its
    optimiser (a fresh one each phase, on which skorch ``LRScheduler``
    callbacks restart; ``EarlyStopping`` callbacks and the scores' ``*_best``
    flags start again: each phase has its own objective), begins each of its
    epochs (``PhaseEpochs``: re-clustering, history records), draws the
    epoch's batches of row indices (``PhaseBatches``), computes a batch's
    loss, updates its state after the optimiser's step (the loss cache) and
    computes its objective on the held-out rows (``HeldOut``, one batch):
    ``valid_loss``.  A callback's stop at an epoch's end (``EarlyStopping``)
    ends the phase: the next phase follows, and the last one ends the fit."""

    def step_parts(self, batch):
        phase = self.phase_
        return (phase.where, lambda: (phase.loss(batch), None),
                lambda: phase.after_step(batch))

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
        with remembered(self), torch.no_grad(), at_step(where):
            loss = self.phase_.valid_loss(X, Y[:, None] if Y.ndim == 1 else Y)
        return {"loss": loss, "y_pred": None}


def fit_phases(net, phases, *, optimizer, device, verbose=0, callbacks=None,
               valid=None):
    """Train ``net`` through ``phases`` (pairs of a number of epochs and a
    factory of the phase), one ``partial_fit`` of an ``EmbedderTrainer``
    each; returns the fitted trainer (its ``history`` and ``callbacks_``).
    ``optimizer``: an ``OptimizerSpec``; ``callbacks``: skorch callbacks,
    cloned; ``valid``: ``(X, Y)`` tensors of the held-out rows, whose loss
    is ``valid_loss``, or ``None`` (a scoring callback receives ``Y`` as a
    vector when it has one column)."""
    cls, kwargs = optimizer.torch_class()
    if valid is not None and valid[1].shape[1] == 1:
        valid = (valid[0], valid[1][:, 0])
    current = CurrentPhase()
    trainer = EmbedderTrainer(
        module=net, criterion=PhaseModules, optimizer=cls,
        lr=optimizer.learning_rate,
        **{f"optimizer__{k}": v for k, v in kwargs.items()},
        train_split=HeldOut(None if valid is None else Dataset(*valid)),
        # one entry of X a batch: batch_size=1 lets ProgressBar count them
        batch_size=1, iterator_train=PhaseBatches, iterator_train__current=current,
        iterator_valid=whole_batch,
        iterator_valid__batch_size=1 if valid is None else len(valid[0]),
        callbacks=[("epochs_ended", EpochsEnded()), ("phase_epochs", PhaseEpochs()),
                   ("step_losses", StepLosses()),
                   *[phase_callback(cb) for cb in (callbacks or [])],
                   ("phase_scores", PhaseScores())],
        callbacks__print_log=PrintTable(),
        verbose=verbose, device=device,
    )
    current.trainer = trainer
    for k, (n_epochs, make) in enumerate(phases):
        trainer.phase_ = current.phase = make()
        if not k:
            trainer.initialize()
        trainer.criterion_.extra = trainer.phase_.extra
        trainer.initialize_optimizer()
        trainer.phase_start_ = len(trainer.history)
        trainer.partial_fit(np.arange(trainer.phase_.n_batches), epochs=n_epochs)
        raise_if_interrupted(trainer)
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
