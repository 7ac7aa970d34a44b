"""Where the training batches come from: per-class equal-size spherical
clustering of the embeddings (``clustering``), CLMLE's batches of nearby
clusters and the P x K class-balanced batches (``cluster_batches``)."""

from .cluster_batches import ClassBalancedBatchSampler, ClusterBatchSampler
from .clustering import cluster_per_class

__all__ = ["ClassBalancedBatchSampler", "ClusterBatchSampler", "cluster_per_class"]
