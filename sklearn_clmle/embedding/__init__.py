"""Deep embeddings trained with the CLMLE loss (the only torch subpackage)."""

from ._embedder import CLMLEEmbedder
from ._loss import ClusterLoss

__all__ = ["CLMLEEmbedder", "ClusterLoss"]
