"""Per-class equal-size clusters of KNearestClusterClassifier (private)."""

import numpy as np
from scipy import sparse

from ..cluster import SphericalKMeans


def cluster_classes(X, y_idx, cluster_size, rng, max_iter, algorithm):
    """Equal-size spherical clusters of every class of the unit rows ``X``:
    centroids, their class indices and their sizes.  Clusters of size 1 are
    the samples themselves (the only equal-size partition).  The classifier's
    ``algorithm="faiss"`` clusters with ``SphericalKMeans(algorithm="faiss")``,
    every other one with the numpy path."""
    kmeans_algorithm = "faiss" if algorithm == "faiss" else "lloyd"
    centers, owners, sizes = [], [], []
    for c in np.unique(y_idx):
        Xc = X[np.flatnonzero(y_idx == c)]
        n_c = Xc.shape[0]
        k = max(1, n_c // cluster_size)
        seed = rng.randint(np.iinfo(np.int32).max)
        if k == n_c and k > 1:
            centers.append(Xc.toarray() if sparse.issparse(Xc) else Xc.copy())
            owners.append(np.full(k, c))
            sizes.append(np.ones(k, dtype=np.intp))
            continue
        km = SphericalKMeans(
            k, equal_size=True, max_iter=max_iter, random_state=seed,
            algorithm=kmeans_algorithm,
        ).fit(Xc)
        centers.append(km.cluster_centers_)
        owners.append(np.full(k, c))
        sizes.append(np.bincount(km.labels_, minlength=k))
    return np.concatenate(centers), np.concatenate(owners), np.concatenate(sizes)
