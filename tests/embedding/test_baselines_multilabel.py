"""LongTailNetClassifier on multi-label targets: the (weighted) binary
cross-entropy against its per-entry formula, shapes, conventions, errors."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn_clmle.embedding import _longtail_losses as L  # noqa: E402

# Logits of 5 samples for 3 labels, their 0/1 targets, float64 for tight checks.
LOGITS = np.array([
    [2.0, -1.0, 0.5],
    [0.1, 0.2, -0.3],
    [-1.5, 3.0, 0.0],
    [0.7, -0.7, -2.0],
    [-40.0, 35.0, 2.5],
])
TARGETS = np.array([
    [1, 0, 0],
    [0, 1, 0],
    [0, 1, 1],
    [0, 0, 0],
    [1, 1, 0],
], dtype=float)


def _log_sigmoid(z):
    return -math.log1p(math.exp(-z)) if z >= 0 else z - math.log1p(math.exp(z))


def _naive_bce(logits, targets, w_pos=None, w_neg=None):
    """Mean over samples and labels of the (weighted) per-entry BCE, in a loop."""
    total, count = 0.0, 0
    for z_row, t_row in zip(logits, targets):
        for j, (z, t) in enumerate(zip(z_row, t_row)):
            loss = -(t * _log_sigmoid(z) + (1 - t) * _log_sigmoid(-z))
            if w_pos is not None:
                loss *= w_pos[j] if t else w_neg[j]
            total += loss
            count += 1
    return total / count


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def test_balanced_label_weights_hand_worked():
    # label 0: 3 negatives, 1 positive (n = 4): 4 / 6 and 4 / 2;
    # label 1: 1 negative, 3 positives: 4 / 2 and 4 / 6.
    w = L.balanced_label_weights([[3, 1], [1, 3]]).numpy()
    np.testing.assert_allclose(w, [[2 / 3, 2.0], [2.0, 2 / 3]], rtol=1e-6)


def test_binary_cross_entropy_matches_formula():
    got = L.binary_cross_entropy_loss(_t(LOGITS), _t(TARGETS)).item()
    assert got == pytest.approx(_naive_bce(LOGITS, TARGETS), rel=1e-12)


def test_weighted_binary_cross_entropy_matches_formula():
    n = len(TARGETS)
    n_pos = TARGETS.sum(axis=0)  # 2, 3, 1
    w_pos, w_neg = n / (2 * n_pos), n / (2 * (n - n_pos))
    weight = L.balanced_label_weights(np.stack([n - n_pos, n_pos]))
    np.testing.assert_allclose(weight.numpy(), [w_neg, w_pos], rtol=1e-6)
    expected = _naive_bce(LOGITS, TARGETS, w_pos, w_neg)
    got = L.binary_cross_entropy_loss(_t(LOGITS), _t(TARGETS), weight).item()
    assert got == pytest.approx(expected, rel=1e-6)
    # equal weights give the plain loss times the weight
    ones = torch.full((2, 3), 2.0)
    got = L.binary_cross_entropy_loss(_t(LOGITS), _t(TARGETS), ones).item()
    assert got == pytest.approx(2 * _naive_bce(LOGITS, TARGETS), rel=1e-12)


def test_binary_cross_entropy_float32_gradient_finite_for_large_logits():
    z = torch.tensor(LOGITS * 10, dtype=torch.float32, requires_grad=True)
    loss = L.binary_cross_entropy_loss(z, torch.tensor(TARGETS, dtype=torch.float32),
                                       L.balanced_label_weights([[3, 2, 4], [2, 3, 1]]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()
