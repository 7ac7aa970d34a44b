"""Per-class equal-size spherical clustering of the embeddings (Eq. 6-7)."""

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ...cluster import SphericalKMeans
from ...cluster._spherical_kmeans_core import update_centers

__all__ = ["cluster_per_class"]


def cluster_per_class(features, y, cluster_size, rng, *, previous=None, max_iter=20,
                      map_tasks=None):
    """Split every class into ``max(1, n_c // cluster_size)`` equal-size clusters.

    Parameters
    ----------
    features : ndarray of shape (n_samples, dim)
        Unit-norm embeddings.
    y : ndarray of shape (n_samples,)
        Encoded class of every sample (``0 .. n_classes - 1``).
    cluster_size : int
        ``l``, the target cluster size.
    rng : RandomState
        Seeds every k-means run.
    previous : ndarray of shape (n_samples,), default=None
        Cluster of every sample in the previous round.  When given, each
        class's k-means starts from the mean direction of its previous
        clusters on the new features (re-clustering then converges in a few
        iterations), instead of k-means++.
    max_iter : int, default=20
        Iterations of each class's k-means.
    map_tasks : callable, default=None
        ``map_tasks(fn, tasks, costs)``, the list ``[fn(t) for t in tasks]``
        however computed: the classes' k-means runs are independent (every
        seed is drawn from ``rng`` first, in class order), so a data-parallel
        fit shares them among its ranks
        (``training.distributed.DataParallel.map_tasks``).  ``costs``: the
        relative cost of each task.  ``None``: one after the other.

    Returns
    -------
    cluster_of : ndarray of shape (n_samples,)
        Global cluster index of every sample.
    cluster_classes : ndarray of shape (n_clusters,)
        Class of every cluster (clusters of a class are consecutive).
    centroids : ndarray of shape (n_clusters, dim)
        Unit-norm mean direction of the members of every cluster.
    """
    tasks = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = max(1, idx.shape[0] // cluster_size)
        seed = None if k == 1 else rng.randint(np.iinfo(np.int32).max)
        tasks.append((idx, k, seed))
    run = partial(_cluster_class, features, previous, max_iter)
    if map_tasks is None:
        results = [run(task) for task in tasks]
    else:  # a k-means iteration costs n_c x k products
        results = map_tasks(run, tasks, [idx.shape[0] * k for idx, k, _ in tasks])
    cluster_of = np.empty(y.shape[0], dtype=np.intp)
    classes, centroids = [], []
    offset = 0
    for c, (idx, k, _), (labels, centers) in zip(np.unique(y), tasks, results):
        cluster_of[idx] = labels + offset
        classes.append(np.full(k, c))
        centroids.append(np.asarray(centers, dtype=features.dtype))
        offset += k
    return cluster_of, np.concatenate(classes), np.concatenate(centroids)


def _cluster_class(features, previous, max_iter, task):
    """Labels and centroids of one class's ``(rows, k, seed)``."""
    idx, k, seed = task
    Xc = features[idx]
    if k == 1:
        mean = Xc.mean(axis=0, keepdims=True)
        norm = np.linalg.norm(mean)
        return np.zeros(idx.shape[0], dtype=np.intp), (mean / norm if norm > 0
                                                         else Xc[:1])
    init = "k-means++"
    if previous is not None:
        _, prev = np.unique(previous[idx], return_inverse=True)
        if prev.max() + 1 == k:
            # previous clusters' mean directions on the new features
            sums, empty = update_centers(
                Xc, np.ones(len(Xc), dtype=Xc.dtype), prev, k
            )
            init = "k-means++" if empty.any() else sums
    km = SphericalKMeans(
        n_clusters=k, init=init, equal_size=True, max_iter=max_iter,
        random_state=seed,
    )
    with warnings.catch_warnings():
        # Identical embeddings give fewer distinct centroids; the
        # equal-size partition is still valid.
        warnings.simplefilter("ignore", ConvergenceWarning)
        km.fit(Xc)
    return km.labels_, km.cluster_centers_


@dataclass(frozen=True)
class PerClassClustering:
    """``cluster_per_class`` with its ``cluster_size`` fixed, as the training
    loops call it: ``clustering(features, y, rng, previous=None,
    map_tasks=None)``."""

    cluster_size: int

    def __call__(self, features, y, rng, previous=None, map_tasks=None):
        return cluster_per_class(features, y, self.cluster_size, rng,
                                 previous=previous, map_tasks=map_tasks)
