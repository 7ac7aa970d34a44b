"""Seeding of SphericalKMeans (private): the ``init`` parameter checked and
turned into seeds, and the seeding algorithms (greedy k-means++, k-means||)
on unit-norm rows, dense or CSR, in blocks of rows as the numerical core
(``_spherical_kmeans_core``) does."""

import warnings

import numpy as np
from scipy import sparse

from ..utils._parallel import for_blocks
from ..utils._validation import normalize_rows
from . import _spherical_kmeans_core as core
from ._spherical_kmeans_core import _block_rows, assign_nearest, dense_rows


def initial_centers(init, X, n_clusters, sample_weight, rng, n_threads,
                    init_array):
    """Seeds for one run: ``init`` is a seeding name other than ``"auto"``,
    or an array, then ``init_array`` is the checked array."""
    if isinstance(init, str) and init == "k-means++":
        return kmeans_plusplus(
            X, n_clusters, sample_weight, rng, n_threads=n_threads
        )
    if isinstance(init, str) and init == "k-means||":
        return kmeans_parallel(
            X, n_clusters, sample_weight, rng, n_threads=n_threads
        )
    if isinstance(init, str) and init == "random":
        p = sample_weight / sample_weight.sum()
        n_positive = int(np.count_nonzero(p))
        idx = rng.choice(
            X.shape[0], size=n_clusters, replace=n_positive < n_clusters, p=p
        )
        return core.dense_rows(X, idx)
    return init_array.copy()


def check_init(init, n_init, n_clusters, X):
    """``(init_array, n_init)`` of a fit: the checked initial centroids
    when ``init`` is an array (else ``None``), run once (with a
    ``RuntimeWarning`` if ``n_init`` asked for more); ``n_init="auto"``: 10
    runs for ``init="random"``, else 1."""
    if isinstance(init, str):
        return None, (10 if init == "random" else 1) if n_init == "auto" else n_init
    if n_init != "auto" and n_init != 1:
        warnings.warn(
            f"Explicit initial centers passed with n_init={n_init}; "
            "performing only one init.",
            RuntimeWarning,
            stacklevel=3,  # where it pointed when fit raised it itself
        )
    return check_init_array(init, n_clusters, X), 1


def check_init_array(init, n_clusters, X):
    """The initial centroids given as an array: checked, normalised, in
    ``X``'s dtype (a new array)."""
    init = np.asarray(init)
    if init.ndim != 2 or init.shape != (n_clusters, X.shape[1]):
        raise ValueError(
            f"init has shape {init.shape}; expected (n_clusters, n_features)"
            f" = ({n_clusters}, {X.shape[1]})."
        )
    if not np.issubdtype(init.dtype, np.number):
        raise TypeError(f"init must be numeric, got dtype {init.dtype}.")
    # Normalise in init's own precision (at least float32) before casting
    # to X's dtype: a row of tiny float64 values would round to zero in
    # float32, and huge ones to infinity.
    if not np.issubdtype(init.dtype, np.floating):
        init = init.astype(np.float64)
    if not np.all(np.isfinite(init)):
        raise ValueError("init contains NaN or infinity.")
    return normalize_rows(init, name="init").astype(X.dtype, copy=True)


