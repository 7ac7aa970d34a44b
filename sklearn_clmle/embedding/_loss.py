"""The cluster-based large-margin loss of CLMLE (Huang et al., Eq. 9)."""

import torch
from torch import nn

__all__ = ["ClusterLoss"]


class ClusterLoss(nn.Module):
    """Eq. 9 of CLMLE on one mini-batch of sampled clusters.

    For a sample ``i`` of batch cluster ``m`` and ``s_k = scale * f(x_i)^T mu_k``::

        between_i = [ logsumexp_{k: class(k) != class(m)} s_k - s_m + scale * a1 ]_+
        within_i  = [ logsumexp_{k != m, class(k) == class(m)} s_k - s_m + scale * a2 ]_+
        loss_i    = between_i + within_i

    ``mu_k`` is the *unnormalised* mean of the batch members of cluster ``k``
    (it reaches unit norm only when the cluster collapses, Section 3.2).  A
    term whose set of ``k`` is empty contributes 0.  The margins are in cosine
    units and are multiplied by ``scale`` with the similarities, so that they
    keep their angular meaning for any scale; ``scale=1`` is the paper's loss.

    The batch loss is the weighted mean of ``loss_i``.  With
    ``cost_sensitive=True`` each sample is weighted by the inverse frequency
    of its class in the batch, so every class present contributes the same
    total weight (Section 3.3); otherwise every sample weighs the same.

    Parameters
    ----------
    margin_between : float
        ``a1``, the margin against clusters of other classes.
    margin_within : float
        ``a2``, the margin against other clusters of the same class.
    scale : float, default=1.0
        Multiplies similarities and margins (an inverse temperature).
    cost_sensitive : bool, default=True
        Weight samples by the inverse frequency of their class in the batch.

    Examples
    --------
    >>> import torch
    >>> from sklearn_clmle.embedding import ClusterLoss
    >>> emb = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    >>> clusters = torch.tensor([0, 0, 1, 1, 2, 2])   # batch cluster of each row
    >>> cluster_classes = torch.tensor([0, 0, 1])     # class of each cluster
    >>> loss, per_sample = ClusterLoss(0.1, 0.05, scale=16.0)(
    ...     emb, clusters, cluster_classes)
    >>> loss.ndim, per_sample.shape
    (0, torch.Size([6]))
    """

    def __init__(self, margin_between, margin_within, scale=1.0, cost_sensitive=True):
        super().__init__()
        self.margin_between = float(margin_between)
        self.margin_within = float(margin_within)
        self.scale = float(scale)
        self.cost_sensitive = bool(cost_sensitive)

    @staticmethod
    def batch_centroids(embeddings, clusters, n_clusters):
        """Unnormalised mean embedding of the batch members of each cluster."""
        sums = embeddings.new_zeros((n_clusters, embeddings.shape[1]))
        sums.index_add_(0, clusters, embeddings)
        counts = torch.bincount(clusters, minlength=n_clusters).to(embeddings.dtype)
        return sums / counts.clamp(min=1).unsqueeze(1)

    def per_sample(self, embeddings, clusters, cluster_classes):
        """Unweighted ``loss_i`` of every sample, shape ``(n_samples,)``.

        Parameters
        ----------
        embeddings : Tensor of shape (n_samples, dim)
            Unit-norm embeddings ``f(x_i)``.
        clusters : LongTensor of shape (n_samples,)
            Batch cluster of each sample, in ``[0, n_clusters)``.
        cluster_classes : LongTensor of shape (n_clusters,)
            Class of each batch cluster.
        """
        n_clusters = cluster_classes.shape[0]
        mu = self.batch_centroids(embeddings, clusters, n_clusters)
        sims = self.scale * (embeddings @ mu.T)  # (n_samples, n_clusters)
        own = sims.gather(1, clusters.unsqueeze(1)).squeeze(1)
        sample_class = cluster_classes[clusters]
        same_class = sample_class.unsqueeze(1) == cluster_classes.unsqueeze(0)
        not_own = torch.ones_like(same_class)
        not_own[torch.arange(clusters.shape[0], device=clusters.device), clusters] = False
        neg_inf = torch.finfo(sims.dtype).min
        total = sims.new_zeros(sims.shape[0])
        for mask, margin in (
            (~same_class, self.margin_between),
            (same_class & not_own, self.margin_within),
        ):
            present = mask.any(dim=1)
            lse = torch.logsumexp(sims.masked_fill(~mask, neg_inf), dim=1)
            term = torch.relu(lse - own + self.scale * margin)
            total = total + torch.where(present, term, torch.zeros_like(term))
        return total

    def sample_weights(self, sample_classes, dtype=torch.float32):
        """Weights of the samples in the batch mean (they sum to 1)."""
        n = sample_classes.shape[0]
        if not self.cost_sensitive:
            return torch.full((n,), 1.0 / n, dtype=dtype, device=sample_classes.device)
        _, inverse, counts = torch.unique(
            sample_classes, return_inverse=True, return_counts=True
        )
        w = 1.0 / counts[inverse].to(dtype)
        return w / w.sum()

    def forward(self, embeddings, clusters, cluster_classes):
        """Batch loss and the per-sample losses (detached).

        Returns
        -------
        loss : Tensor, scalar
            Weighted mean of ``loss_i``.
        per_sample : Tensor of shape (n_samples,)
            ``loss_i`` of every sample, detached (for the loss cache).
        """
        per_sample = self.per_sample(embeddings, clusters, cluster_classes)
        w = self.sample_weights(cluster_classes[clusters], per_sample.dtype)
        return (w * per_sample).sum(), per_sample.detach()
