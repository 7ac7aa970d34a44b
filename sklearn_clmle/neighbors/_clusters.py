"""Per-class equal-size clusters of KNearestClusterClassifier (private)."""

from ..cluster._per_class import cluster_per_class


def cluster_classes(X, y_idx, cluster_size, rng, max_iter, algorithm):
    """Equal-size spherical clusters of every class of the unit rows ``X``
    (``cluster.cluster_per_class``): centroids, their class indices and
    their sizes.  Clusters of size 1 are the samples themselves (the only
    equal-size partition).  The classifier's ``algorithm="faiss"`` clusters
    with ``SphericalKMeans(algorithm="faiss")``, every other one with the
    numpy path."""
    out = cluster_per_class(
        X, y_idx, cluster_size, rng, max_iter=max_iter,
        algorithm="faiss" if algorithm == "faiss" else "lloyd")
    return out.centers, out.cluster_classes, out.sizes