def _trial_potentials(X, sample_weight, best_sim, trials, n_threads):
    """For each trial centre j: ``sum_i w_i max(best_i, cos(x_i, t_j))``, and
    the ``(n_samples, n_trials)`` similarities ``max(best_i, cos(x_i, t_j))``.

    Computed by blocks of rows (BLAS held to one thread, see ``for_blocks``),
    so the draws of a seeding do not depend on other threads' work.
    """
    n = X.shape[0]
    t = trials.shape[0]
    sims = np.empty((n, t), dtype=X.dtype)
    # dense X: the transposed view, as in one product over all the rows (with
    # a single block, the draws are those of that product, bit for bit)
    trials_t = np.ascontiguousarray(trials.T) if sparse.issparse(X) else trials.T
    step = _block_rows(t, X.dtype.itemsize)
    partial = np.zeros((-(-n // step), t))

    def block(start, stop):
        s = X[start:stop] @ trials_t
        np.maximum(s, best_sim[start:stop, None], out=s)
        sims[start:stop] = s
        partial[start // step] = sample_weight[start:stop] @ s

    for_blocks(block, n, step, n_threads)
    return partial.sum(axis=0), sims


def kmeans_plusplus(
    X, n_clusters, sample_weight, random_state, n_local_trials=None, n_threads=1
):
    """Greedy k-means++ seeding with cosine dissimilarity ``1 - cos``.

    For unit vectors ``||x - c||^2 = 2 (1 - cos(x, c))``, so sampling in
    proportion to ``1 - cos`` is exactly k-means++'s D^2 sampling on the
    sphere.  As in scikit-learn, each step draws ``2 + log(k)`` candidates and
    keeps the one that lowers the total dissimilarity most.
    """
    seeds = _kmeans_plusplus_rows(
        X, n_clusters, sample_weight, random_state, n_local_trials, n_threads
    )
    return dense_rows(X, seeds)


def _kmeans_plusplus_rows(
    X, n_clusters, sample_weight, random_state, n_local_trials=None, n_threads=1
):
    """``kmeans_plusplus``'s seeds as row indices into ``X``."""
    n = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    seeds = np.empty(n_clusters, dtype=np.intp)
    total_weight = float(sample_weight.sum())
    prob = sample_weight / total_weight
    first = random_state.choice(n, p=prob)
    seeds[0] = first
    best_sim = X @ dense_rows(X, [first])[0]  # similarity to the nearest seed
    for c in range(1, n_clusters):
        cost = sample_weight * np.clip(1 - best_sim, 0, None)
        cumulative = np.cumsum(cost, dtype=np.float64)
        if cumulative[-1] > 0:
            draws = random_state.uniform(size=n_local_trials) * cumulative[-1]
            candidates = np.searchsorted(cumulative, draws)
            np.clip(candidates, None, n - 1, out=candidates)
        else:  # every point coincides with a centre already
            candidates = random_state.choice(n, size=n_local_trials, p=prob)
        # the candidate that maximises sum_i w_i max(best_i, s_ij), i.e. that
        # lowers sum_i w_i (1 - cos) most
        trials = dense_rows(X, candidates)
        potentials, sims = _trial_potentials(
            X, sample_weight, best_sim, trials, n_threads
        )
        best = int(np.argmax(potentials))
        best_sim = sims[:, best].copy()
        seeds[c] = candidates[best]
    return seeds


# Candidate rows of a sparse X made dense at once in k-means|| (bytes).
_CANDIDATE_BYTES = 2**25


def _nearest_row(X, rows, n_threads):
    """Index into ``rows`` of, and similarity to, the most similar of the rows
    ``X[rows]`` for every row of ``X``.  The rows of a sparse ``X`` are made
    dense a chunk at a time; ties go to the first row, as with one argmax."""
    if not sparse.issparse(X):
        return assign_nearest(X, X[rows], n_threads)
    chunk = max(1, _CANDIDATE_BYTES // (X.shape[1] * X.dtype.itemsize))
    labels, best = assign_nearest(X, dense_rows(X, rows[:chunk]), n_threads)
    for start in range(chunk, rows.size, chunk):
        lab, sim = assign_nearest(
            X, dense_rows(X, rows[start : start + chunk]), n_threads
        )
        better = sim > best
        labels[better] = lab[better] + start
        best[better] = sim[better]
    return labels, best


def kmeans_parallel(
    X, n_clusters, sample_weight, random_state, n_rounds=5, oversampling=2.0,
    n_threads=1,
):
    """k-means|| seeding (Bahmani et al., 2012) with cosine dissimilarity.

    After a first centre drawn by weight, each of ``n_rounds`` passes over the
    data draws every row independently with probability ``min(1, l w (1 -
    cos) / total)`` (``cos`` to its nearest candidate so far, ``l =
    oversampling * n_clusters``): about ``l`` new candidates a round, ``l *
    n_rounds`` in all, the data read ``n_rounds`` times instead of
    ``n_clusters`` times.  Each candidate stands for the rows nearest to it
    (its cell) and is weighted by their sample weight; greedy weighted
    k-means++ on the candidates picks ``n_clusters`` cells.  The seed of a
    picked cell is one of its rows, drawn in proportion to ``w (1 - cos)`` to
    the cell's candidate, as k-means++ draws rows in proportion to their
    dissimilarity.

    The defaults follow Bahmani et al. (5 rounds, ``l = 2k``).  Seeding with
    the picked candidates themselves (rows that attracted many others, so
    central ones), or Lloyd iterations on the weighted candidates (as in
    Spark), gave seeds of higher cohesion whose Lloyd iterations on ``X``
    then ended less cohesive than k-means++'s (0.002-0.003 lower mean cosine
    on 100,000 x 64 points, k=500); drawing within the cells closed the gap.
    """
    n = X.shape[0]
    total_weight = float(sample_weight.sum())
    first = random_state.choice(n, p=sample_weight / total_weight)
    chosen = [np.array([first])]
    owner, best_sim = _nearest_row(X, chosen[0], n_threads)
    n_chosen = 1
    for _ in range(n_rounds):
        cost = sample_weight * np.clip(1 - best_sim, 0, None)
        total = float(cost.sum())
        if total <= 0:
            break
        p = np.minimum(1.0, oversampling * n_clusters * cost / total)
        new = np.flatnonzero(random_state.uniform(size=n) < p)
        if new.size == 0:
            continue
        lab, sim = _nearest_row(X, new, n_threads)
        better = sim > best_sim
        best_sim[better] = sim[better]
        owner[better] = n_chosen + lab[better]
        chosen.append(new)
        n_chosen += new.size
    chosen = np.concatenate(chosen)
    weight = np.bincount(owner, weights=sample_weight, minlength=chosen.size)
    keep = np.flatnonzero(weight > 0)
    if keep.size <= n_clusters:
        return kmeans_plusplus(
            X, n_clusters, sample_weight, random_state, n_threads=n_threads
        )
    picks = _kmeans_plusplus_rows(
        X[chosen[keep]], n_clusters, weight[keep].astype(X.dtype), random_state,
        n_threads=n_threads,
    )
    cost = sample_weight * np.clip(1 - best_sim, 0, None)
    seeds = _draw_in_cells(owner, cost, keep[picks], chosen, random_state)
    return dense_rows(X, seeds)


def _draw_in_cells(owner, cost, cells, chosen, random_state):
    """One row of each cell in ``cells`` (rows ``i`` with ``owner[i] ==
    cell``), drawn in proportion to ``cost``; a cell of zero cost gives its
    candidate row ``chosen[cell]``."""
    order = np.argsort(owner, kind="stable")
    sorted_owner = owner[order]
    start = np.searchsorted(sorted_owner, cells, side="left")
    stop = np.searchsorted(sorted_owner, cells, side="right")
    cumulative = np.concatenate([[0.0], np.cumsum(cost[order], dtype=np.float64)])
    low, high = cumulative[start], cumulative[stop]
    draws = low + random_state.uniform(size=cells.size) * (high - low)
    # the first row of the cell whose cumulative cost exceeds the draw
    position = np.searchsorted(cumulative[1:], draws, side="right")
    position = np.clip(position, start, np.maximum(stop - 1, start))
    seeds = order[position]
    flat = high <= low
    seeds[flat] = chosen[cells[flat]]
    return seeds
