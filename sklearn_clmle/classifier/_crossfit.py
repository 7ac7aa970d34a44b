"""The rows ``CLMLEClassifier`` judges its candidates on (private).

``"auto"``: one stratified hold-out of a quarter of the rows up to
``LARGE_N`` rows (its embedder sees three quarters of the data, close to
what the refit on all rows sees, and the selection costs 0.75 of a fit
before the refit), a tenth above (at most ``MAX_HOLDOUT`` rows), whose
embedder is kept.  ``K`` stratified folds on request: every row held out
once, at the cost of ``K`` fits on ``(K - 1) / K`` of the rows.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import check_cv

from ..neighbors import _auto

# cv="auto": a quarter held out and a refit up to this many training rows,
# a tenth held out and its embedder kept above.
LARGE_N = 20_000
SMALL_HOLDOUT_SHARE = 0.25
HOLDOUT_SHARE = 0.1
# A hold-out never takes more rows than this.
MAX_HOLDOUT = 10_000


def fold_splits(y_idx, n_folds, rng):
    """``n_folds`` stratified ``(train, held)`` index pairs (``neighbors``'
    folds, each class starting where the previous one stopped); a class of
    one row stays in every training part and is never held out."""
    return _auto.fold_splits(y_idx, n_folds, rng, rotate=True)


def holdout_split(y_idx, share, rng):
    """One stratified ``(train, held)`` pair in a list (``neighbors``'
    hold-out: ``round(share * n_c)`` rows of every class with at least two
    rows, at least one, at most ``MAX_HOLDOUT`` rows in all), or ``[]``."""
    split = _auto.holdout_split(y_idx, rng, share, MAX_HOLDOUT)
    return [] if split is None else [split]


def resolve_cv(cv, y_idx, rng, refit="auto"):
    """``(splits, refit)``: the ``(train, held)`` pairs of ``cv`` and
    whether the embedder is refitted on all rows afterwards.  ``cv``:
    ``"auto"``, an int (folds), a real in (0, 1) (a hold-out share; numpy
    scalars too), or what ``sklearn.model_selection.check_cv`` takes (a
    splitter, an iterable of pairs; ``None``: its 5 stratified folds);
    ``refit``: ``"auto"`` (up to ``LARGE_N`` rows, or always for several
    parts) or a bool (a kept embedder needs a single split)."""
    n = y_idx.shape[0]
    if isinstance(cv, str):  # "auto"
        cv = SMALL_HOLDOUT_SHARE if n <= LARGE_N else HOLDOUT_SHARE
    if isinstance(cv, Integral) and not isinstance(cv, bool):
        splits = fold_splits(y_idx, int(cv), rng)
    elif isinstance(cv, Real) and not isinstance(cv, bool):
        splits = holdout_split(y_idx, float(cv), rng)
    else:
        splitter = check_cv(cv, y_idx, classifier=True)
        splits = [(np.asarray(tr), np.asarray(he)) for tr, he in
                  splitter.split(np.zeros((n, 1)), y_idx)]
    if refit == "auto":
        refit = len(splits) > 1 or n <= LARGE_N
    elif not refit and len(splits) > 1:
        raise ValueError(
            f"refit_embedder=False keeps the embedder of a single hold-out; "
            f"cv={cv!r} gives {len(splits)} splits: pass a float cv (a "
            "hold-out share) or refit_embedder=True.")
    if not splits or any(len(he) == 0 for _, he in splits):
        raise ValueError(
            "y has no class with two or more samples, so no row can be held "
            "out to choose the classifier; every class needs at least 2 rows "
            "for CLMLEClassifier (use the Pipeline of CLMLEEmbedder and "
            "KNearestClusterClassifier for such data).")
    return splits, bool(refit)


def refit_budget(embedders, splits, n):
    """The refit's ``n_rounds`` / ``steps_per_round`` / ``epochs`` from the
    parts' best rounds (``None`` unless every part read one)."""
    rounds, passes = [], []
    for emb, (train, _) in zip(embedders, splits):
        best = getattr(emb, "best_round_", None)
        if best is None:
            return None
        batch = emb.n_clusters_per_batch * emb.n_samples_per_cluster_
        rounds.append(best)
        passes.append(emb.steps_per_round_ * batch / len(train))
    n_rounds = max(1, int(round(float(np.median(rounds)))))
    per_round = float(np.mean(passes))
    batch = embedders[0].n_clusters_per_batch * embedders[0].n_samples_per_cluster_
    steps = max(1, int(round(per_round * n / batch)))
    epochs = embedders[0].warmup_epochs + int(np.ceil(n_rounds * per_round))
    return {"n_rounds": n_rounds, "steps_per_round": steps, "epochs": epochs}
