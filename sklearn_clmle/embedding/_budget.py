"""The training budget of the torch estimators (private): one value, resolved
once per fit from the ``epochs``, ``n_rounds``, ``steps_per_round`` and
``warmup_epochs`` parameters and the training rows, as ``SphericalKMeans``
resolves its ``"auto"`` parameters in ``fit``.

A budget is a number of passes over the training rows (``epochs``, the
warm-up included); the embedders spend it as ``warmup_epochs`` softmax
epochs and ``n_rounds`` rounds of ``steps_per_round`` steps of ``batch``
rows.  With held-out rows and everything ``"auto"``, the budget is read from
a validation curve instead (``curve``): ``n_rounds`` is then a cap, and the
budget of the fit is the one stopped at the best round (``up_to``), which
is also what a refit on more rows reuses (``refit``).
"""

import math
from dataclasses import dataclass, replace

import numpy as np

# Total training budget, in passes over the training set (warm-up included):
# 60,000 samples seen, but at least 15 and at most 100 passes.
BUDGET_SAMPLES = 60_000
MIN_EPOCHS, MAX_EPOCHS = 15, 100
# Alternation rounds of n_rounds="auto" without held-out rows.
DEFAULT_ROUNDS = 5

# The budget read from a validation curve (``epochs="auto"`` with held-out
# rows): at most CURVE_ROUNDS rounds (each a re-clustering and a held-out
# score) share a cap of ``clip(3 * 60000 / n, 30, 300)`` passes (three times
# the formula's budget, at least 30 passes), or of HEAD_STEPS steps if
# those make more passes (at most 300), a round at least one pass and
# CURVE_MIN_STEPS steps; training stops once the held-out loss has not
# improved for CURVE_PATIENCE rounds.
CURVE_ROUNDS = 25
CURVE_MIN_STEPS = 10
CURVE_PATIENCE = 4
CURVE_CAP_FACTOR = 3
CURVE_MIN_CAP, CURVE_MAX_CAP = 30, 300


def formula_epochs(n):
    """Passes over ``n`` training samples: ``clip(60000 / n, 15, 100)``."""
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, round(BUDGET_SAMPLES / n))))


# LongTailNetClassifier's budget without held-out rows: HEAD_STEPS optimiser
# steps (the number of batches an epoch holds sets the passes), at least
# HEAD_MIN_EPOCHS and at most HEAD_MAX_EPOCHS passes.
HEAD_STEPS = 4000
HEAD_MIN_EPOCHS, HEAD_MAX_EPOCHS = 15, 200


def head_epochs(n, batch_size):
    """Passes of a softmax network over ``n`` samples in batches of
    ``batch_size``: ``clip(4000 / ceil(n / batch_size), 15, 200)``, i.e.
    4,000 optimiser steps (200 passes below 2,560 rows at batch 128, 80 at
    6,349, 37 at 13,747, 15 from 34,000 up)."""
    steps = math.ceil(n / batch_size)
    return int(min(HEAD_MAX_EPOCHS, max(HEAD_MIN_EPOCHS, round(HEAD_STEPS / steps))))


def curve_cap(n, batch=None):
    """The most passes a curve-read budget may take: ``clip(3 * 60000 / n,
    30, 300)``; with the ``batch`` size of a step, at least the passes of
    ``HEAD_STEPS`` steps (at most 300), the budget ``head_epochs`` gives a
    softmax network (the user guide's defaults page has the evidence)."""
    cap = min(CURVE_MAX_CAP,
              max(CURVE_MIN_CAP, round(CURVE_CAP_FACTOR * BUDGET_SAMPLES / n)))
    if batch is not None:
        cap = max(cap, min(CURVE_MAX_CAP, math.ceil(HEAD_STEPS * batch / n)))
    return int(cap)


def _auto(value):
    return isinstance(value, str) and value == "auto"


