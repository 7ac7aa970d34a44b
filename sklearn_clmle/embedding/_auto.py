"""CLMLEEmbedder's ``"auto"`` settings, resolved from the training data.

One rule per setting, each a function of the number of training samples
``n``, of features and of classes, so that the same defaults serve a 200-row
table and a 20,000-image set.  ``Settings`` is what the training loops read:
the estimator's parameters with every ``"auto"`` replaced (the estimator's
own parameters are never changed).
"""

import math
from types import SimpleNamespace

import numpy as np

from ._budget import Budget, curve_cap  # noqa: F401 (curve_cap: re-exported)
from ._budget import formula_epochs as epochs  # noqa: F401 (re-exported)

# Weight decay on small training sets, where the default network over-fits.
SMALL_N = 5000
SMALL_WEIGHT_DECAY = 1e-3


def cluster_size(n):
    """``clip(round(sqrt(n)), 10, 200)`` (200 is the paper's size, reached
    from 40,000 samples).  On validation splits, sizes near ``sqrt(n)`` did
    as well as or better than ten clusters for an average class on tables and
    digits of 300 to 3,000 rows, and no worse on Fashion-MNIST."""
    return int(min(200, max(10, round(math.sqrt(n)))))


def hidden_units(n_features, n_classes=2, n_samples=None):
    """An MLP ``(w, w // 2)``: ``w`` the power of two at or above the larger
    of four times the number of features and sixteen times the number of
    classes, between 64 and 256; ``w`` is at most the power of two at or
    below ``n_samples`` (never below 64): a network never wider than its
    training rows.  (Before the class and row terms, a
    16-feature, 26-class table got ``(64, 32)``.)"""
    width = 2 ** math.ceil(math.log2(max(1, 4 * n_features, 16 * n_classes)))
    upper = 256
    if n_samples is not None:
        upper = min(upper, 2 ** math.floor(math.log2(max(2, n_samples))))
    width = int(min(max(64, upper), max(64, width)))
    return (width, width // 2)


def weight_decay(n):
    """``1e-3`` below 5,000 training samples, else 0."""
    return SMALL_WEIGHT_DECAY if n < SMALL_N else 0.0


def margins(Y, margin_between, margin_within):
    """``(a1, a2)`` of every label of the encoded targets ``Y`` (one column
    a label): the parameters, or for ``"auto"`` half the bounds of Section
    3.2, ``0.5 * (1 - cos(2 pi / C))`` and ``0.5 * (1 - cos(2 pi min_c n_c /
    n))`` for the ``C`` classes of the label."""
    a1, a2 = [], []
    for j in range(Y.shape[1]):
        counts = np.bincount(Y[:, j])
        counts = counts[counts > 0]
        bound1 = 1 - math.cos(2 * math.pi / len(counts))
        bound2 = 1 - math.cos(2 * math.pi * counts.min() / counts.sum())
        a1.append(0.5 * bound1 if margin_between == "auto" else margin_between)
        a2.append(0.5 * bound2 if margin_within == "auto" else margin_within)
    return np.array(a1, dtype=float), np.array(a2, dtype=float)


def class_margins(Y, margin_between, margin_power):
    """Per label, the between-class margin of each class:
    ``a1 * min((n_max / n_c) ** margin_power, 2)`` with ``a1`` the label's
    entry of ``margin_between`` (a label's absent class counts as one
    sample)."""
    out = []
    for j, a1 in enumerate(margin_between):
        counts = np.maximum(np.bincount(Y[:, j], minlength=2), 1)
        out.append(a1 * np.minimum((counts.max() / counts) ** margin_power, 2.0))
    return out


class Settings(SimpleNamespace):
    """The estimator's parameters with ``"auto"`` resolved, from which
    ``CLMLEEmbedder`` builds the parts its training loops receive."""


def resolve(est, n_samples, n_features, n_classes=2, curve=False):
    """``Settings`` of ``est`` (a ``CLMLEEmbedder``) for this training set;
    ``s.budget`` is the ``Budget`` (``curve``: held-out rows exist, see
    ``Budget.resolve``), whose fields are also ``s.n_rounds``,
    ``s.steps_per_round``, ``s.epochs`` and ``s.curve``."""
    params = est.get_params(deep=False)

    def pick(name, auto_value):
        value = params[name]
        return auto_value if isinstance(value, str) and value == "auto" else value

    s = Settings(**params)
    s.hidden_units = tuple(pick("hidden_units", hidden_units(
        n_features, n_classes, n_samples)))
    s.cluster_size = pick("cluster_size", cluster_size(n_samples))
    s.n_samples_per_cluster = pick("n_samples_per_cluster",
                                   int(min(20, s.cluster_size)))
    s.weight_decay = pick("weight_decay", weight_decay(n_samples))
    batch = s.n_clusters_per_batch * s.n_samples_per_cluster
    s.warmup_batch = est.warmup_batch_size or batch
    s.budget = Budget.resolve(
        epochs=s.epochs, n_rounds=s.n_rounds, steps_per_round=s.steps_per_round,
        warmup_epochs=s.warmup_epochs, batch=batch, n_samples=n_samples,
        curve=curve)
    s.n_rounds, s.steps_per_round = s.budget.n_rounds, s.budget.steps_per_round
    s.epochs, s.curve = s.budget.epochs, s.budget.curve
    return s
