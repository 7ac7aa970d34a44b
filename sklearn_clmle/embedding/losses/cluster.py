"""The cluster-based large-margin loss of CLMLE (Huang et al., Eq. 9)."""

import math

import numpy as np
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

    ``a1`` may differ by class: with ``margin_between`` a sequence, the
    between-class term of a sample of class ``c`` uses ``margin_between[c]``
    (larger margins for rarer classes, as LDAM's ``n_c ** -1/4`` rule of Cao
    et al. (2019); ``CLMLEEmbedder``'s ``margin_power``).

    The batch loss is the weighted mean of ``loss_i``.  With
    ``cost_sensitive=True`` each sample is weighted by the inverse frequency
    of its class in the batch, so every class present contributes the same
    total weight (Section 3.3); otherwise every sample weighs the same.

    Parameters
    ----------
    margin_between : float or array-like of shape (n_classes,)
        ``a1``, the margin against clusters of other classes; per class
        (indexed by the class values of ``cluster_classes``) when an array.
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
        between = np.asarray(margin_between, dtype=np.float64)
        if between.ndim > 1:
            raise ValueError("margin_between should be a float or a 1-D array of "
                             f"per-class margins, got shape {between.shape}.")
        self.margin_between = float(between) if between.ndim == 0 else between
        self.margin_within = float(margin_within)
        self.scale = float(scale)
        self.cost_sensitive = bool(cost_sensitive)

    @staticmethod
    def batch_centroids(embeddings, clusters, n_clusters):
        """Unnormalised mean embedding of the batch members of each cluster."""
        assign = _mean_operator(np.asarray(clusters.cpu()), n_clusters)
        return torch.as_tensor(assign, dtype=embeddings.dtype,
                               device=embeddings.device) @ embeddings

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
        w = _sample_weights(np.asarray(sample_classes.cpu()), self.cost_sensitive)
        return torch.as_tensor(w, dtype=dtype, device=sample_classes.device)

    def forward(self, embeddings, clusters, cluster_classes):
        """Batch loss and the per-sample losses (detached).

        Returns
        -------
        loss : Tensor, scalar
            Weighted mean of ``loss_i``.
        per_sample : Tensor of shape (n_samples,)
            ``loss_i`` of every sample, detached (for the loss cache).
        """
        layout = _layout(
            np.asarray(clusters.cpu()), np.asarray(cluster_classes.cpu()), self,
            embeddings.dtype, embeddings.device,
        )
        return _Eq9.apply(embeddings, *layout)


def _mean_operator(clusters, n_clusters, dtype=np.float64):
    """``(n_clusters, n_samples)`` matrix whose product with the embeddings
    gives the mean of each cluster's members (rows of empty clusters are 0)."""
    own = np.zeros((n_clusters, clusters.shape[0]), dtype=dtype)
    own[clusters, np.arange(clusters.shape[0])] = 1
    return own / np.maximum(own.sum(1, keepdims=True), 1)


def _sample_weights(sample_classes, cost_sensitive):
    """Each class present gets the same total weight (or each sample, without
    ``cost_sensitive``); the weights sum to 1."""
    n = sample_classes.shape[0]
    if not cost_sensitive:
        return np.full(n, 1.0 / n)
    _, inverse, counts = np.unique(sample_classes, return_inverse=True,
                                   return_counts=True)
    w = 1.0 / counts[inverse.reshape(-1)]
    return w / w.sum()


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def _layout(clusters, cluster_classes, fn, dtype, device):
    """Everything Eq. 9 needs from the batch's cluster structure, built in
    numpy and moved to ``device`` once (cheaper than building it with small
    torch operations)."""
    k = cluster_classes.shape[0]
    np_dtype = _NUMPY_DTYPES.get(dtype, np.float32)
    clusters = clusters.astype(np.int64, copy=False)
    mean_op = _mean_operator(clusters, k, np_dtype)
    own = (mean_op > 0).T  # (n, k)
    same = cluster_classes[clusters][:, None] == cluster_classes
    # the two sets of Eq. 9: other-class clusters, other same-class clusters
    in_set = np.stack((~same, same & ~own))
    w = _sample_weights(cluster_classes[clusters], fn.cost_sensitive)

    def tensor(a, dt=dtype):
        return torch.from_numpy(a).to(device=device, dtype=dt)

    return (
        tensor(clusters[:, None], torch.int64),
        tensor(mean_op),
        tensor(own.astype(np_dtype)),
        # added to the similarities: entries outside a set fall out of its
        # log-sum-exp
        tensor(np.where(in_set, 0, float(torch.finfo(dtype).min)).astype(np_dtype)),
        tensor(~in_set.any(2, keepdims=True), torch.bool),  # empty set: term 0
        tensor(w.astype(np_dtype)),
        fn.scale,
        tensor(_margins(fn, cluster_classes[clusters], np_dtype)),
    )


def _margins(fn, sample_classes, dtype):
    """``scale * (a1, a2)`` in ``dtype``, shape ``(2, 1, 1)``; ``(2, n, 1)``
    with one between-class margin per sample when ``a1`` is per class."""
    a1 = fn.margin_between
    if np.ndim(a1) == 0:
        return fn.scale * np.array([a1, fn.margin_within], dtype=dtype)[:, None, None]
    per = np.empty((2, sample_classes.shape[0], 1), dtype=dtype)
    per[0, :, 0] = a1[sample_classes]
    per[1] = fn.margin_within
    return fn.scale * per


class _Eq9(torch.autograd.Function):
    """Eq. 9 with a hand-written backward pass.

    Autograd's graph of the two masked log-sum-exps is several dozen small
    tensor operations, whose fixed cost dominates at CLMLE's batch sizes on a
    CPU; the hand-written backward pass is three matrix products (0.3 ms a
    step shorter inside the training loop on this project's CPU,
    ``benchmarks/results/embedder/embedder.md``).  The gradient with respect to the
    similarities is the softmax over each active set minus the own-cluster
    indicator, times the sample weight; it is computed with the forward pass.
    """

    @staticmethod
    def forward(ctx, emb, clusters, mean_op, own, bias, empty, w, scale, margins):
        mu = mean_op @ emb  # unnormalised batch centroids
        s = emb @ (mu.T * scale)  # (n_samples, n_clusters)
        s_own = s.gather(1, clusters)
        z = s + bias  # (2, n_samples, n_clusters): between, within
        top = z.amax(2, keepdim=True)
        z -= top
        # Terms below eps**2 of the largest cannot change the sum at this
        # precision; dropping them keeps exp off subnormal results, a slow
        # path on CPU.  Entries outside a set go the same way.
        floor = 2 * math.log(torch.finfo(emb.dtype).eps)
        p = torch.exp(z.clamp(min=floor)).masked_fill_(z < floor, 0)
        total = p.sum(2, keepdim=True)
        term = torch.log(total).add_(top).sub_(s_own).add_(margins)  # (2, n, 1)
        # inactive: hinge at zero or empty set; NaN stays NaN (a diverged
        # step must show)
        inactive = (term <= 0).logical_or_(empty)
        per = term.masked_fill_(inactive, 0).sum(0).squeeze(1)
        g = p.div_(total).sub_(own).masked_fill_(inactive, 0).sum(0)
        g *= (w * scale).unsqueeze(1)  # d loss / d s
        ctx.save_for_backward(emb, mu, g, mean_op)
        ctx.mark_non_differentiable(per)
        return w @ per, per

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss, grad_per):
        # s = E (A E)^T * scale with A the batch-mean operator: the gradient
        # flows through E directly and through the centroids mu = A E.
        emb, mu, g, mean_op = ctx.saved_tensors
        grad = torch.addmm(g @ mu, mean_op.T, g.T @ emb)
        return (grad * grad_loss,) + (None,) * 8