@dataclass(frozen=True)
class Budget:
    """``warmup_epochs`` epochs, then ``n_rounds`` rounds of
    ``steps_per_round`` steps of ``batch`` rows, on ``n_samples`` training
    rows: ``epochs`` passes in all; ``curve``: read from a validation
    curve (``n_rounds`` is the cap, or once stopped, ``up_to``, the round
    the curve chose)."""

    warmup_epochs: int
    n_rounds: int
    steps_per_round: int
    batch: int
    n_samples: int
    epochs: int
    curve: bool = False

    @classmethod
    def of(cls, est, *, batch, n_samples, curve=False):
        """``resolve`` with the budget parameters of the embedder ``est``
        (``epochs``, ``n_rounds``, ``steps_per_round``, ``warmup_epochs``)."""
        return cls.resolve(epochs=est.epochs, n_rounds=est.n_rounds,
                           steps_per_round=est.steps_per_round,
                           warmup_epochs=est.warmup_epochs, batch=batch,
                           n_samples=n_samples, curve=curve)

    @classmethod
    def resolve(cls, *, epochs="auto", n_rounds="auto", steps_per_round="auto",
                warmup_epochs, batch, n_samples, curve=False):
        """The budget of these parameters on ``n_samples`` rows.

        ``curve``: held-out rows exist, so that ``epochs="auto"`` (with
        ``n_rounds`` and ``steps_per_round`` "auto") reads the budget from
        their loss: a round is then ``curve_cap(n, batch) / CURVE_ROUNDS``
        passes (one pass and ``CURVE_MIN_STEPS`` steps at least) and
        ``n_rounds`` reaches the cap.  Otherwise ``epochs="auto"`` is
        ``formula_epochs(n)``,
        ``n_rounds="auto"`` is ``DEFAULT_ROUNDS``, and
        ``steps_per_round="auto"`` spends the epochs left after the warm-up
        over the rounds; a given ``steps_per_round`` leaves ``epochs``
        unused, and the budget's ``epochs`` are then the passes the warm-up
        and rounds make."""
        n = n_samples
        if curve and all(map(_auto, (epochs, n_rounds, steps_per_round))):
            cap = curve_cap(n, batch)
            passes = max(1.0, cap / CURVE_ROUNDS)
            steps = max(CURVE_MIN_STEPS, math.ceil(passes * n / batch))
            rounds = max(1, math.ceil(cap / (steps * batch / n)))
            budget = cls(warmup_epochs, rounds, steps, batch, n, 0, True)
            return replace(budget, epochs=budget.epochs_after(rounds))
        n_rounds = DEFAULT_ROUNDS if _auto(n_rounds) else n_rounds
        if not _auto(steps_per_round):  # epochs unused: the passes these make
            budget = cls(warmup_epochs, n_rounds, steps_per_round, batch, n, 0)
            return replace(budget, epochs=budget.epochs_after(n_rounds))
        epochs = formula_epochs(n) if _auto(epochs) else epochs
        left = max(0, epochs - warmup_epochs) * n
        steps_per_round = max(1, round(left / (n_rounds * batch)))
        return cls(warmup_epochs, n_rounds, steps_per_round, batch, n, epochs)

    @property
    def passes_per_round(self):
        return self.steps_per_round * self.batch / self.n_samples

    def epochs_after(self, rounds):
        """Passes over the rows after the warm-up and ``rounds`` rounds."""
        return self.warmup_epochs + math.ceil(rounds * self.passes_per_round)

    def up_to(self, rounds):
        """This budget stopped after ``rounds`` rounds (a curve's best)."""
        return replace(self, n_rounds=rounds, epochs=self.epochs_after(rounds))

    def params(self):
        """The budget as the embedder's parameters (``set_params``)."""
        return {"n_rounds": self.n_rounds, "steps_per_round": self.steps_per_round,
                "epochs": self.epochs}

    @classmethod
    def refit(cls, budgets, n_samples):
        """The budget of a refit on ``n_samples`` rows from the (stopped)
        budgets of fits on parts of them: the median of their rounds, the
        mean of their passes per round; ``None`` unless every part read its
        budget from a curve (``curve``; a part may be ``None``), e.g. with
        the ``budget_`` of a ``CLMLEClassifier``'s part embedders."""
        if not budgets or any(b is None or not b.curve for b in budgets):
            return None
        rounds = max(1, int(round(float(np.median([b.n_rounds for b in budgets])))))
        per_round = float(np.mean([b.passes_per_round for b in budgets]))
        first = budgets[0]
        steps = max(1, int(round(per_round * n_samples / first.batch)))
        return cls(first.warmup_epochs, rounds, steps, first.batch, n_samples,
                   first.warmup_epochs + int(np.ceil(rounds * per_round)))
