"""Per-class equal-size spherical clustering (private): every class split
into ``max(1, n_c // cluster_size)`` clusters of equal size (Eq. 6-7), for
the training loops of the embedders (``PerClassClustering``) and for
``KNearestClusterClassifier``."""

import warnings
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

from ._spherical_kmeans import SphericalKMeans
from ._spherical_kmeans_core import update_centers

__all__ = ["PerClassClustering", "PerClassClusters", "cluster_per_class"]


class PerClassClusters(NamedTuple):
    """What ``cluster_per_class`` returns.

    ``labels``: global cluster index of every sample; ``cluster_classes``:
    class of every cluster (the clusters of a class are consecutive, classes
    in sorted order); ``centers``: unit-norm centroid of every cluster, in
    the dtype of ``X``; ``sizes``: members of every cluster.
    """

    labels: np.ndarray
    cluster_classes: np.ndarray
    centers: np.ndarray
    sizes: np.ndarray


def cluster_per_class(X, y, cluster_size, rng, *, init="auto", previous=None,
                      max_iter=300, algorithm="lloyd", map_tasks=None):
    """Split every class into ``max(1, n_c // cluster_size)`` equal-size
    clusters with ``SphericalKMeans(equal_size=True)``.

    The partitions that need no k-means are made directly: a class of one
    cluster gets the mean direction of its rows, a class of as many clusters
    as rows (``cluster_size=1``) its rows as centroids.  A seed is drawn for
    every class that runs k-means, all of them first, in class order.

    Parameters
    ----------
    X : {ndarray, CSR matrix} of shape (n_samples, n_features)
        Unit-norm rows.
    y : ndarray of shape (n_samples,)
        Encoded class of every sample.
    cluster_size : int
        ``l``, the target cluster size.
    rng : RandomState
        Draws the seed of every k-means run.
    init : str, default="auto"
        ``SphericalKMeans``'s ``init``.
    previous : ndarray of shape (n_samples,), default=None
        Cluster of every sample in the previous round (re-clustering).  When
        a class had as many clusters as it gets now, its k-means starts from
        the mean directions of its previous clusters on the new features
        (it then converges in a few iterations), instead of ``init``.
    max_iter : int, default=300
        Iterations of each k-means.
    algorithm : {"lloyd", "faiss"}, default="lloyd"
        ``SphericalKMeans``'s ``algorithm``.
    map_tasks : callable, default=None
        ``map_tasks(fn, tasks, costs)``, the list ``[fn(t) for t in tasks]``
        however computed: the classes' clusterings are independent (their
        seeds drawn first), so a data-parallel fit may share them among its
        ranks; ``costs``: the relative cost of each task (``n_c * k``).
        ``None``: one after the other.

    Returns
    -------
    PerClassClusters
        ``(labels, cluster_classes, centers, sizes)``.
    """
    tasks = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = max(1, idx.shape[0] // cluster_size)
        draws = 1 < k < idx.shape[0]
        tasks.append((idx, k, rng.randint(np.iinfo(np.int32).max) if draws else None))
    run = partial(_cluster_class, X, init, previous, max_iter, algorithm)
    if map_tasks is None:
        results = [run(task) for task in tasks]
    else:
        results = map_tasks(run, tasks, [idx.shape[0] * k for idx, k, _ in tasks])
    labels = np.empty(y.shape[0], dtype=np.intp)
    classes, centers, sizes = [], [], []
    offset = 0
    for c, (idx, k, _), (labels_c, centers_c) in zip(np.unique(y), tasks, results):
        labels[idx] = labels_c + offset
        classes.append(np.full(k, c))
        centers.append(np.asarray(centers_c, dtype=X.dtype))
        sizes.append(np.bincount(labels_c, minlength=k))
        offset += k
    return PerClassClusters(labels, np.concatenate(classes),
                            np.concatenate(centers), np.concatenate(sizes))


def _cluster_class(X, init, previous, max_iter, algorithm, task):
    """Labels and centroids of one class's ``(rows, k, seed)``."""
    idx, k, seed = task
    Xc = X[idx]
    n_c = idx.shape[0]
    if k == 1:
        mean = np.asarray(Xc.mean(axis=0)).reshape(1, -1)
        norm = np.linalg.norm(mean)
        return (np.zeros(n_c, dtype=np.intp),
                mean / norm if norm > 0 else _dense(Xc[:1]))
    if k == n_c:
        return np.arange(k, dtype=np.intp), _dense(Xc).copy()
    init_c = init
    if previous is not None and k > 1:
        _, prev = np.unique(previous[idx], return_inverse=True)
        if prev.max() + 1 == k:
            # previous clusters' mean directions on the new features
            sums, empty = update_centers(Xc, np.ones(n_c, dtype=Xc.dtype), prev, k)
            init_c = init if empty.any() else sums
    km = SphericalKMeans(k, init=init_c, equal_size=True, max_iter=max_iter,
                         random_state=seed, algorithm=algorithm).fit(Xc)
    return km.labels_, km.cluster_centers_


def _dense(X):
    return X.toarray() if sparse.issparse(X) else X


@dataclass(frozen=True)
class PerClassClustering:
    """``cluster_per_class`` as the training loops call it:
    ``clustering(features, y, rng, previous=None, map_tasks=None)`` gives
    ``(cluster_of, cluster_classes, centroids)``, with k-means++ seeding
    (re-clustering starts from the previous clusters), 20 k-means
    iterations, and no ``ConvergenceWarning`` of identical embeddings (fewer
    distinct centroids; the equal-size partition is still valid)."""

    cluster_size: int

    def __call__(self, features, y, rng, previous=None, map_tasks=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out = cluster_per_class(features, y, self.cluster_size, rng,
                                    init="k-means++", previous=previous,
                                    max_iter=20, map_tasks=map_tasks)
        return out.labels, out.cluster_classes, out.centers
