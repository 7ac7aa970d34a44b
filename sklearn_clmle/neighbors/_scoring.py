"""Retrieval of the nearest centroids and the k-nearest-cluster rule (private).

Inputs are validated, unit-norm arrays.  Everything works on blocks of query
rows whose size keeps the largest temporary (query block x centroids, or query
block x classes) within scikit-learn's ``working_memory`` setting.
"""

import numpy as np
from sklearn import get_config

ALGORITHMS = ("auto", "brute", "kd_tree", "ball_tree", "faiss")


def block_rows(width, itemsize=8, factor=3):
    """Query rows per block so that ``factor`` arrays of ``width`` columns fit
    in ``working_memory`` (MiB, scikit-learn's global setting)."""
    budget = get_config()["working_memory"] * 2**20
    return max(1, int(budget // (factor * itemsize * max(1, width))))


class CentroidIndex:
    """Nearest-centroid search by cosine similarity.

    ``algorithm``: "brute" (blocked matrix products, exact), "kd_tree" or
    "ball_tree" (scikit-learn trees on the unit sphere, where Euclidean order
    is cosine order), "faiss" (exact inner-product index; needs faiss).
    """

    def __init__(self, centers, algorithm):
        self.centers = centers
        self.algorithm = "brute" if algorithm == "auto" else algorithm
        if self.algorithm == "kd_tree":
            from sklearn.neighbors import KDTree

            self._tree = KDTree(centers)
        elif self.algorithm == "ball_tree":
            from sklearn.neighbors import BallTree

            self._tree = BallTree(centers)
        elif self.algorithm == "faiss":
            faiss = import_faiss()
            self._tree = faiss.IndexFlatIP(centers.shape[1])
            self._tree.add(np.ascontiguousarray(centers, dtype=np.float32))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_tree", None)  # rebuilt on load (faiss indexes do not pickle)
        return state

    def __setstate__(self, state):
        self.__init__(state["centers"], state["algorithm"])

    def query(self, X, n_neighbors):
        """Indices and similarities of the ``n_neighbors`` most similar
        centroids of each row of ``X``, most similar first."""
        n_centers = self.centers.shape[0]
        n_neighbors = min(n_neighbors, n_centers)
        if self.algorithm in ("kd_tree", "ball_tree"):
            dist, idx = self._tree.query(X, k=n_neighbors)
            return idx, 1.0 - dist**2 / 2.0
        if self.algorithm == "faiss":
            sims, idx = self._tree.search(
                np.ascontiguousarray(X, dtype=np.float32), n_neighbors
            )
            return idx.astype(np.intp), sims.astype(np.float64)
        sims = X @ self.centers.T
        if n_neighbors < n_centers:
            idx = np.argpartition(-sims, n_neighbors - 1, axis=1)[:, :n_neighbors]
        else:
            idx = np.broadcast_to(np.arange(n_centers), sims.shape)
        rows = np.arange(X.shape[0])[:, None]
        top = sims[rows, idx]
        order = np.argsort(-top, axis=1, kind="stable")
        return idx[rows, order], top[rows, order].astype(np.float64)


def import_faiss():
    try:
        import faiss
    except ImportError as exc:
        raise ImportError(
            "algorithm='faiss' needs the optional faiss package: "
            "pip install faiss-cpu (or sklearn-clmle[faiss])."
        ) from exc
    return faiss


def floor_score(scale, n_neighbors):
    """Score given to classes absent from the retrieved clusters: strictly
    below the lowest score a retrieved class can have, which is
    ``-scale - (scale + log(n_neighbors))``."""
    return -2.0 * scale - np.log(max(n_neighbors, 1)) - 1.0


def cluster_rule_scores(sims, cluster_class, n_classes, scale, aggregate):
    """Scores of Eq. 10 (log form) for each class, from retrieved clusters.

    Parameters
    ----------
    sims : ndarray of shape (n_queries, N)
        Cosine similarities of the retrieved centroids, most similar first.
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
    scores : ndarray of shape (n_queries, n_classes)
        ``agg_c - logsumexp_{retrieved k of another class} z_k`` for classes
        among the retrieved clusters (``z = scale * sims``).  When all the
        retrieved clusters are of one class, the other-class term is taken as
        one cluster at cosine -1 (``-scale``).  Absent classes get
        ``floor_score``, below every retrieved class.
    """
    n_q, n_nb = sims.shape
    z = scale * sims
    rows = np.arange(n_q)
    flat = rows[:, None] * n_classes + cluster_class

    agg = np.full(n_q * n_classes, np.inf if aggregate == "min" else -np.inf)
    (np.minimum if aggregate == "min" else np.maximum).at(agg, flat.ravel(), z.ravel())
    agg = agg.reshape(n_q, n_classes)

    # Other-class logsumexp.  For every class but the top-1 cluster's class c0
    # the largest other-class term is z_0, so the shifted sums below lie in
    # [1, N]: subtracting the class's own mass loses no precision.
    z0 = z[:, 0]
    e = np.exp(z - z0[:, None])
    own = np.bincount(flat.ravel(), weights=e.ravel(), minlength=n_q * n_classes)
    own = own.reshape(n_q, n_classes)
    total = e.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lse_other = z0[:, None] + np.log(np.maximum(total[:, None] - own, 1.0))
    # The top-1 class: an exact masked logsumexp over the other classes.
    c0 = cluster_class[:, 0]
    other = cluster_class != c0[:, None]
    has_other = other.any(axis=1)
    masked = np.where(other, z, -np.inf)
    m = np.where(has_other, masked.max(axis=1), 0.0)
    mass = np.where(other, np.exp(masked - m[:, None]), 0.0).sum(axis=1)
    lse_c0 = np.where(has_other, m + np.log(np.where(has_other, mass, 1.0)), -scale)
    lse_other[rows, c0] = lse_c0

    present = np.isfinite(agg)
    scores = np.where(present, agg - lse_other, floor_score(scale, n_nb))
    return scores


def softmax_over_present(scores, floor):
    """Softmax over the classes above ``floor``; absent classes get 0."""
    present = scores > floor
    shifted = np.where(present, scores - scores.max(axis=1, keepdims=True), -np.inf)
    p = np.exp(shifted)
    return p / p.sum(axis=1, keepdims=True)
