"""faiss indexes over the centroids of KNearestClusterClassifier (private).

Below ``IVF_MIN_CENTROIDS`` centroids the index is faiss's exact flat
inner-product index.  From there on it is an ``IndexIVFFlat`` (inner-product
metric) with ``nlist = round(4 * sqrt(n_centroids))`` inverted lists, its
coarse quantiser trained on the centroids by faiss's spherical k-means, and
``nprobe`` the smallest power of two (at most ``nlist``) whose recall of the
``n_neighbors`` nearest centroids, measured against the exact search with
(up to) 1,000 of the centroids as queries, reaches ``IVF_TARGET_RECALL``.
A flat search over K centroids reads all K of them per query; IVF reads
``nlist`` quantiser rows plus about ``nprobe / nlist * K`` centroids, one
query at a time where the flat search runs matrix products.  When the
calibrated ``nprobe`` exceeds ``IVF_MAX_PROBE_SHARE * nlist`` (centroids
with little structure: the n_neighbors nearest lie in many lists), IVF
would not be faster, and the flat index is kept.
"""

import numpy as np

from ..cluster._faiss import one_thread
from ..utils._optional import import_faiss

# IVF from this many centroids up (below it, exact search is fast anyway:
# 10,000 centroids x 128 dimensions is 1.3 MFLOP a query).
IVF_MIN_CENTROIDS = 10_000
# Recall of the n_neighbors nearest centroids that sets nprobe.
IVF_TARGET_RECALL = 0.99
# IVF is kept only if it probes at most this share of its lists.
IVF_MAX_PROBE_SHARE = 0.25
# Centroids used as queries to measure the recall (a fixed draw).
_CALIBRATION_QUERIES = 1_000


def build(centers, n_neighbors):
    """A faiss index over ``centers`` (unit rows), and the IVF calibration:
    ``{"nlist", "nprobe", "recall"}`` (``None`` below ``IVF_MIN_CENTROIDS``),
    also when the flat index was kept."""
    faiss = import_faiss()
    C = np.ascontiguousarray(centers, dtype=np.float32)
    n, d = C.shape
    flat = faiss.IndexFlatIP(d)
    flat.add(C)
    if n < IVF_MIN_CENTROIDS:
        return flat, None
    nlist = max(1, min(n, int(round(4 * np.sqrt(n)))))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.spherical = True  # unit-norm list centroids, for inner products
    ivf.cp.min_points_per_centroid = 1  # no warning for short lists
    ivf.train(C)
    ivf.add(C)
    rng = np.random.RandomState(0)
    queries = C[np.sort(rng.choice(n, min(n, _CALIBRATION_QUERIES), replace=False))]
    n_nb = min(n_neighbors, n)
    _, exact = flat.search(queries, n_nb)
    nprobe = 1
    while True:
        ivf.nprobe = nprobe
        _, found = ivf.search(queries, n_nb)
        hits = sum(np.intersect1d(e, f).size for e, f in zip(exact, found))
        recall = hits / exact.size
        if recall >= IVF_TARGET_RECALL or nprobe >= nlist:
            break
        nprobe = min(2 * nprobe, nlist)
    calibration = {"nlist": nlist, "nprobe": nprobe, "recall": recall}
    return (ivf if nprobe <= IVF_MAX_PROBE_SHARE * nlist else flat), calibration


def search(index, X, n_neighbors):
    """``(idx, sims)`` of the ``n_neighbors`` best centroids of each row of
    dense ``X``; an IVF index leaves ``-1`` where the probed lists held fewer
    than ``n_neighbors`` centroids (the caller searches those rows exactly).

    A flat index is searched on one thread: the classifier gives blocks of
    queries to several threads, as with its numpy search; IVF shares a
    block's queries among faiss's OpenMP threads."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    with one_thread(import_faiss(), enabled=not is_ivf(index)):
        sims, idx = index.search(X, n_neighbors)
    return idx.astype(np.intp), sims.astype(np.float64)


def is_ivf(index):
    return index is not None and "IVF" in type(index).__name__


def dump(index):
    """A trained IVF index as bytes, for pickling (faiss objects do not
    pickle; rebuilding would retrain it, not always into the same lists)."""
    return import_faiss().serialize_index(index)


def load(data, nprobe):
    index = import_faiss().deserialize_index(np.asarray(data, dtype=np.uint8))
    index.nprobe = nprobe
    return index
