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

from ._budget import curve_cap  # noqa: F401 (re-exported)
from ._budget import formula_epochs as epochs  # noqa: F401 (re-exported)

# margin_between / margin_within="auto": this share of the geometric bound
# (chosen on validation splits of six corpus tables and digits, 2 seeds:
# shares 0.05 / 0.1 / 0.25 / 0.5 / 1 of the bound averaged 74.4 / 73.5 /
# 72.9 / 72.2 / 71.8 balanced accuracy with CLMLEClassifier; vowel lost 8
# points from 0.05 to 0.5, digits gained 1.7).  CLMLEClassifier compares
# larger levels on its held-out rows.
MARGIN_SHARE = 0.05

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


def packing_cosine(n_points, dim):
    """Cosine between nearest neighbours of ``n_points`` unit vectors in
    ``dim`` dimensions spread as far apart as they can be (the tightest
    spherical code; approximate beyond ``2 * dim`` points).

    * ``n_points <= dim + 1``: the regular simplex, ``-1 / (n_points - 1)``
      (exact);
    * ``dim + 1 < n_points <= 2 * dim``: ``0``, the cross-polytope (exact,
      Rankin's bound);
    * beyond: ``sqrt(1 - (2 dim / n_points) ** (2 / (dim - 1)))``, the
      volume bound's growth (``n_points`` caps of angular radius ``theta /
      2`` cover a share ``~ sin(theta) ** (dim - 1)`` of the sphere each),
      anchored at the cross-polytope so that the rule is continuous.  In
      ``dim = 64`` it gives 0.25 at 1,000 points, below the 0.39 mean
      nearest-neighbour cosine of 1,000 random points (a code does better
      than chance) and far from 1 (``1 - cos`` never vanishes as ``1 /
      n_points ** 2``, as the circle's ``1 - cos(2 pi / n_points)`` does).

    In ``dim = 2`` the points lie on a circle: ``cos(2 pi / n_points)``.
    """
    n, d = float(n_points), int(dim)
    if n < 2:
        return -1.0
    if d <= 2:
        return math.cos(2 * math.pi / n) if d == 2 else -1.0
    if n <= d + 1:
        return -1.0 / (n - 1)
    if n <= 2 * d:
        return 0.0
    return math.sqrt(1 - (2 * d / n) ** (2 / (d - 1)))


def margins(Y, margin_between, margin_within, dim):
    """``(a1, a2)`` of every label of the encoded targets ``Y`` (one column
    a label), in cosine units: the parameters, or for ``"auto"``
    ``MARGIN_SHARE`` (a twentieth) of the bounds of Section 3.2 taken in the
    embedding's ``dim`` dimensions rather than on a circle.  The bound of
    ``a1``: ``1 - packing_cosine(C, dim)``, the largest gap between ``C``
    classes collapsed to points (``C / (C - 1)`` up to ``dim + 1``
    classes); of ``a2``: the same for ``n / min_c n_c`` points, the spacing
    of regions as large as the rarest class's share ``n_c / n`` of the
    sphere (the paper's ``2 pi L_c / L``).  In ``dim = 2`` the bounds are
    the paper's ``1 - cos(2 pi / C)`` and ``1 - cos(2 pi min_c n_c / n)``."""
    bound1, bound2 = margin_bounds(Y, dim)
    a1 = (MARGIN_SHARE * bound1 if margin_between == "auto"
          else np.full(Y.shape[1], float(margin_between)))
    a2 = (MARGIN_SHARE * bound2 if margin_within == "auto"
          else np.full(Y.shape[1], float(margin_within)))
    return a1, a2


def margin_bounds(Y, dim):
    """Per label of ``Y``, the bounds of ``a1`` and ``a2`` in ``dim``
    dimensions (see ``margins``)."""
    bound1, bound2 = [], []
    for j in range(Y.shape[1]):
        counts = np.bincount(Y[:, j])
        counts = counts[counts > 0]
        bound1.append(1 - packing_cosine(len(counts), dim))
        bound2.append(1 - packing_cosine(counts.sum() / counts.min(), dim))
    return np.array(bound1, dtype=float), np.array(bound2, dtype=float)


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


def resolve(est, n_samples, n_features, n_classes=2):
    """``Settings`` of ``est`` (a ``CLMLEEmbedder``) for this training set,
    but for its budget (``epochs``, ``n_rounds``, ``steps_per_round``:
    ``_budget.Budget.resolve``, which reads ``s.batch``, the rows of a
    round's batch)."""
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
    s.batch = s.n_clusters_per_batch * s.n_samples_per_cluster
    s.warmup_batch = est.warmup_batch_size or s.batch
    return s
