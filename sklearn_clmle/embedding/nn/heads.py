"""The network of LongTailNetClassifier (private): a backbone and one head,
linear or cosine."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from .backbones import BackboneNet

__all__ = ["NormedLinear", "HeadNet"]


class NormedLinear(nn.Module):
    """Cosine head: ``normalize(x) @ normalize(W)^T`` (LDAM's ``NormedLinear``).

    Outputs the cosine of the angle between the features and each class
    weight vector, in ``[-1, 1]``; the margin losses scale it themselves.
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x):
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).T


class HeadNet(BackboneNet):
    """A backbone and one head with ``n_outputs`` outputs (one per class, or
    one per label for multi-label targets); flat rows are reshaped first."""

    def __init__(self, backbone, n_backbone_out, n_outputs, input_shape, cosine):
        super().__init__(backbone, input_shape)
        self.head = (NormedLinear if cosine else nn.Linear)(n_backbone_out, n_outputs)

    def forward(self, x):
        return self.head(self.features(x))
