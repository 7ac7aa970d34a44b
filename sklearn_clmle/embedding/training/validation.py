"""The embedders' ``valid_loss`` (private): each phase's criterion in eval
mode on the held-out rows of a ``train_split``, one batch of all of them.

* warm-up: the softmax term (``SoftmaxTerm``, the classifiers and class
  weights or logit offsets of training);
* cluster rounds (``CLMLEEmbedder``): for every label, each held-out row
  joins the round's training cluster *of its own class* whose centroid (the
  unit-norm mean direction of its training members at the round's
  clustering) is nearest to the row's embedding (``nearest_cluster_of_class``);
  the cluster loss (Eq. 9, ``ClusterLoss``, centroids the means of the
  held-out members) is averaged over the labels and the weighted softmax
  term added, as in a training step;
* metric rounds (``MetricEmbedder``): the triplet loss, batch-hard over all
  the held-out rows; LMLE's quintuplet loss with each held-out row in the
  nearest training cluster of its class, as above.

Nothing here draws random numbers: the training of a fit is the same with or
without the validation.
"""

import numpy as np

__all__ = ["nearest_cluster_of_class"]


def nearest_cluster_of_class(embeddings, y, sampler):
    """For every row, the cluster of ``sampler`` (a ``ClusterBatchSampler``:
    its ``centroids`` and ``cluster_classes``) of the row's class ``y`` with
    the highest cosine to the row's unit-norm embedding."""
    sims = embeddings.detach().cpu().numpy() @ sampler.centroids.T
    sims[sampler.cluster_classes[None, :] != np.asarray(y)[:, None]] = -np.inf
    return sims.argmax(axis=1)
