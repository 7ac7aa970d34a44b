"""Retrieval of the nearest centroids and the k-nearest-cluster rule (private).

Inputs are validated, unit-norm arrays.  Everything works on blocks of query
rows whose size keeps the largest temporary (query block x centroids, or query
block x classes) within scikit-learn's ``working_memory`` setting.
"""

import threading

import numpy as np
from scipy import sparse
from sklearn import get_config

from ..utils._optional import import_faiss  # noqa: F401  (re-exported)
from . import _faiss_search

ALGORITHMS = ("auto", "brute", "kd_tree", "ball_tree", "faiss")


# Blocks of query x centroid similarities are kept about this small, so that
# they stay in cache; working_memory can only make them smaller.
_CACHE_BYTES = 2**21

# Scratch arrays up to this size are kept per thread for the next block
# (``scratch``): a fresh array of a megabyte costs 256 page faults when first
# written, which took 40 % of a predict of 2,000 queries x 496 centroids.
_SCRATCH_BYTES = 2**23
_SCRATCH = threading.local()

# Columns of the chunks whose sorts find the k-th largest similarity of a
# row (see kth_largest): on 263 x 995 float32 blocks, chunks of 256 found it
# in 0.38 ms, np.partition of whole rows in 1.10 ms (2 cores, numpy 2.4).
_SORT_CHUNK = 256


# Query rows per block of the exact search's rule (see
# CentroidIndex.block_rows): its per-block cost is a few dozen numpy calls on
# arrays n_neighbors wide, so blocks are made long, but short enough to share
# the rows of a large call among threads.
_RULE_ROWS = 4096


# Query rows per faiss call (when working_memory allows): faiss blocks its
# own search, and its calls pay off from about a thousand queries (a flat
# search over 4,500 centroids ran 2.5x faster in blocks of 1,024 rows than
# of 256).
_FAISS_ROWS = 1024


def cache_rows(width, itemsize):
    """Rows of the sub-blocks of the exact search: their similarities
    (``width`` columns of ``itemsize`` bytes) and the sort buffer of
    ``kth_largest`` fit in ``_CACHE_BYTES`` (and in ``working_memory``)."""
    return block_rows(width, itemsize, factor=2)


