"""The ``init`` parameter of SphericalKMeans: checked and turned into seeds
(private; the seeding algorithms themselves are in the numerical core)."""

import numpy as np

from ..utils._validation import normalize_rows
from . import _spherical_kmeans_core as core


def initial_centers(init, X, n_clusters, sample_weight, rng, n_threads,
                    init_array):
    """Seeds for one run: ``init`` is a seeding name other than ``"auto"``,
    or an array, then ``init_array`` is the checked array."""
    if isinstance(init, str) and init == "k-means++":
        return core.kmeans_plusplus(
            X, n_clusters, sample_weight, rng, n_threads=n_threads
        )
    if isinstance(init, str) and init == "k-means||":
        return core.kmeans_parallel(
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
