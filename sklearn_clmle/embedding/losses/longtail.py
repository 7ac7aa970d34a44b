"""Long-tail classification losses behind ``LongTailNetClassifier``, and the
softmax warm-up term of ``CLMLEEmbedder`` and ``MetricEmbedder``.

Every loss takes ``logits`` of shape ``(n, C)``, integer ``targets`` of shape
``(n,)`` and, where it needs them, the training ``class_counts`` (length ``C``,
numpy or sequence), and returns a scalar tensor.  The margin losses of cosine
heads (LDAM, CosFace, ArcFace) take the cosines as ``logits``.  The multi-label
loss takes ``(n, L)`` logits and 0/1 float ``targets`` of the same shape.  They
are plain functions so that each can be checked against its per-sample formula.

Reductions follow the reference implementations: a class-``weight``-ed
cross-entropy is the *weighted mean* ``sum_i w_{y_i} l_i / sum_i w_{y_i}`` (as
``torch.nn.functional.cross_entropy``, used by the LDAM-DRW code), while the
focal losses are the plain mean ``sum_i w_{y_i} l_i / n`` (Cui et al.'s code),
and the binary cross-entropy of multi-label targets is the plain mean over all
``n * L`` sample-label pairs (as ``binary_cross_entropy_with_logits``).

``SoftmaxTerm`` is the embedders' warm-up loss on the logits of linear
classifiers on the raw heads (``softmax_classifiers``), with ``"balanced"`` class weights or logit-adjusted offsets of its own
(the twins of ``balanced_weights``, ``balanced_label_weights`` and
``logit_adjusted_loss``); its multi-label binary cross-entropy is the
*weighted* mean ``sum w l / sum w`` per label, not the plain mean of
``binary_cross_entropy_loss``.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "balanced_weights",
    "effective_number_weights",
    "cross_entropy_loss",
    "logit_adjusted_loss",
    "ldam_margins",
    "ldam_loss",
    "focal_loss",
    "cosface_loss",
    "arcface_target_cosine",
    "arcface_loss",
    "balanced_label_weights",
    "binary_cross_entropy_loss",
    "SoftmaxTerm",
    "softmax_classifiers",
]

# ArcFace: cos(theta) is clamped to [-1 + eps, 1 - eps] inside cos(theta + m),
# so that sin(theta) = sqrt(1 - cos^2) stays >= about 1.4e-3 and its gradient
# finite at theta = 0 and pi.
ARCFACE_EPS = 1e-6


def _counts(class_counts):
    counts = np.asarray(class_counts, dtype=np.float64)
    return np.maximum(counts, 1.0)


def balanced_weights(class_counts):
    """``n / (C n_c)``: scikit-learn's ``class_weight="balanced"``, float32 tensor."""
    counts = _counts(class_counts)
    w = counts.sum() / (len(counts) * counts)
    return torch.tensor(w, dtype=torch.float32)


def effective_number_weights(class_counts, beta):
    """Class-balanced weights of Cui et al. (2019), summing to ``C``.

    ``w_c = (1 - beta) / (1 - beta ** n_c)``, the inverse of the effective
    number of samples, normalised so that ``sum_c w_c = C``.  ``beta = 0``
    gives uniform weights.
    """
    counts = _counts(class_counts)
    effective = 1.0 - np.power(beta, counts)
    w = (1.0 - beta) / effective
    w = w * len(counts) / w.sum()
    return torch.tensor(w, dtype=torch.float32)


def cross_entropy_loss(logits, targets, weight=None):
    """Softmax cross-entropy; with ``weight``, the weighted mean over samples."""
    if weight is not None:
        weight = weight.to(logits.device, logits.dtype)
    return F.cross_entropy(logits, targets, weight=weight)


def logit_adjusted_loss(logits, targets, class_counts, tau=1.0):
    """Logit-adjusted cross-entropy (Menon et al., 2021).

    Cross-entropy of ``logits + tau * log(prior)``, with ``prior_c = n_c / n``;
    the prediction uses the plain logits.
    """
    counts = _counts(class_counts)
    log_prior = torch.tensor(np.log(counts / counts.sum()), dtype=logits.dtype,
                             device=logits.device)
    return F.cross_entropy(logits + tau * log_prior, targets)