def block_rows(width, itemsize=8, factor=3, cache=True):
    """Query rows per block: ``factor`` arrays of ``width`` columns fit in
    ``working_memory`` (MiB, scikit-learn's global setting) and, with
    ``cache``, one fits in about 2 MiB of cache."""
    budget = get_config()["working_memory"] * 2**20
    width = max(1, width)
    rows = budget // (factor * itemsize * width)
    if cache:
        rows = min(rows, _CACHE_BYTES // (itemsize * width))
    return max(1, int(rows))


def scratch(name, shape, dtype):
    """A C-contiguous array of ``shape`` and ``dtype`` (contents undefined)
    for a temporary of the calling thread: the memory of the thread's last
    array of that ``name`` is reused when it is large enough (and is kept up
    to ``_SCRATCH_BYTES``).  The array is overwritten by the thread's next
    call with the same ``name``: it must not outlive the function that asked
    for it."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.nbytes < size * dtype.itemsize:
        buf = np.empty(size * dtype.itemsize, dtype=np.uint8)
        if buf.nbytes <= _SCRATCH_BYTES:
            setattr(_SCRATCH, name, buf)
    return buf[: size * dtype.itemsize].view(dtype).reshape(shape)


class CentroidIndex:
    """Nearest-centroid search by cosine similarity.

    ``algorithm``: "brute" (blocked matrix products, exact), "kd_tree" or
    "ball_tree" (scikit-learn trees on the unit sphere, where Euclidean order
    is cosine order), "faiss" (a faiss inner-product index, flat or IVF, see
    ``_faiss_search``; needs faiss).  ``n_neighbors``: the number of centroids
    the queries will ask for, which sets an IVF index's ``nprobe``.
    """

    def __init__(self, centers, algorithm, n_neighbors=1):
        self.centers = centers
        self.algorithm = "brute" if algorithm == "auto" else algorithm
        self.n_neighbors = n_neighbors
        self.calibration = None  # of an IVF index (see _faiss_search.build)
        if self.algorithm == "kd_tree":
            from sklearn.neighbors import KDTree

            self._tree = KDTree(centers)
        elif self.algorithm == "ball_tree":
            from sklearn.neighbors import BallTree

            self._tree = BallTree(centers)
        elif self.algorithm == "faiss":
            self._tree, self.calibration = _faiss_search.build(centers, n_neighbors)

    def __getstate__(self):
        state = self.__dict__.copy()
        tree = state.pop("_tree", None)  # faiss indexes do not pickle
        if self.algorithm == "faiss" and _faiss_search.is_ivf(tree):
            state["_ivf"] = (_faiss_search.dump(tree), tree.nprobe)
        return state

    def __setstate__(self, state):
        ivf = state.pop("_ivf", None)
        if ivf is None:  # the trees and a flat faiss index: rebuilt exactly
            self.__init__(state["centers"], state["algorithm"],
                          state.get("n_neighbors", 1))
            return
        self.__dict__.update(state)
        self._tree = _faiss_search.load(*ivf)

    def query(self, X, n_neighbors, centers_t=None):
        """Indices and similarities of the ``n_neighbors`` most similar
        centroids of each row of ``X`` (in no particular order).

        ``X`` may be a CSR block: the brute search multiplies it by
        ``centers_t`` (the centroids transposed, C-contiguous; computed here if
        not given), the trees and faiss get the block made dense.
        """
        n_centers = self.centers.shape[0]
        n_neighbors = min(n_neighbors, n_centers)
        if self.algorithm == "brute":
            return self._brute(X, n_neighbors, centers_t)
        if sparse.issparse(X):
            X = X.toarray()
        if self.algorithm in ("kd_tree", "ball_tree"):
            dist, idx = self._tree.query(X, k=n_neighbors)
            return idx, 1.0 - dist**2 / 2.0
        idx, sims = _faiss_search.search(self._tree, X, n_neighbors)
        short = np.flatnonzero(idx[:, -1] < 0)  # IVF: too few in the lists
        if short.size:
            idx[short], sims[short] = self._brute(X[short], n_neighbors)
        return idx, sims

    def _brute(self, X, n_neighbors, centers_t=None):
        """Exact search: the similarities of sub-blocks of rows of ``X`` to
        all the centroids, each sub-block small enough for the cache and
        written into the same scratch array (``cache_rows``), and their
        ``top_k``."""
        n, m = X.shape[0], self.centers.shape[0]
        dtype = np.result_type(X.dtype, self.centers.dtype)
        idx = np.empty((n, n_neighbors), dtype=np.intp)
        sims = np.empty((n, n_neighbors), dtype=dtype)
        is_sparse = sparse.issparse(X)
        if is_sparse and centers_t is None:
            centers_t = np.ascontiguousarray(self.centers.T)
        step = cache_rows(m, dtype.itemsize)
        for start in range(0, n, step):
            stop = min(start + step, n)
            if is_sparse:
                block = X[start:stop] @ centers_t
            else:
                block = np.matmul(X[start:stop], self.centers.T,
                                  out=scratch("sims", (stop - start, m), dtype))
            idx[start:stop], sims[start:stop] = top_k(block, n_neighbors)
        return idx, sims

    @property
    def own_threads(self):
        """Whether the search threads itself: faiss's IVF search shares the
        queries of a call among its OpenMP threads; the other searches run
        on single-threaded BLAS in each of the caller's threads."""
        return self.algorithm == "faiss" and _faiss_search.is_ivf(self._tree)

    def block_rows(self, n_neighbors, n_classes, X):
        """Query rows per block of ``X``, from the widest temporary of a
        block.  "brute" searches a block in sub-blocks of its own
        (``cache_rows``): its blocks are sized by the rule's temporaries,
        ``n_neighbors`` or ``n_classes`` wide, and hold at most
        ``_RULE_ROWS`` rows.  The trees: the similarities to every centroid
        or the ``n_classes`` scores (and the block's rows, made dense).  faiss,
        which blocks its own search: the ``n_neighbors`` retrieved, the
        ``n_classes`` scores or the block's rows (``_FAISS_ROWS`` rows when
        ``working_memory`` allows)."""
        if self.algorithm == "faiss":
            width = max(n_neighbors, n_classes, X.shape[1])
            return min(_FAISS_ROWS, block_rows(width, cache=False))
        if self.algorithm == "brute":
            width = max(n_neighbors, n_classes)
            return min(_RULE_ROWS, block_rows(width, cache=False))
        width = max(self.centers.shape[0], n_classes)
        if sparse.issparse(X):
            width = max(width, X.shape[1])  # tree blocks are made dense
        return block_rows(width)


def top_k(sims, k):
    """Indices and similarities of the ``k`` largest entries of every row of
    ``sims``, each row's in increasing column order; of entries tied at a
    row's ``k``-th largest value, those of the lowest columns are kept (the
    ``k`` first of a stable sort by decreasing similarity).

    The ``k``-th largest value of each row comes from sorts of the values
    alone (``kth_largest``); the entries at or above it are then picked in
    one pass over the block.
    """
    n, m = sims.shape
    if k >= m:
        return np.broadcast_to(np.arange(m), sims.shape), sims
    kth = kth_largest(sims, k)[:, None]
    hit = np.greater_equal(sims, kth, out=scratch("hit", sims.shape, bool))
    flat = np.flatnonzero(hit)
    if flat.size != n * k:  # ties at the k-th value: more than k in some rows
        flat = np.flatnonzero(_lowest_ties(sims, hit, kth, k))
    idx = (flat % m).reshape(n, k)
    return idx, np.take_along_axis(sims, idx, axis=1)


def kth_largest(sims, k):
    """The ``k``-th largest value of every row of ``sims`` (``k < n_columns``).

    numpy sorts and partitions float rows with SIMD sorting networks, which
    are fastest on rows of a few hundred values: a row of about 1,000
    centroids is partitioned 3x slower per value than one of 500 (and
    ``np.argpartition``, which carries the indices, 4x slower still).  So
    wide rows are cut into chunks of ``_SORT_CHUNK`` columns (the last padded
    with ``-inf``), each chunk is sorted, and the ``k``-th largest value is
    taken among the chunks' ``k`` largest, which hold the row's ``k``
    largest.
    """
    n, m = sims.shape
    w = _SORT_CHUNK
    if m <= w or 2 * k > w:
        return np.partition(sims, m - k, axis=1)[:, m - k]
    n_chunks = -(-m // w)
    chunks = scratch("chunks", (n, n_chunks * w), sims.dtype)
    chunks[:, :m] = sims
    chunks[:, m:] = -np.inf
    chunks = chunks.reshape(n * n_chunks, w)
    chunks.sort(axis=1)
    best = chunks[:, w - k:].reshape(n, n_chunks * k)
    return np.partition(best, (n_chunks - 1) * k, axis=1)[:, (n_chunks - 1) * k]


def _lowest_ties(sims, hit, kth, k):
    """``hit`` (entries at or above each row's ``k``-th value) keeping, in
    rows with more than ``k``, only the lowest columns of the entries tied
    at that value."""
    over = np.flatnonzero(hit.sum(axis=1) > k)
    tied = sims[over] == kth[over]
    room = k - (sims[over] > kth[over]).sum(axis=1, keepdims=True)
    hit = hit.copy()
    hit[over] &= ~tied | (np.cumsum(tied, axis=1) <= room)
    return hit


def floor_score(scale, n_neighbors):
    """Score given to classes absent from the retrieved clusters: strictly
    below the lowest score a retrieved class can have, which is
    ``-scale - (scale + log(n_neighbors))``."""
    return -2.0 * scale - np.log(max(n_neighbors, 1)) - 1.0


def segment_scores(sims, cluster_class, n_classes, scale, aggregate):
    """Scores of Eq. 10 (log form) for the classes of the retrieved clusters.

    Only the (query, class) pairs present among the retrieved clusters are
    scored, so the cost is O(n_queries * N log N), whatever the number of
    classes.

    Parameters
    ----------
    sims : ndarray of shape (n_queries, N)
        Cosine similarities of the retrieved centroids, in any order.
    cluster_class : ndarray of shape (n_queries, N)
        Class index of each retrieved centroid.
    n_classes : int
    scale : float
        Similarities are multiplied by ``scale`` (a temperature).
    aggregate : {"min", "max"}
        How the retrieved clusters of a class are summarised: ``"min"`` is the
        paper's (its least similar retrieved cluster), ``"max"`` its most
        similar one.

    Returns
    -------
    rows, classes, scores : ndarrays of shape (n_segments,)
        One entry per (query, retrieved class) pair, sorted by query then
        class: ``agg_c - logsumexp_{retrieved k of another class} z_k`` with
        ``z = scale * sims``.  When all the retrieved clusters are of one
        class, the other-class term is one cluster at cosine -1 (``-scale``).
    """
    n_q, n_nb = sims.shape
    z = scale * np.asarray(sims, dtype=np.float64)
    r = np.arange(n_q)
    top = z.argmax(axis=1)
    z0 = z[r, top]
    c0 = cluster_class[r, top]
    e = np.exp(z - z0[:, None])

    key = (r[:, None] * n_classes + cluster_class).ravel()
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.empty(key.shape[0], dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    reduce = np.minimum if aggregate == "min" else np.maximum
    agg = reduce.reduceat(z.ravel()[order], starts)
    own = np.add.reduceat(e.ravel()[order], starts)
    rows, classes = np.divmod(key[starts], n_classes)

    # Other-class logsumexp.  For every class but the top-1 cluster's class c0
    # the largest other-class term is z0, so the shifted sums lie in [1, N]:
    # subtracting the class's own mass loses no precision.
    total = e.sum(axis=1)
    lse = z0[rows] + np.log(np.maximum(total[rows] - own, 1.0))
    # The top-1 class: an exact masked logsumexp over the other classes.
    other = cluster_class != c0[:, None]
    has_other = other.any(axis=1)
    masked = np.where(other, z, -np.inf)
    m = np.where(has_other, masked.max(axis=1), 0.0)
    mass = np.exp(masked - m[:, None]).sum(axis=1)  # exp(-inf) = 0
    lse_c0 = np.where(has_other, m + np.log(np.where(has_other, mass, 1.0)), -scale)
    is_c0 = classes == c0[rows]
    lse[is_c0] = lse_c0[rows[is_c0]]
    return rows, classes, agg - lse


def best_class(rows, classes, scores, n_queries):
    """Class of highest score for each query (ties: the lowest class index)."""
    best = np.full(n_queries, -np.inf)
    np.maximum.at(best, rows, scores)
    hit = np.flatnonzero(scores == best[rows])
    _, first = np.unique(rows[hit], return_index=True)
    return classes[hit[first]]


def dense_scores(rows, classes, scores, n_queries, n_classes, floor):
    """(n_queries, n_classes) scores; classes not retrieved get ``floor``."""
    out = np.full((n_queries, n_classes), floor)
    out[rows, classes] = scores
    return out


def softmax_over_present(scores, floor):
    """Softmax over the classes above ``floor``; absent classes get 0."""
    present = scores > floor
    shifted = np.where(present, scores - scores.max(axis=1, keepdims=True), -np.inf)
    p = np.exp(shifted)
    return p / p.sum(axis=1, keepdims=True)
