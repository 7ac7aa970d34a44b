"""Mini-batch construction of CLMLE (Section 3.3), in numpy (private; the
training loops of ``sklearn_clmle.embedding`` draw their batches here).

One batch: a class drawn uniformly at random; in it, the query cluster (the
one with the highest cached loss, or a random one); the ``M - 1`` clusters
whose centroids are nearest to the query centroid, with at least one cluster
of the query's class and one of another class whenever they exist; then
``n_per_cluster`` members of each of those ``M`` clusters.

``ClassBalancedBatchSampler`` draws the P x K batches of the triplet baseline
(``MetricEmbedder``).
"""

import numpy as np

__all__ = ["ClassBalancedBatchSampler", "ClusterBatchSampler"]


class ClusterBatchSampler:
    """Draw CLMLE mini-batches and keep the per-sample loss cache.

    Parameters
    ----------
    cluster_of : ndarray of shape (n_samples,)
        Cluster index of every training sample, in ``[0, n_clusters)``.
    cluster_classes : ndarray of shape (n_clusters,)
        Class of every cluster.
    centroids : ndarray of shape (n_clusters, dim)
        Unit-norm centroids (similarity is their inner product).
    n_clusters_per_batch : int
        ``M``; when there are fewer clusters than ``M``, all of them are used.
    n_per_cluster : int
        Members drawn from each batch cluster: without replacement, or with
        replacement when the cluster has fewer members.
    query : {"hardest", "uniform"}
        How the query cluster is picked inside the drawn class: the highest
        mean cached loss (members never seen yet count as the highest loss
        seen so far, or infinite before any loss is seen; ties are broken at
        random), or uniformly at random.
    """

    def __init__(
        self, cluster_of, cluster_classes, centroids, n_clusters_per_batch,
        n_per_cluster, query="hardest",
    ):
        self.cluster_of = np.asarray(cluster_of, dtype=np.intp)
        self.cluster_classes = np.asarray(cluster_classes)
        self.centroids = np.asarray(centroids)
        self.n_clusters_per_batch = int(n_clusters_per_batch)
        self.n_per_cluster = int(n_per_cluster)
        if query not in ("hardest", "uniform"):
            raise ValueError(f"query={query!r} should be 'hardest' or 'uniform'.")
        self.query = query
        n_clusters = self.cluster_classes.shape[0]
        order = np.argsort(self.cluster_of, kind="stable")
        bounds = np.searchsorted(self.cluster_of[order], np.arange(n_clusters + 1))
        self.member_order = order  # members of cluster k: order[bounds[k]:bounds[k+1]]
        self.member_offsets = bounds[:-1]
        self.sizes = np.diff(bounds)
        if np.any(self.sizes == 0):
            raise ValueError("every cluster needs at least one member.")
        self.classes = np.unique(self.cluster_classes)
        self.clusters_of_class = {
            c: np.flatnonzero(self.cluster_classes == c) for c in self.classes
        }
        n = self.cluster_of.shape[0]
        self.cached = np.zeros(n)
        self.seen = np.zeros(n, dtype=bool)
        self.loss_sum = np.zeros(n_clusters)
        self.n_seen = np.zeros(n_clusters, dtype=np.intp)
        self.max_seen = -np.inf

    # -- loss cache -----------------------------------------------------------

    def cluster_scores(self, clusters=None):
        """Mean cached loss of the members of ``clusters`` (all by default)."""
        if clusters is None:
            clusters = np.arange(self.sizes.shape[0])
        high = self.max_seen if np.isfinite(self.max_seen) else np.inf
        unseen = self.sizes[clusters] - self.n_seen[clusters]
        with np.errstate(invalid="ignore"):
            extra = np.where(unseen > 0, unseen * high, 0.0)
        return (self.loss_sum[clusters] + extra) / self.sizes[clusters]

    def update(self, indices, losses):
        """Cache the latest loss of the samples ``indices``.

        A sample drawn twice in one batch keeps its last loss.
        """
        indices = np.asarray(indices, dtype=np.intp)
        losses = np.asarray(losses, dtype=np.float64)
        rev_idx, rev_pos = np.unique(indices[::-1], return_index=True)
        new = losses[::-1][rev_pos]
        was_seen = self.seen[rev_idx]
        clusters = self.cluster_of[rev_idx]
        n_clusters = self.sizes.shape[0]
        delta = new - np.where(was_seen, self.cached[rev_idx], 0.0)
        self.loss_sum += np.bincount(clusters, weights=delta, minlength=n_clusters)
        self.n_seen += np.bincount(clusters[~was_seen], minlength=n_clusters)
        self.cached[rev_idx] = new
        self.seen[rev_idx] = True
        if new.size:
            self.max_seen = max(self.max_seen, float(new.max()))

    # -- batch construction ---------------------------------------------------

    def query_cluster(self, rng):
        """Draw a class uniformly, then its query cluster."""
        c = self.classes[rng.randint(self.classes.shape[0])]
        candidates = self.clusters_of_class[c]
        if self.query == "uniform" or candidates.shape[0] == 1:
            return int(candidates[rng.randint(candidates.shape[0])])
        scores = self.cluster_scores(candidates)
        best = candidates[scores == scores.max()]
        return int(best[rng.randint(best.shape[0])])

    def retrieve(self, query):
        """The query followed by its ``M - 1`` retrieved clusters."""
        n_clusters = self.sizes.shape[0]
        m = min(self.n_clusters_per_batch, n_clusters) - 1
        sims = self.centroids @ self.centroids[query]
        sims[query] = -np.inf
        order = np.argsort(-sims, kind="stable")[: n_clusters - 1]
        same = self.cluster_classes[order] == self.cluster_classes[query]
        picks = order[:m]
        required = []
        # Other-class clusters first: with a single slot, the between-class
        # margin is the one that matters.
        if m >= 1 and (~same).any() and same[:m].all():
            required.append(order[np.argmax(~same)])
        if m > len(required) and same.any() and not same[:m].any():
            required.append(order[np.argmax(same)])
        if required:
            rest = [k for k in order if k not in required]
            picks = np.array(required + rest[: m - len(required)], dtype=np.intp)
        return np.concatenate([[query], picks]).astype(np.intp)

    def sample(self, rng):
        """One mini-batch.

        Returns
        -------
        indices : ndarray of shape (n_batch,)
            Training samples of the batch.
        batch_clusters : ndarray of shape (n_batch,)
            Position of each sample's cluster in ``clusters``.
        clusters : ndarray of shape (n_batch_clusters,)
            The batch clusters; ``clusters[0]`` is the query cluster.
        """
        clusters = self.retrieve(self.query_cluster(rng))
        n_per = self.n_per_cluster
        sizes = self.sizes[clusters]
        # Without replacement: the n_per members with the smallest random
        # keys; clusters smaller than n_per are drawn with replacement.
        keys = rng.random_sample((clusters.shape[0], sizes.max()))
        keys[np.arange(sizes.max()) >= sizes[:, None]] = np.inf
        if n_per < keys.shape[1]:
            pos = np.argpartition(keys, n_per - 1, axis=1)[:, :n_per]
        else:  # no cluster has more than n_per members: take them all
            pos = np.tile(np.arange(n_per), (clusters.shape[0], 1))
        small = sizes < n_per
        if small.any():
            pos[small] = np.floor(
                rng.random_sample((small.sum(), n_per)) * sizes[small, None]
            ).astype(np.intp)
        starts = self.member_offsets[clusters]
        indices = self.member_order[starts[:, None] + pos].ravel()
        batch_clusters = np.repeat(np.arange(clusters.shape[0]), self.n_per_cluster)
        return indices, batch_clusters, clusters