def ldam_margins(class_counts, max_margin=0.5):
    """LDAM margins ``m_c = K / n_c ** (1/4)``, with ``max_c m_c = max_margin``."""
    counts = _counts(class_counts)
    m = counts ** -0.25
    return torch.tensor(m * (max_margin / m.max()), dtype=torch.float32)


def ldam_loss(logits, targets, class_counts, max_margin=0.5, scale=30.0, weight=None):
    """Label-distribution-aware margin loss (Cao et al., 2019).

    As the authors' code: subtract the class margin ``m_y`` from the
    true-class logit (a cosine, for their normalised head), multiply all
    logits by ``scale`` and take the (``weight``-ed mean) cross-entropy.
    """
    margins = ldam_margins(class_counts, max_margin).to(logits.device, logits.dtype)
    onehot = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    adjusted = logits - onehot * margins[targets][:, None]
    return cross_entropy_loss(scale * adjusted, targets, weight)


def focal_loss(logits, targets, gamma=2.0, weight=None):
    """Softmax focal loss (Lin et al., 2017), mean over samples.

    ``l_i = -w_{y_i} (1 - p_i) ** gamma * log p_i`` with ``p_i`` the softmax
    probability of the true class; ``weight=None`` means ``w = 1``.  With
    effective-number weights this is the class-balanced focal loss of Cui et
    al. (2019).  ``gamma = 0`` is the cross-entropy.
    """
    log_p = F.log_softmax(logits, dim=1).gather(1, targets[:, None])[:, 0]
    # 1 - p as -expm1(log p), kept off 0 so that (1 - p) ** gamma has a finite
    # gradient for gamma < 1 when a probability rounds to 1.
    one_minus_p = (-torch.expm1(log_p)).clamp_min(1e-12)
    per = -(one_minus_p ** gamma) * log_p
    if weight is not None:
        per = weight.to(logits.device, logits.dtype)[targets] * per
    return per.mean()


def cosface_loss(cosines, targets, margin=0.35, scale=30.0):
    """Large-margin cosine loss: CosFace / AM-softmax (Wang et al., 2018).

    Cross-entropy of ``scale * (cos_j - margin [j = y])``: the additive
    cosine margin is subtracted from the true-class cosine only.
    """
    onehot = F.one_hot(targets, cosines.shape[1]).to(cosines.dtype)
    return F.cross_entropy(scale * (cosines - margin * onehot), targets)


def arcface_target_cosine(cos_y, margin=0.5):
    """ArcFace's true-class logit ``cos(theta_y + margin)``, numerically safe.

    ``cos(theta + m) = c cos m - sqrt(1 - c^2) sin m`` with ``c`` the cosine
    clamped to ``[-1 + ARCFACE_EPS, 1 - ARCFACE_EPS]`` (finite gradients at
    ``theta = 0``).  Where ``theta + m > pi`` (``cos theta < cos(pi - m)``),
    ``cos(theta + m)`` would increase with ``theta``; there the logit falls
    back to ``cos theta - m sin m``, as in the ArcFace reference code
    (``easy_margin=False``), which keeps it decreasing in ``theta`` and its
    gradient 1 at ``theta = pi``.
    """
    c = cos_y.clamp(-1.0 + ARCFACE_EPS, 1.0 - ARCFACE_EPS)
    with_margin = c * math.cos(margin) - torch.sqrt(1.0 - c * c) * math.sin(margin)
    fallback = cos_y - margin * math.sin(margin)
    return torch.where(cos_y > math.cos(math.pi - margin), with_margin, fallback)


def arcface_loss(cosines, targets, margin=0.5, scale=30.0):
    """Additive angular margin loss: ArcFace (Deng et al., 2019).

    Cross-entropy of ``scale * cos_j`` with the true-class cosine replaced by
    :func:`arcface_target_cosine` (``cos(theta_y + margin)``).
    """
    idx = targets[:, None]
    phi = arcface_target_cosine(cosines.gather(1, idx)[:, 0], margin)
    return F.cross_entropy(scale * cosines.scatter(1, idx, phi[:, None]), targets)


