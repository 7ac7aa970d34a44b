"""The cluster-based large-margin loss of CLMLE (Huang et al., Eq. 9)."""

import math

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
        return self(embeddings, clusters, cluster_classes)[1]

    def sample_weights(self, sample_classes, dtype=torch.float32):
        """Weights of the samples in the batch mean (they sum to 1)."""
        n = sample_classes.shape[0]
        if not self.cost_sensitive:
            return torch.full((n,), 1.0 / n, dtype=dtype, device=sample_classes.device)
        class_size = (sample_classes.unsqueeze(1) == sample_classes).sum(1)
        w = 1.0 / class_size.to(dtype)
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
        return _Eq9.apply(embeddings, clusters, cluster_classes, self)


def _eq9(fn, emb, clusters, cluster_classes):
    """Forward pass of Eq. 9 and the gradient of the loss w.r.t. the
    similarities ``s`` (the two softmaxes over each active set, minus the
    own-cluster indicator, times the sample weight and the scale)."""
    n_clusters = cluster_classes.shape[0]
    scale = fn.scale
    mu = fn.batch_centroids(emb, clusters, n_clusters)
    s = emb @ (mu.T * scale)  # (n_samples, n_clusters)
    s_own = s.gather(1, clusters.unsqueeze(1)).T
    own = nn.functional.one_hot(clusters, n_clusters).bool()
    sample_classes = cluster_classes[clusters]
    same = sample_classes.unsqueeze(1) == cluster_classes
    # the sets of Eq. 9: other-class clusters, other same-class clusters
    in_set = torch.stack((~same, same & ~own))  # (2, n_samples, n_clusters)
    masked = s.masked_fill(~in_set, torch.finfo(s.dtype).min)
    top = masked.amax(2, keepdim=True)
    z = masked - top
    # Terms below eps**2 of the largest cannot change the sum at this
    # precision; dropping them keeps exp off subnormal results, a slow path on
    # CPU.  Entries outside a set go the same way.
    floor = 2 * math.log(torch.finfo(s.dtype).eps)
    p = torch.exp(z.clamp(min=floor)).masked_fill_(z < floor, 0)
    total = p.sum(2, keepdim=True)
    margins = torch.tensor([fn.margin_between, fn.margin_within], dtype=s.dtype,
                           device=s.device).unsqueeze(1)
    term = (torch.log(total) + top).squeeze(2) - s_own + scale * margins
    # an empty set contributes 0; NaN stays NaN (a diverged step must show)
    active = ~(term <= 0) & in_set.any(2)
    per = term.masked_fill_(~active, 0).sum(0)
    w = fn.sample_weights(sample_classes, s.dtype)
    g = ((p / total - own.to(s.dtype)) * active.unsqueeze(2)).sum(0)
    g *= (w * scale).unsqueeze(1)
    return (w * per).sum(), per, g, mu


class _Eq9(torch.autograd.Function):
    """Eq. 9 with a hand-written backward pass: a handful of tensor operations
    instead of autograd's graph of the masked log-sum-exps (which costs more
    than the loss itself on a CPU at CLMLE's batch sizes)."""

    @staticmethod
    def forward(ctx, emb, clusters, cluster_classes, fn):
        loss, per, g, mu = _eq9(fn, emb, clusters, cluster_classes)
        counts = torch.bincount(clusters, minlength=mu.shape[0]).clamp(min=1)
        ctx.save_for_backward(emb, mu, g, clusters, counts)
        ctx.mark_non_differentiable(per)
        return loss, per

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss, grad_per):
        # s = E (A E)^T * scale with A the batch-mean operator: the gradient
        # flows through E directly and through the centroids mu = A E.
        emb, mu, g, clusters, counts = ctx.saved_tensors
        through_mu = (g.T @ emb) / counts.unsqueeze(1).to(emb.dtype)
        grad = g @ mu + through_mu[clusters]
        return grad * grad_loss, None, None, None
