"""Re-clustering on fresh embeddings (private): the start of every round of
``CLMLEEmbedder`` (``clmle_rounds``) and of ``MetricEmbedder``'s LMLE
(``metric_rounds``).

The training set is embedded, checked, and every label's classes are
clustered.  In a data-parallel fit (``distributed``) every rank embeds a
share of the rows and clusters a share of the classes, and both are gathered
on every rank, so that all ranks hold the clusterings of the 1-process fit:
the classes' k-means seeds are drawn from the shared random state first, in
class order, as the 1-process loop draws them.
"""

from .engine import _check_finite_embeddings


def recluster(cluster, net, X, Y, device, rng, previous, dp, batch_size, where):
    """Per-class clusterings of every label, one ``(cluster_of, classes,
    centroids)`` per column of ``Y``.

    ``cluster(features, y, rng, previous=..., map_tasks=...)``: the
    per-class clustering (``cluster._per_class.PerClassClustering``);
    label ``j`` is clustered on the ``j``-th of ``Y.shape[1]`` equal blocks
    of the embedding's columns (one block per head), from its previous
    clustering ``previous[j]`` (``None`` in the first round).  ``where``
    names the step in the error raised if the embeddings are not finite
    (checked on rank 0, the error raised on every rank).
    """
    feats = dp.extract(net, X, batch_size, device)
    dp.on_root(lambda: _check_finite_embeddings(feats, where), rng)
    dim = feats.shape[1] // Y.shape[1]
    return [
        cluster(feats[:, j * dim:(j + 1) * dim], Y[:, j], rng, previous=previous[j],
                map_tasks=dp.map_tasks)
        for j in range(Y.shape[1])
    ]
