"""The embedders' ``valid_loss`` (private): each phase's own objective on
the held-out rows of a ``train_split``, in eval mode, without gradients.

The held-out rows are one batch: they are embedded ``batch_size`` rows at a
time (the inference batch size), then the phase's loss is computed once on
all of them, as on a training batch:

* warm-up: the softmax term (``SoftmaxTerm``, the classifiers and class
  weights or logit offsets of training);
* cluster rounds (``CLMLEEmbedder``): for every label, each held-out row
  joins the round's training cluster *of its own class* whose centroid (the
  unit-norm mean direction of its training members at the round's
  clustering) is nearest to the row's embedding; the cluster loss (Eq. 9,
  ``ClusterLoss``, centroids the means of the held-out members) is averaged
  over the labels and the weighted softmax term added, as in a training step;
* metric rounds (``MetricEmbedder``): the triplet loss, batch-hard over all
  the held-out rows; LMLE's quintuplet loss with each held-out row in the
  nearest training cluster of its class, as above.

Nothing here draws random numbers: the training of a fit is the same with or
without the validation.
"""

import numpy as np
import torch
from torch.nn import functional as F

__all__ = ["cluster_rounds_loss", "metric_rounds_loss", "nearest_cluster_of_class",
           "raw_heads", "warmup_loss"]


def raw_heads(net, X, batch_size, device):
    """The raw heads (before normalisation) of all rows of the float32
    tensor ``X``, ``batch_size`` rows a forward pass: one tensor a head."""
    outs = [net.raw_heads(X[start:start + batch_size].to(device))
            for start in range(0, X.shape[0], batch_size)]
    return [torch.cat(parts) for parts in zip(*outs)]


def nearest_cluster_of_class(embeddings, y, sampler):
    """For every row, the cluster of ``sampler`` (a ``ClusterBatchSampler``:
    its ``centroids`` and ``cluster_classes``) of the row's class ``y`` with
    the highest cosine to the row's unit-norm embedding."""
    sims = embeddings.detach().cpu().numpy() @ sampler.centroids.T
    sims[sampler.cluster_classes[None, :] != np.asarray(y)[:, None]] = -np.inf
    return sims.argmax(axis=1)


def warmup_loss(phase, X, Y):
    """The warm-up's softmax term on the held-out rows ``X, Y``."""
    raw = raw_heads(phase.net, X, phase.schedule.batch_size, phase.device)
    return phase.softmax(raw, Y.to(phase.device))


def cluster_rounds_loss(phase, X, Y):
    """A cluster round's loss on the held-out rows (see the module docstring)."""
    device = phase.device
    raw = raw_heads(phase.net, X, phase.schedule.batch_size, device)
    total = 0.0
    for j, (loss, sampler) in enumerate(zip(phase.losses, phase.samplers)):
        emb = F.normalize(raw[j], dim=1)
        clusters = nearest_cluster_of_class(emb, Y[:, j].numpy(), sampler)
        uniq, inverse = np.unique(clusters, return_inverse=True)
        loss_j, _ = loss(emb, torch.from_numpy(inverse).to(device),
                         torch.from_numpy(sampler.cluster_classes[uniq]).to(device))
        total = total + loss_j
    total = total / len(phase.losses)
    if phase.softmax_weight > 0:
        total = total + phase.softmax_weight * phase.softmax(raw, Y.to(device))
    return total


def metric_rounds_loss(phase, X, Y):
    """A metric round's loss on the held-out rows (see the module docstring)."""
    device = phase.device
    (raw,) = raw_heads(phase.net, X, phase.schedule.batch_size, device)
    emb = F.normalize(raw, dim=1)
    y = Y[:, 0]
    extra = ()
    if phase.reclustered:
        clusters = nearest_cluster_of_class(emb, y.numpy(), phase.sampler)
        extra = (torch.from_numpy(clusters).to(device),)
    loss, _ = phase.loss_fn(emb, y.to(device), *extra)
    return loss
