"""Per-class equal-size spherical clustering of the embeddings (Eq. 6-7)."""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ...cluster import SphericalKMeans
from ...cluster._spherical_kmeans_core import update_centers

__all__ = ["cluster_per_class"]


def cluster_per_class(features, y, cluster_size, rng, *, previous=None, max_iter=20):
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

    Returns
    -------
    cluster_of : ndarray of shape (n_samples,)
        Global cluster index of every sample.
    cluster_classes : ndarray of shape (n_clusters,)
        Class of every cluster (clusters of a class are consecutive).
    centroids : ndarray of shape (n_clusters, dim)
        Unit-norm mean direction of the members of every cluster.
    """
    cluster_of = np.empty(y.shape[0], dtype=np.intp)
    classes, centroids = [], []
    offset = 0
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = max(1, idx.shape[0] // cluster_size)
        Xc = features[idx]
        if k == 1:
            labels = np.zeros(idx.shape[0], dtype=np.intp)
            mean = Xc.mean(axis=0, keepdims=True)
            norm = np.linalg.norm(mean)
            centers = mean / norm if norm > 0 else Xc[:1]
        else:
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
                random_state=rng.randint(np.iinfo(np.int32).max),
            )
            with warnings.catch_warnings():
                # Identical embeddings give fewer distinct centroids; the
                # equal-size partition is still valid.
                warnings.simplefilter("ignore", ConvergenceWarning)
                km.fit(Xc)
            labels, centers = km.labels_, km.cluster_centers_
        cluster_of[idx] = labels + offset
        classes.append(np.full(k, c))
        centroids.append(np.asarray(centers, dtype=features.dtype))
        offset += k
    return cluster_of, np.concatenate(classes), np.concatenate(centroids)


@dataclass(frozen=True)
class PerClassClustering:
    """``cluster_per_class`` with its ``cluster_size`` fixed, as the training
    loops call it: ``clustering(features, y, rng, previous=None)``."""

    cluster_size: int

    def __call__(self, features, y, rng, previous=None):
        return cluster_per_class(features, y, self.cluster_size, rng,
                                 previous=previous)
