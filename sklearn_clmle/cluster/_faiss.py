"""Spherical k-means iterations run by faiss: ``algorithm="faiss"`` (private).

faiss's k-means (``faiss.Clustering`` with ``spherical=True`` over an
inner-product index, as ``faiss.Kmeans(d, k, spherical=True)``) runs the
Lloyd iterations on one float32 copy of the unit-norm rows; the estimator
keeps its seeding, its ``n_init`` loop, its stopping rule and its
equal-size phase.  faiss is run one iteration per ``train`` call, the
centroids carried from call to call, so that ``tol`` is checked after every
iteration as on the numpy path (a ``train`` call costs faiss one pass of NaN
checks and one random permutation of the row indices besides its iteration:
about 1 % of an iteration at k = 4,096, more for small k).

The index is faiss's flat inner-product index, moved to every GPU with
``faiss.index_cpu_to_all_gpus`` when faiss was built with GPU support and
sees a CUDA device (``faiss.get_num_gpus() > 0``), as ``faiss.Kmeans(...,
gpu=True)`` does.  That path is written against faiss's API but not tested
here (no GPU).
"""

from contextlib import contextmanager

import numpy as np
from scipy import sparse

from ..utils._optional import import_faiss
from ..utils._validation import normalize_rows
from . import _spherical_kmeans_core as core

# Bytes of a sparse X made dense at a time (float32 rows for faiss).
_DENSIFY_BYTES = 2**25
# Below this n_samples * n_clusters * n_features an iteration takes a few
# milliseconds on one core, and faiss runs on one thread: waking its OpenMP
# team costs more than it saves on small problems (the classifier's
# per-class clusterings), by whole scheduler slices on a busy machine.
_THREADED_WORK = 2**26


@contextmanager
def one_thread(faiss, enabled=True):
    """faiss's OpenMP regions, and its OpenMP-built BLAS, on one thread for
    calls from the calling thread (OpenMP's thread count is a per-thread
    setting: other threads are not affected)."""
    if not enabled:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def dense_float32(X):
    """``X`` as a C-contiguous float32 array: ``X`` itself when it is one;
    a sparse ``X`` is made dense a block of rows at a time, so that no dense
    float64 copy is ever made."""
    if not sparse.issparse(X):
        return np.ascontiguousarray(X, dtype=np.float32)
    out = np.empty(X.shape, dtype=np.float32)
    step = max(1, _DENSIFY_BYTES // max(1, 4 * X.shape[1]))
    for start in range(0, X.shape[0], step):
        out[start : start + step] = X[start : start + step].toarray()
    return out


def new_index(faiss, d):
    """faiss's exact inner-product index, on every GPU when there is one."""
    index = faiss.IndexFlatIP(d)
    if faiss.get_num_gpus() > 0:
        index = faiss.index_cpu_to_all_gpus(index)
    return index


class FaissLloyd:
    """A callable with the signature of ``core.lloyd`` (and of
    ``core.lloyd_equal_size`` with ``equal_size=True``) whose unconstrained
    iterations are faiss's; built once per fit, so that the float32 copy of
    ``X`` and the index serve every run of ``n_init``.

    ``weighted``: pass ``sample_weight`` to faiss (False when the caller gave
    none: faiss then skips the multiplications).
    """

    def __init__(self, X, sample_weight, *, weighted, equal_size):
        self.faiss = import_faiss()
        self.X32 = dense_float32(X)
        n, d = X.shape
        self.weights = None
        if weighted:
            # faiss sums a cluster's weights, and refills an empty cluster by
            # splitting cluster j with probability (sum_j - 1) / (n - k): if
            # the weights summed to less than one its loop would never end.
            # Rescaled to mean one they sum to n, as counts do; the centroids
            # (normalised weighted means) do not change.
            w = sample_weight.astype(np.float64)
            self.weights = (w * (n / w.sum())).astype(np.float32)
        self.equal_size = equal_size
        self.index = new_index(self.faiss, d)

    def __call__(self, X, sample_weight, centers, max_iter, tol, n_threads=1):
        small = X.shape[0] * X.shape[1] * centers.shape[0] < _THREADED_WORK
        with one_thread(self.faiss, small):
            centers, labels, n_iter = self.lloyd(centers, max_iter, tol)
        if X.dtype != np.float32:  # faiss's unit rows, renormalised in X's dtype
            centers = normalize_rows(centers.astype(X.dtype), name="cluster_centers_")
        if not self.equal_size:
            return centers, labels, n_iter
        return core.equal_size_phase(
            X, sample_weight, centers, labels, n_iter, max_iter, tol, n_threads
        )

    def lloyd(self, centers, max_iter, tol):
        """faiss's spherical Lloyd iterations from ``centers``: float32
        centres, the labels of their nearest centroids, n_iter.

        Stops, as ``core.lloyd``, when the summed squared movement of the
        centroids is at most ``tol``; a movement of exactly zero means that
        the iteration's assignment repeated the previous one, and it is not
        counted (``core.lloyd`` stops when the labels repeat).
        """
        faiss = self.faiss
        n, d = self.X32.shape
        k = centers.shape[0]
        clus = faiss.Clustering(d, k)
        clus.niter = 1
        clus.nredo = 1
        clus.spherical = True
        clus.verbose = False
        clus.min_points_per_centroid = 1  # no warning for few rows a cluster
        clus.max_points_per_centroid = -(-n // k)  # never subsample the rows
        current = np.ascontiguousarray(centers, dtype=np.float32)
        faiss.copy_array_to_vector(current.ravel(), clus.centroids)
        n_iter = 0
        for n_iter in range(1, max_iter + 1):
            # the centroids left in clus.centroids seed the next call
            clus.train(self.X32, self.index, self.weights)
            new = faiss.vector_to_array(clus.centroids).reshape(k, d)
            shift = core._squared_shift(new, current)
            current = new
            if shift == 0 and n_iter > 1:
                n_iter -= 1
                break
            if shift <= tol:
                break
        # the index holds the last centroids: the labels of the fit
        _, labels = self.index.search(self.X32, 1)
        return current, labels[:, 0].astype(np.intp), n_iter
