"""The rows ``CLMLEClassifier`` judges its candidates on (private).

``"auto"``: one stratified hold-out of a quarter of the rows up to
``LARGE_N`` rows (its embedder sees three quarters of the data, close to
what the refit on all rows sees, and the selection costs 0.75 of a fit
before the refit), a tenth above (at most ``MAX_HOLDOUT`` rows), whose
embedder is kept.  ``K`` stratified folds on request: every row held out
once, at the cost of ``K`` fits on ``(K - 1) / K`` of the rows.
"""

import numpy as np

from ..neighbors import _auto

# cv="auto": a quarter held out and a refit up to this many training rows,
# a tenth held out and its embedder kept above.
LARGE_N = 20_000
SMALL_HOLDOUT_SHARE = 0.25
HOLDOUT_SHARE = 0.1
# A hold-out never takes more rows than this.
MAX_HOLDOUT = 10_000
# margin_levels="auto" up to LARGE_N rows: the embedder's "auto" margins (a
# twentieth of the geometric bound), a medium and a large share of the
# bound (the range where the validation corpus's sets peaked: vowel at the
# twentieth, digits at a half); above, the embedder's own margins alone
# (each level is one more fit of every part).
AUTO_LEVELS = ("auto", 0.25, 0.5)


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
    ``"auto"``, an int (folds) or a float in (0, 1) (a hold-out share);
    ``refit``: ``"auto"`` (up to ``LARGE_N`` rows, or always for folds) or
    a bool (a kept embedder needs a single hold-out)."""
    n = y_idx.shape[0]
    if isinstance(cv, str):  # "auto"
        cv = SMALL_HOLDOUT_SHARE if n <= LARGE_N else HOLDOUT_SHARE
    if isinstance(cv, float):
        splits = holdout_split(y_idx, cv, rng)
        refit = n <= LARGE_N if refit == "auto" else bool(refit)
    else:
        if refit is False:
            raise ValueError(
                f"refit_embedder=False keeps the embedder of a single hold-out; "
                f"cv={cv} asks for {cv} folds: pass a float cv (a hold-out "
                "share) or refit_embedder=True.")
        splits, refit = fold_splits(y_idx, int(cv), rng), True
    if not splits or any(he.size == 0 for _, he in splits):
        raise ValueError(
            "y has no class with two or more samples, so no row can be held "
            "out to choose the classifier; every class needs at least 2 rows "
            "for CLMLEClassifier (use the Pipeline of CLMLEEmbedder and "
            "KNearestClusterClassifier for such data).")
    return splits, refit


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


def margin_levels(levels, embedder, y_idx):
    """``[(name, params)]``: the margin levels ``CLMLEClassifier`` compares,
    each with the parameters set on the embedder's clones (``{}``: its own).

    ``levels``: ``"auto"`` (``AUTO_LEVELS`` up to ``LARGE_N`` rows, else the
    embedder's own margins), or a list of ``"auto"`` and fractions ``f`` of
    the geometric bound of Section 3.2 (``embedding._auto.margins``, whose
    ``"auto"`` is ``f = 0.05``): ``margin_between = f * (1 - cos theta_C)``,
    ``margin_within`` likewise.  Fractions need an embedder with
    ``margin_between`` and ``margin_within`` ``"auto"`` and an
    ``embedding_dim`` (``CLMLEEmbedder``)."""
    if isinstance(levels, str):  # "auto"
        levels = AUTO_LEVELS if y_idx.shape[0] <= LARGE_N else ("auto",)
    if not levels:
        raise ValueError("margin_levels=[] names no level; pass 'auto' or a list "
                         "such as ['auto', 0.25, 0.5].")
    params = embedder.get_params(deep=False)
    free = ("embedding_dim" in params and params.get("margin_between") == "auto"
            and params.get("margin_within") == "auto")
    fractions = [lv for lv in levels if not (isinstance(lv, str) and lv == "auto")]
    if fractions and not free:
        if levels is AUTO_LEVELS:
            return [("auto", {})]  # margins given: the embedder's own
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
