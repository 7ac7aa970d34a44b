"""The torch networks of the estimators: backbones and the multi-head
embedding network (``backbones``), and the classifier heads of
``LongTailNetClassifier`` (``heads``)."""

from .backbones import MLP, BackboneNet, EmbeddingNet, SmallCNN, default_backbone
from .heads import HeadNet, NormedLinear

__all__ = [
    "BackboneNet",
    "EmbeddingNet",
    "HeadNet",
    "MLP",
    "NormedLinear",
    "SmallCNN",
    "default_backbone",
]
