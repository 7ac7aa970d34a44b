"""Metric-learning losses of the baselines: batch-hard triplet and LMLE's
quintuplet loss (Huang et al., Eq. 5), mined inside a mini-batch.

Both take a batch of embeddings (unit norm in ``MetricEmbedder``) and use the
Euclidean distance between them.  Each returns the batch loss and the
detached per-anchor losses.
"""

import torch
from torch import nn

__all__ = ["BatchHardTripletLoss", "QuintupletLoss", "pairwise_euclidean"]


def pairwise_euclidean(embeddings):
    """Euclidean distance matrix of the rows, with a gradient defined at 0.

    The square root of ``||a||^2 + ||b||^2 - 2 a.b`` (a matrix product, as
    ``torch.cdist``'s fast mode), clamped at 0, with an exact 0 diagonal.
    Where the squared distance is 0 the distance is 0 and so is its gradient,
    instead of the infinite derivative of ``sqrt`` at 0.  The rounding of this
    form makes distances between (near-)identical rows accurate to about
    ``sqrt(eps)`` only (3e-4 in float32): irrelevant next to the margins.
    """
    n = embeddings.shape[0]
    sq = (embeddings * embeddings).sum(dim=1)
    d2 = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * embeddings @ embeddings.T)
    eye = torch.eye(n, dtype=torch.bool, device=embeddings.device)
    d2 = d2.clamp(min=0).masked_fill(eye, 0)
    zero = d2 == 0
    return torch.sqrt(d2 + zero.to(d2.dtype)) * (~zero).to(d2.dtype)


def _masked_max(D, mask):
    """Row-wise max of ``D`` over ``mask`` and whether the row had any entry
    (rows without one get 0)."""
    present = mask.any(dim=1)
    values = torch.where(mask, D, torch.full_like(D, -1.0)).max(dim=1).values
    return torch.where(present, values, torch.zeros_like(values)), present


def _masked_min(D, mask):
    """Row-wise min of ``D`` over ``mask`` and whether the row had any entry
    (rows without one get 0)."""
    present = mask.any(dim=1)
    values = torch.where(mask, D, torch.full_like(D, float("inf"))).min(dim=1).values
    return torch.where(present, values, torch.zeros_like(values)), present


def _not_self(n, device):
    return ~torch.eye(n, dtype=torch.bool, device=device)


class BatchHardTripletLoss(nn.Module):
    """Triplet loss with batch-hard mining (Hermans et al., 2017).

    For every anchor ``i`` of the batch, with ``D`` the Euclidean distance::

        loss_i = [ margin + max_{j != i, y_j = y_i} D(i, j)
                          - min_{j: y_j != y_i} D(i, j) ]_+

    the hardest positive and the hardest negative inside the batch (the
    "batch hard" variant, with a hinge rather than a soft margin).  An anchor
    without a positive (the only sample of its class in the batch) or without
    a negative has ``loss_i = 0``.  The batch loss is the mean of ``loss_i``
    over all anchors.  On unit-norm embeddings ``D`` is in ``[0, 2]``.

    Parameters
    ----------
    margin : float, default=0.2
        The margin, in Euclidean distance units (not squared).

    Examples
    --------
    >>> import torch
    >>> from sklearn_clmle.embedding.losses import BatchHardTripletLoss
    >>> emb = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    >>> labels = torch.tensor([0, 0, 1, 1, 2, 2])
    >>> loss, per_anchor = BatchHardTripletLoss(0.2)(emb, labels)
    >>> loss.ndim, per_anchor.shape
    (0, torch.Size([6]))
    """

    def __init__(self, margin=0.2):
        super().__init__()
        self.margin = float(margin)

    def per_sample(self, embeddings, labels):
        """``loss_i`` of every anchor, shape ``(n_samples,)``."""
        D = pairwise_euclidean(embeddings)
        same = labels.unsqueeze(1) == labels.unsqueeze(0)
        pos, has_pos = _masked_max(D, same & _not_self(len(labels), D.device))
        neg, has_neg = _masked_min(D, ~same)
        loss = torch.relu(self.margin + pos - neg)
        return torch.where(has_pos & has_neg, loss, torch.zeros_like(loss))

    def forward(self, embeddings, labels):
        """Batch loss (mean over anchors) and the detached per-anchor losses."""
        per = self.per_sample(embeddings, labels)
        return per.mean(), per.detach()


