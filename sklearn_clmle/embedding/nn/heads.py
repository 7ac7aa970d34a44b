"""The network of LongTailNetClassifier (private): a backbone and one head,
linear or cosine."""

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .backbones import BackboneNet

__all__ = ["NormedLinear", "HeadNet", "head_outputs"]

# Rows per forward pass in predict / decision_function / transform (on a
# CPU, convolutional backbones run faster at a few hundred rows than at 1024).
INFERENCE_BATCH = 256


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


@torch.no_grad()
def head_outputs(net, X, device, *, features, scale=None):
    """Outputs of a fitted ``HeadNet`` on numpy ``X``, float32 numpy.

    The head's outputs, times ``scale`` when given (the cosines of a cosine
    head), or with ``features=True`` the backbone features.  Runs in eval
    mode by chunks of ``INFERENCE_BATCH`` rows on ``device`` (a copy of
    ``net`` off the CPU); ``None`` for ``X`` without rows.
    """
    if device != "cpu":
        net = copy.deepcopy(net).to(device)
    net.eval()
    chunks = []
    for start in range(0, X.shape[0], INFERENCE_BATCH):
        xb = torch.from_numpy(
            np.array(X[start:start + INFERENCE_BATCH], dtype=np.float32)
        ).to(device)
        out = net.features(xb) if features else net(xb)
        if not features and scale is not None:
            out = scale * out
        chunks.append(out.cpu().numpy())
    if not chunks:
        return None
    return np.concatenate(chunks).astype(np.float32, copy=False)
