"""The parts ``CLMLEClassifier`` judges its candidates on, and its refit
(private).

``"auto"``: one stratified hold-out of a quarter of the rows up to
``LARGE_N`` rows (its embedder sees three quarters of the data, close to
what the refit on all rows sees, and the selection costs 0.75 of a fit
before the refit), a tenth above (at most ``MAX_HOLDOUT`` rows), whose
embedder is kept.  ``K`` stratified folds on request: every row held out
once, at the cost of ``K`` fits on ``(K - 1) / K`` of the rows.
``cross_fit`` fits an embedder per part (``Part``), ``refit`` the final one.
"""

import contextlib
import sys
import time
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import check_cv

from ..utils._splits import stratified_folds, stratified_holdout

# cv="auto": a quarter held out and a refit up to this many training rows,
# a tenth held out and its embedder kept above.
LARGE_N = 20_000
SMALL_HOLDOUT_SHARE = 0.25
HOLDOUT_SHARE = 0.1
# A hold-out never takes more rows than this.
MAX_HOLDOUT = 10_000
# margin_levels="auto": the embedder's own "auto" margins (a twentieth of
# the geometric bound), one fit of every part; COMPARED_LEVELS adds a
# quarter and a half of the bound (why one level: the user guide's
# defaults page).
AUTO_LEVELS = ("auto",)
COMPARED_LEVELS = ("auto", 0.25, 0.5)


def same_on_every_rank(rng):
    """``rng``, given rank 0's state under ``torchrun`` (a process group
    of several processes), so that every rank draws the same splits and
    seeds; there is no process group while torch is not imported."""
    if "torch" in sys.modules:
        from ..embedding.training.distributed import share_random_state

        share_random_state(rng)
    return rng


def print_on_rank_0(*args):
    """``print``, on rank 0 only under ``torchrun`` (every rank runs the
    same phases; one copy of the progress lines is enough)."""
    if "torch" in sys.modules:
        from ..embedding.training.distributed import _dist

        dist = _dist()
        if dist is not None and dist.get_rank() != 0:
            return
    print(*args)


def holdout_split(y_idx, share, rng):
    """One stratified ``(train, held)`` pair in a list (``round(share *
    n_c)`` rows of every class with at least two rows, at least one, at most
    ``MAX_HOLDOUT`` rows in all), or ``[]``."""
    split = stratified_holdout(y_idx, share, rng, MAX_HOLDOUT)
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
        splits = stratified_folds(y_idx, int(cv), rng)
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


@dataclass
class Part:
    """One split's embedder and its embeddings: ``train`` / ``held`` row
    indices, ``Z_train`` / ``Z_held`` their embeddings, ``softmax`` the
    embedder's ``head_log_proba`` of the held-out rows (or ``None``)."""

    train: np.ndarray
    held: np.ndarray
    embedder: object
    Z_train: np.ndarray
    Z_held: np.ndarray
    softmax: np.ndarray = None


def seeded(est, seed):
    """``est`` with ``random_state=seed`` where it has one that is None."""
    if est.get_params(deep=False).get("random_state", 0) is None:
        est.set_params(random_state=seed)
    return est


@contextlib.contextmanager
def _announced(emb, X, y, label, log, held_out):
    """With ``log`` (a print function): the fit of ``emb`` on ``X``, ``y``
    announced, and, for an embedder that takes skorch callbacks, a
    ``Progress`` callback among them during the ``with`` block (its caps
    read from the embedder's resolved budget)."""
    if log is None:
        yield
        return
    text = f"{label}: fitting the embedder on {X.shape[0]} rows"
    before = emb.get_params(deep=False).get("callbacks", False)
    if before is not False:
        from ..embedding._progress import Progress, caps

        budget = caps(emb, X, y, held_out)
        if budget:
            text += (f": {budget[0]} warm-up epochs, then at most {budget[1]} "
                     f"rounds of {budget[2]:.1f} passes")
        emb.set_params(callbacks=[*(before or []), (
            "clmle_classifier_progress", Progress(label, budget, log))])
    log(text)
    start = time.perf_counter()
    try:
        yield
    finally:
        if before is not False:
            emb.set_params(callbacks=before)
    best = getattr(emb, "best_round_", None)
    log(f"{label}: embedder fitted in {time.perf_counter() - start:.1f} s"
        + (f", best held-out round {best}" if best else ""))


def _has_softmax_head(emb):
    return (hasattr(emb, "head_log_proba")
            and getattr(emb, "n_labels_", 1) == 1
            and getattr(emb, "softmax_head_", None) is not None)