def balanced_label_weights(label_counts):
    """Per-label ``"balanced"`` weights of a multi-label problem, float32 tensor.

    ``label_counts`` has shape ``(2, L)``: the negatives (row 0) and positives
    (row 1) of each label.  Returns ``w[k, j] = n / (2 n_kj)``: scikit-learn's
    ``class_weight="balanced"`` for the two classes of each label.
    """
    counts = _counts(label_counts)
    w = counts.sum(axis=0) / (2.0 * counts)
    return torch.tensor(w, dtype=torch.float32)


def binary_cross_entropy_loss(logits, targets, weight=None):
    """Sigmoid binary cross-entropy of multi-label targets, plain mean.

    ``l_ij = -[t_ij log s(z_ij) + (1 - t_ij) log(1 - s(z_ij))]``, averaged
    over all ``n * L`` entries; with ``weight`` of shape ``(2, L)``, each entry
    is multiplied by ``weight[t_ij, j]`` first (see
    :func:`balanced_label_weights`).
    """
    per = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    if weight is not None:
        weight = weight.to(logits.device, logits.dtype)
        per = weight.gather(0, (targets > 0.5).long()) * per
    return per.mean()


def softmax_classifiers(Y, dim, multilabel):
    """The linear classifiers of ``SoftmaxTerm``, one per column of ``Y``:
    ``dim`` inputs (a raw head), one output per class (one per label for
    multi-label ``Y``)."""
    n_out = 1 if multilabel else int(Y.max()) + 1
    return nn.ModuleList(nn.Linear(dim, n_out) for _ in range(Y.shape[1]))


class SoftmaxTerm(nn.Module):
    """The (weighted) softmax loss of the logits of ``softmax_classifiers``.

    Cross-entropy per head, or binary cross-entropy per label for multi-label
    ``Y`` (the training targets, one column a head).
    ``class_weight="balanced"`` weighs classes by the inverse of their
    training frequency; ``"logit_adjusted"`` leaves the classes unweighted
    and adds ``log(prior)`` to the logits during training (Menon et al.,
    2021): ``log(n_c / n)`` per class, and for a label's single logit
    ``log(n_pos / n_neg)``.  ``forward(logits, yb)``: one ``(n, C)`` (or
    ``(n, 1)``) tensor a head and the ``(n, n_heads)`` targets.
    """

    def __init__(self, Y, multilabel, class_weight):
        super().__init__()
        self.multilabel = multilabel
        n_out = 1 if multilabel else int(Y.max()) + 1
        for j in range(Y.shape[1]):
            counts = np.bincount(Y[:, j], minlength=2 if multilabel else n_out)
            safe = np.maximum(counts, 1)
            if class_weight == "balanced":
                w = counts.sum() / (len(counts) * safe)
            else:
                w = np.ones(len(counts))
            offset = np.zeros(n_out)
            if class_weight == "logit_adjusted":
                offset = (np.log(safe[1:] / safe[0]) if multilabel
                          else np.log(safe / counts.sum()))
            self.register_buffer(f"weight{j}", torch.tensor(w, dtype=torch.float32))
            self.register_buffer(f"offset{j}", torch.tensor(offset, dtype=torch.float32))
        self.n_heads = Y.shape[1]

    def forward(self, logits, yb):
        loss = 0.0
        for j, z in enumerate(logits):
            z = z + getattr(self, f"offset{j}")
            weight = getattr(self, f"weight{j}")
            if self.multilabel:
                t = yb[:, j].to(torch.float32)
                per = nn.functional.binary_cross_entropy_with_logits(
                    z[:, 0], t, reduction="none")
                wj = weight[yb[:, j]]
                loss = loss + (wj * per).sum() / wj.sum()
            else:
                loss = loss + nn.functional.cross_entropy(z, yb[:, j], weight=weight)
        return loss / len(logits)
