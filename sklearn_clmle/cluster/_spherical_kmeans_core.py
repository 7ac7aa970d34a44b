"""Numerical core of spherical k-means (private; inputs already validated).

Every function here takes rows that already have unit norm, and works in the
dtype it is given.  Similarities against the centroids are computed in blocks
of rows so that no ``n_samples x n_clusters`` matrix is ever held in memory.

``X`` may be a dense array or a CSR matrix (rows already unit norm, no
duplicate entries).  A CSR ``X`` is never densified: similarities are sparse
rows times dense centroids, and only the few rows that become centroids are
made dense (``dense_rows``).  Centroids are always dense.
"""

import numpy as np
from scipy import sparse

from ..utils._parallel import for_blocks

# Largest block of similarities held at once, in bytes.
_BLOCK_BYTES = 2**21


def _block_rows(n_clusters, itemsize):
    return max(1, _BLOCK_BYTES // max(1, n_clusters * itemsize))


def dense_rows(X, idx):
    """Rows ``idx`` (an index array) of ``X`` as a new dense 2-D array."""
    rows = X[np.asarray(idx, dtype=np.intp)]
    return rows.toarray() if sparse.issparse(rows) else rows


def _cosine_to_own_center(Xb, centers, labels):
    """Similarity of each row of a block to its centroid ``centers[labels]``."""
    if not sparse.issparse(Xb):
        return np.einsum("ij,ij->i", Xb, centers[labels])
    # only the centroid entries at the row's stored columns are gathered
    owner = np.repeat(np.arange(Xb.shape[0]), np.diff(Xb.indptr))
    nnz = Xb.indptr[-1]
    products = Xb.data[:nnz] * centers[labels[owner], Xb.indices[:nnz]]
    return np.bincount(owner, weights=products, minlength=Xb.shape[0])


def assign_nearest(X, centers, n_threads=1):
    """Index of, and cosine similarity to, the nearest centroid of each row."""
    n = X.shape[0]
    labels = np.empty(n, dtype=np.intp)
    best = np.empty(n, dtype=X.dtype)
    centers_t = np.ascontiguousarray(centers.T)

    def block(start, stop):
        sims = X[start:stop] @ centers_t
        lab = sims.argmax(axis=1)
        labels[start:stop] = lab
        best[start:stop] = sims[np.arange(stop - start), lab]

    step = _block_rows(centers.shape[0], X.dtype.itemsize)
    for_blocks(block, n, step, n_threads)
    return labels, best


def similarities(X, centers, n_threads=1):
    """``X @ centers.T`` (cosine similarities), computed in blocks of rows."""
    n = X.shape[0]
    dtype = np.result_type(X.dtype, centers.dtype)
    out = np.empty((n, centers.shape[0]), dtype=dtype)
    centers_t = np.ascontiguousarray(centers.T)

    def block(start, stop):
        out[start:stop] = X[start:stop] @ centers_t

    step = _block_rows(centers.shape[0], X.dtype.itemsize)
    for_blocks(block, n, step, n_threads)
    return out


def top_candidates(X, centers, n_candidates, rows=None, allowed=None, n_threads=1):
    """The ``n_candidates`` most similar centroids of each row, best first.

    ``rows`` (indices into ``X``) restricts the rows searched, without copying
    ``X``; ``allowed`` (boolean, one entry per centroid) restricts the search
    to the centroids marked True.
    """
    n = X.shape[0] if rows is None else rows.size
    k = centers.shape[0]
    t = min(n_candidates, k if allowed is None else int(allowed.sum()))
    idx = np.empty((n, t), dtype=np.intp)
    sims = np.empty((n, t), dtype=X.dtype)
    centers_t = np.ascontiguousarray(centers.T)

    def block(start, stop):
        Xb = X[start:stop] if rows is None else X[rows[start:stop]]
        s = Xb @ centers_t
        if allowed is not None:
            s[:, ~allowed] = -np.inf
        r = np.arange(stop - start)
        # t passes of argmax are much cheaper than a partition for small t
        for j in range(t):
            best = s.argmax(axis=1)
            idx[start:stop, j] = best
            sims[start:stop, j] = s[r, best]
            s[r, best] = -np.inf

    step = _block_rows(k, X.dtype.itemsize)
    for_blocks(block, n, step, n_threads)
    return idx, sims


def update_centers(X, sample_weight, labels, n_clusters):
    """Unit-norm weighted mean direction of each cluster.

    Returns the centres and a boolean mask of the clusters that are empty (no
    member, or members whose weighted sum is the zero vector); the rows of
    empty clusters are left at zero for the caller to relocate.
    """
    n = X.shape[0]
    # (n_clusters, n) membership matrix, one entry per column: built straight
    # in CSC form (a COO -> CSR conversion costs more than the product here)
    onehot = sparse.csc_matrix(
        (sample_weight, labels, np.arange(n + 1)), shape=(n_clusters, n)
    )
    if sparse.issparse(X):
        # CSR @ CSR sums each cluster's members in row order, as the dense
        # product does; the (n_clusters, n_features) result is made dense.
        sums = (onehot.tocsr() @ X).toarray()
    else:
        sums = np.asarray(onehot @ X, dtype=X.dtype)
    norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))
    empty = norms <= np.finfo(X.dtype).eps
    sums /= np.where(empty, 1, norms)[:, None]  # in place: no copy of sums
    sums[empty] = 0
    return sums, empty