def cross_fit(embedder, X, y, splits, seed, log=None):
    """A ``Part`` per ``(train, held)`` split: a clone of ``embedder``
    (seeded) fitted on the training rows (given the split as its
    ``train_split``, so that a curve budget reads the held-out rows) and its
    embeddings of both sides.  ``log``: a print function for progress."""
    from ..embedding._curve import FixedSplit

    parts = []
    for k, (train, held) in enumerate(splits):
        label = f"[CLMLEClassifier] part {k + 1}/{len(splits)}"
        emb = seeded(clone(embedder), seed)
        with _announced(emb, X[train], y[train], f"{label} ({len(held)} rows "
                        "held out)", log, held_out=True):
            if "train_split" in emb.get_params(deep=False):
                emb.set_params(train_split=FixedSplit(train, held)).fit(X, y)
            else:
                emb.fit(X[train], y[train])
        soft = emb.head_log_proba(X[held]) if _has_softmax_head(emb) else None
        parts.append(Part(train, held, emb, emb.transform(X[train]),
                          emb.transform(X[held]), soft))
    return parts


def all_embeddings(part, X):
    """``part.embedder``'s embeddings of all rows of ``X``: those of its
    training and held-out rows put back in place where the two cover the
    rows (a hold-out, folds), else (a splitter that leaves rows out) its
    ``transform(X)``.  The embedder maps each row on its own, so both give
    the same embeddings (bit for bit under torch's CPU kernels); this
    spares a pass over the data."""
    n = X.shape[0]
    covered = np.zeros(n, dtype=bool)
    covered[part.train] = True
    covered[part.held] = True
    if len(part.train) + len(part.held) != n or not covered.all():
        return part.embedder.transform(X)
    Z = np.empty((n,) + part.Z_train.shape[1:], dtype=part.Z_train.dtype)
    Z[part.train], Z[part.held] = part.Z_train, part.Z_held
    return Z


def refit(embedder, X, y, parts, seed, budget, log=None):
    """The final embedder: a clone of ``embedder`` (seeded, with ``budget``
    if any) fitted on all rows; or, with ``budget`` ``False``, the single
    part's embedder, kept."""
    if budget is False:
        if log is not None:
            log("[CLMLEClassifier] refit: the hold-out's embedder is kept "
                "(no refit on all rows)")
        return parts[0].embedder
    emb = seeded(clone(embedder), seed)
    if budget is not None:
        emb.set_params(**budget)
    with _announced(emb, X, y, "[CLMLEClassifier] refit on all rows", log,
                    held_out=False):
        emb.fit(X, y)
    return emb


def refit_budget(embedders, n):
    """The refit's ``n_rounds`` / ``steps_per_round`` / ``epochs`` on ``n``
    rows, ``Budget.refit`` of the part embedders' ``budget_`` (``None``
    unless every part read its budget from a curve)."""
    from ..embedding._budget import Budget

    budget = Budget.refit([getattr(emb, "budget_", None) for emb in embedders], n)
    return None if budget is None else budget.params()


def margin_levels(levels, embedder, y_idx):
    """``[(name, params)]``: the margin levels ``CLMLEClassifier`` compares,
    each with the parameters set on the embedder's clones (``{}``: its own).

    ``levels``: ``"auto"`` (``AUTO_LEVELS``: the embedder's own margins),
    or a list of ``"auto"`` and fractions ``f`` of
    the geometric bound of Section 3.2 (``embedding._auto.margins``, whose
    ``"auto"`` is ``f = 0.05``): ``margin_between = f * (1 - cos theta_C)``,
    ``margin_within`` likewise.  Fractions need an embedder with
    ``margin_between`` and ``margin_within`` ``"auto"`` and an
    ``embedding_dim`` (``CLMLEEmbedder``)."""
    if isinstance(levels, str):  # "auto"
        levels = AUTO_LEVELS
    if not levels:
        raise ValueError("margin_levels=[] names no level; pass 'auto' or a list "
                         "such as ['auto', 0.25, 0.5].")
    params = embedder.get_params(deep=False)
    free = ("embedding_dim" in params and params.get("margin_between") == "auto"
            and params.get("margin_within") == "auto")
    fractions = [lv for lv in levels if not (isinstance(lv, str) and lv == "auto")]
    if fractions and not free:
        raise ValueError(
            f"margin_levels={list(levels)!r} asks for fractions of the margin "
            f"bound, but the embedder {type(embedder).__name__} has no \"auto\" "
            "margin_between / margin_within to set; pass margin_levels=['auto'] "
            "or leave its margins at \"auto\".")
    for lv in fractions:
        if isinstance(lv, str) or not 0 <= lv <= 2:
            raise ValueError(f"margin_levels entry {lv!r} should be 'auto' or a "
                             "fraction of the margin bound in [0, 2].")
    out = []
    if fractions:
        from ..embedding._auto import margin_bounds

        b1, b2 = margin_bounds(y_idx[:, None], params["embedding_dim"])
    for lv in levels:
        if isinstance(lv, str):
            out.append(("auto", {}))
        else:
            out.append((f"{lv:g} x bound", dict(margin_between=float(lv * b1[0]),
                                                margin_within=float(lv * b2[0]))))
    return out
