"""The warm-up softmax term (class weighting, logit adjustment) against naive formulas."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn_clmle.embedding.losses import SoftmaxTerm, softmax_classifiers  # noqa: E402


def _naive_ce(logits, y, weights):
    num = den = 0.0
    for row, t in zip(logits, y):
        logp = row - np.log(np.exp(row).sum())
        num -= weights[t] * logp[t]
        den += weights[t]
    return num / den


@pytest.mark.parametrize("class_weight", ["balanced", "logit_adjusted", None])
def test_multiclass_softmax_term_matches_naive_formula(class_weight):
    rng = np.random.RandomState(0)
    y = np.array([0] * 6 + [1] * 3 + [2])  # counts 6, 3, 1
    term = SoftmaxTerm(y[:, None], False, class_weight)
    classifiers = softmax_classifiers(y[:, None], 4, False)
    h = torch.from_numpy(rng.normal(size=(10, 4)).astype(np.float32))
    loss = term([classifiers[0](h)], torch.from_numpy(y[:, None])).item()
    W = classifiers[0].weight.detach().numpy()
    b = classifiers[0].bias.detach().numpy()
    logits = h.numpy() @ W.T + b
    counts = np.array([6, 3, 1])
    weights = np.ones(3)
    if class_weight == "balanced":
        weights = 10 / (3 * counts)
    if class_weight == "logit_adjusted":
        logits = logits + np.log(counts / 10)
    assert loss == pytest.approx(_naive_ce(logits, y, weights), rel=1e-5)


def test_multilabel_logit_adjustment_adds_log_odds_of_the_label():
    rng = np.random.RandomState(1)
    Y = np.array([[1, 0], [0, 0], [0, 1], [0, 1], [0, 0]])  # label 0: 1 pos / 4 neg
    term = SoftmaxTerm(Y, True, "logit_adjusted")
    classifiers = softmax_classifiers(Y, 3, True)
    h = [torch.from_numpy(rng.normal(size=(5, 3)).astype(np.float32)) for _ in range(2)]
    loss = term([c(x) for c, x in zip(classifiers, h)], torch.from_numpy(Y)).item()
    expected = 0.0
    for j in range(2):
        clf = classifiers[j]
        z = (h[j].numpy() @ clf.weight.detach().numpy().T + clf.bias.detach().numpy())[:, 0]
        pos = Y[:, j].sum()
        z = z + np.log(pos / (5 - pos))
        p = 1 / (1 + np.exp(-z))
        expected += -np.mean(Y[:, j] * np.log(p) + (1 - Y[:, j]) * np.log(1 - p))
    assert loss == pytest.approx(expected / 2, rel=1e-5)