class QuintupletLoss(nn.Module):
    """LMLE's triple-header hinge loss on quintuplets mined in the batch (Eq. 5).

    For every anchor ``i`` (class ``y_i``, cluster ``k_i``) the four other
    members of its quintuplet are found in the batch by distance ``D``:

    - ``p+``: the most distant sample of the same cluster (``j != i``);
    - ``p-``: the nearest sample of the same class in another cluster;
    - ``p--``: the most distant sample of the same class (``j != i``, any
      cluster);
    - ``n``: the nearest sample of another class.

    and::

        loss_i = [g1 + D(i, p+) - D(i, p-)]_+ + [g2 + D(i, p-) - D(i, p--)]_+
                 + [g3 + D(i, p--) - D(i, n)]_+

    A hinge term one of whose two roles is missing in the batch contributes 0:
    with a single cluster of the anchor's class in the batch there is no
    ``p-`` and only the third term remains; with no other sample of its
    class, no term remains.  The batch loss is the mean of ``loss_i`` over all
    anchors.

    Parameters
    ----------
    margins : tuple of 3 floats, default=(0.1, 0.1, 0.2)
        ``(g1, g2, g3)``, in Euclidean distance units.

    Examples
    --------
    >>> import torch
    >>> from sklearn_clmle.embedding.losses import QuintupletLoss
    >>> emb = torch.nn.functional.normalize(torch.randn(8, 4), dim=1)
    >>> labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    >>> clusters = torch.tensor([0, 0, 1, 1, 2, 2, 2, 2])
    >>> loss, per_anchor = QuintupletLoss()(emb, labels, clusters)
    >>> loss.ndim, per_anchor.shape
    (0, torch.Size([8]))
    """

    def __init__(self, margins=(0.1, 0.1, 0.2)):
        super().__init__()
        self.margins = tuple(float(g) for g in margins)
        if len(self.margins) != 3:
            raise ValueError(
                f"margins={margins!r} should have three values (g1, g2, g3)."
            )

    def terms(self, embeddings, labels, clusters):
        """The three hinge terms of every anchor, shape ``(n_samples, 3)``.

        ``clusters`` identifies clusters across the whole batch: two samples
        are in the same cluster when they have the same class and the same
        ``clusters`` value.
        """
        D = pairwise_euclidean(embeddings)
        not_self = _not_self(len(labels), D.device)
        same_class = labels.unsqueeze(1) == labels.unsqueeze(0)
        same_cluster = same_class & (clusters.unsqueeze(1) == clusters.unsqueeze(0))
        d_pp, has_pp = _masked_max(D, same_cluster & not_self)
        d_pm, has_pm = _masked_min(D, same_class & ~same_cluster)
        d_pmm, has_pmm = _masked_max(D, same_class & not_self)
        d_n, has_n = _masked_min(D, ~same_class)
        g1, g2, g3 = self.margins
        out = []
        for g, near, far, valid in (
            (g1, d_pp, d_pm, has_pp & has_pm),
            (g2, d_pm, d_pmm, has_pm & has_pmm),
            (g3, d_pmm, d_n, has_pmm & has_n),
        ):
            term = torch.relu(g + near - far)
            out.append(torch.where(valid, term, torch.zeros_like(term)))
        return torch.stack(out, dim=1)

    def per_sample(self, embeddings, labels, clusters):
        """``loss_i`` of every anchor, shape ``(n_samples,)``."""
        return self.terms(embeddings, labels, clusters).sum(dim=1)

    def forward(self, embeddings, labels, clusters):
        """Batch loss (mean over anchors) and the detached per-anchor losses."""
        per = self.per_sample(embeddings, labels, clusters)
        return per.mean(), per.detach()
