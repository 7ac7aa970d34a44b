"""Long-tail classification losses behind ``LongTailNetClassifier`` (private).

Every loss takes ``logits`` of shape ``(n, C)``, integer ``targets`` of shape
``(n,)`` and, where it needs them, the training ``class_counts`` (length ``C``,
numpy or sequence), and returns a scalar tensor.  They are plain functions so
that each can be checked against its per-sample formula.

Reductions follow the reference implementations: a class-``weight``-ed
cross-entropy is the *weighted mean* ``sum_i w_{y_i} l_i / sum_i w_{y_i}`` (as
``torch.nn.functional.cross_entropy``, used by the LDAM-DRW code), while the
focal losses are the plain mean ``sum_i w_{y_i} l_i / n`` (Cui et al.'s code).
"""

import numpy as np
import torch
from torch.nn import functional as F

__all__ = [
    "balanced_weights",
    "effective_number_weights",
    "cross_entropy_loss",
    "logit_adjusted_loss",
    "ldam_margins",
    "ldam_loss",
    "focal_loss",
]


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