class ClassBalancedBatchSampler:
    """Draw class-balanced P x K batches (Hermans et al., 2017).

    Each batch: ``P`` distinct classes drawn uniformly at random (all of them
    when there are fewer than ``P``), then ``K`` members of each; a class with
    fewer than ``K`` members is sampled *with replacement*, the others
    without.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Encoded class of every training sample.
    n_classes_per_batch : int
        ``P``.
    n_per_class : int
        ``K``.
    """

    def __init__(self, y, n_classes_per_batch, n_per_class):
        y = np.asarray(y)
        self.classes, inverse = np.unique(y, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(self.classes) + 1))
        self.member_order = order  # members of class c: order[bounds[c]:bounds[c+1]]
        self.member_offsets = bounds[:-1]
        self.sizes = np.diff(bounds)
        self.n_classes_per_batch = int(n_classes_per_batch)
        self.n_per_class = int(n_per_class)

    def sample(self, rng):
        """One batch: the indices of ``min(P, n_classes) * K`` samples, class
        by class (``K`` consecutive indices per drawn class)."""
        n_classes = len(self.classes)
        p = min(self.n_classes_per_batch, n_classes)
        chosen = rng.choice(n_classes, size=p, replace=False)
        k = self.n_per_class
        rows = []
        for c in chosen:
            size = self.sizes[c]
            if size >= k:
                pos = rng.choice(size, size=k, replace=False)
            else:
                pos = rng.randint(size, size=k)
            rows.append(self.member_order[self.member_offsets[c] + pos])
        return np.concatenate(rows)