def inertia(X, sample_weight, centers, labels):
    """Weighted sum of ``1 - cos`` between each row and its centroid."""
    total = 0.0
    step = _block_rows(centers.shape[0], X.dtype.itemsize)
    for start in range(0, X.shape[0], step):
        stop = start + step
        cos = _cosine_to_own_center(X[start:stop], centers, labels[start:stop])
        total += float(np.dot(sample_weight[start:stop], 1 - cos))
    return total


def _relocate_empty(X, centers, empty, best_sim):
    """Move empty clusters onto the rows farthest from their centroid."""
    n_empty = int(empty.sum())
    far = np.argsort(best_sim, kind="stable")[:n_empty]
    centers[np.flatnonzero(empty)] = dense_rows(X, far)


# Centroid arrays above this size (bytes) get their movement summed by blocks.
_SHIFT_BLOCK_BYTES = 2**22


def _squared_shift(new, old):
    """``sum((new - old) ** 2)`` without a temporary as large as the centroids
    when they are large (a big vocabulary times many clusters)."""
    if new.nbytes <= _SHIFT_BLOCK_BYTES:
        return float(np.sum((new - old) ** 2))
    step = max(1, _SHIFT_BLOCK_BYTES // (new.shape[1] * new.itemsize))
    return sum(
        float(np.sum((new[i : i + step] - old[i : i + step]) ** 2))
        for i in range(0, new.shape[0], step)
    )


def lloyd(X, sample_weight, centers, max_iter, tol, n_threads=1):
    """Spherical Lloyd iterations.  Returns centres, labels, n_iter.

    The returned labels are the nearest centroids of the returned centres.
    """
    k = centers.shape[0]
    labels = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        new_labels, best_sim = assign_nearest(X, centers, n_threads)
        if labels is not None and np.array_equal(labels, new_labels):
            return centers, labels, n_iter - 1  # strict convergence
        labels = new_labels
        new_centers, empty = update_centers(X, sample_weight, labels, k)
        if empty.any():
            _relocate_empty(X, new_centers, empty, best_sim)
        shift = _squared_shift(new_centers, centers)
        centers = new_centers
        if shift <= tol:
            break
    labels, _ = assign_nearest(X, centers, n_threads)
    return centers, labels, n_iter


def equal_capacities(n_samples, n_clusters, demand):
    """Capacities that sum to ``n_samples`` and differ by at most one.

    The ``n_samples % n_clusters`` clusters with the highest ``demand`` (how
    many rows prefer them) get the extra sample.
    """
    base, extra = divmod(n_samples, n_clusters)
    capacity = np.full(n_clusters, base, dtype=np.intp)
    if extra:
        order = np.argsort(-demand, kind="stable")
        capacity[order[:extra]] += 1
    return capacity


def balanced_assign(X, centers, capacity, n_candidates=3, n_threads=1):
    """Assign rows to centroids without exceeding each centroid's capacity.

    A vectorised deferred-acceptance greedy: in each round every unassigned row
    proposes to its most similar centroid not yet tried; a centroid accepts its
    most similar proposers up to its remaining capacity.  Rows that exhaust
    their ``n_candidates`` candidates look again among the centroids that still
    have room.  ``capacity`` must sum to ``len(X)``.
    """
    n = X.shape[0]
    k = centers.shape[0]
    labels = np.full(n, -1, dtype=np.intp)
    remaining = capacity.astype(np.intp, copy=True)
    pending = np.arange(n)
    allowed = None
    while pending.size:
        cand, sims = top_candidates(
            X, centers, n_candidates, pending if allowed is not None else None,
            allowed, n_threads,
        )
        t = cand.shape[1]
        pointer = np.zeros(pending.size, dtype=np.intp)
        active = np.arange(pending.size)
        while active.size:
            c = cand[active, pointer[active]]
            s = sims[active, pointer[active]]
            order = np.lexsort((-s, c))
            c_sorted = c[order]
            first = np.searchsorted(c_sorted, c_sorted, side="left")
            accept = np.arange(c_sorted.size) - first < remaining[c_sorted]
            labels[pending[active[order[accept]]]] = c_sorted[accept]
            remaining -= np.bincount(c_sorted[accept], minlength=k)
            losers = active[order[~accept]]
            pointer[losers] += 1
            active = losers[pointer[losers] < t]
        pending = pending[labels[pending] < 0]
        allowed = remaining > 0
    return labels


def lloyd_equal_size(X, sample_weight, centers, max_iter, tol, n_threads=1):
    """Spherical k-means whose clusters have sizes differing by at most one.

    First unconstrained Lloyd iterations from ``centers``; then iterations
    whose assignment step is ``balanced_assign``.  The greedy constrained
    assignment is not guaranteed to lower the inertia at every step, so the
    second phase stops as soon as the inertia does not improve (or the labels
    repeat, or ``max_iter`` is reached) and returns the best partition seen.
    Returns centres, labels, n_iter (iterations of both phases).
    """
    centers, nearest, n_iter = lloyd(X, sample_weight, centers, max_iter, tol, n_threads)
    return equal_size_phase(
        X, sample_weight, centers, nearest, n_iter, max_iter, tol, n_threads
    )


def equal_size_phase(X, sample_weight, centers, nearest, n_iter, max_iter, tol,
                     n_threads=1):
    """The constrained phase of ``lloyd_equal_size``, from the centres of an
    unconstrained run (``nearest``: their labels, ``n_iter``: its count)."""
    n = X.shape[0]
    k = centers.shape[0]
    capacity = equal_capacities(n, k, np.bincount(nearest, minlength=k))

    def refit(labels):
        new_centers, empty = update_centers(X, sample_weight, labels, k)
        # A cluster whose members sum to zero keeps its previous direction.
        new_centers[empty] = centers[empty]
        return new_centers, inertia(X, sample_weight, new_centers, labels)

    labels = balanced_assign(X, centers, capacity, n_threads=n_threads)
    centers, score = refit(labels)
    for _ in range(max_iter - 1):
        new_labels = balanced_assign(X, centers, capacity, n_threads=n_threads)
        if np.array_equal(new_labels, labels):
            break
        new_centers, new_score = refit(new_labels)
        if new_score >= score - tol * max(score, 1e-12):
            break
        labels, centers, score = new_labels, new_centers, new_score
        n_iter += 1
    return centers, labels, n_iter + 1
