"""The warm-up softmax term (class weighting, logit adjustment) and the CNN backbone."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn_clmle.embedding.losses import SoftmaxTerm  # noqa: E402


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
    term = SoftmaxTerm(y[:, None], 4, False, class_weight, "cpu")
    h = torch.from_numpy(rng.normal(size=(10, 4)).astype(np.float32))
    loss = term([h], torch.from_numpy(y[:, None])).item()
    W = term.classifiers[0].weight.detach().numpy()
    b = term.classifiers[0].bias.detach().numpy()
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
    term = SoftmaxTerm(Y, 3, True, "logit_adjusted", "cpu")
    h = [torch.from_numpy(rng.normal(size=(5, 3)).astype(np.float32)) for _ in range(2)]
    loss = term(h, torch.from_numpy(Y)).item()
    expected = 0.0
    for j in range(2):
        clf = term.classifiers[j]
        z = (h[j].numpy() @ clf.weight.detach().numpy().T + clf.bias.detach().numpy())[:, 0]
        pos = Y[:, j].sum()
        z = z + np.log(pos / (5 - pos))
        p = 1 / (1 + np.exp(-z))
        expected += -np.mean(Y[:, j] * np.log(p) + (1 - Y[:, j]) * np.log(1 - p))
    assert loss == pytest.approx(expected / 2, rel=1e-5)


def test_embedder_accepts_logit_adjusted_warmup():
    from sklearn_clmle import CLMLEEmbedder

    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0, 1, (30, 4)), rng.normal(3, 1, (6, 4))]
    y = np.r_[np.zeros(30, int), np.ones(6, int)]
    emb = CLMLEEmbedder(hidden_units=(8,), embedding_dim=4, cluster_size=5,
                        n_clusters_per_batch=3, n_samples_per_cluster=4,
                        warmup_epochs=2, warmup_class_weight="logit_adjusted",
                        n_rounds=1, steps_per_round=2, random_state=0).fit(X, y)
    assert emb.transform(X).shape == (36, 4)
    with pytest.raises(ValueError, match="warmup_class_weight"):
        CLMLEEmbedder(warmup_class_weight="inverse").fit(X, y)


def test_small_cnn_channels_last_matches_nchw_reference():
    from torch.nn import functional as F

    from sklearn_clmle.embedding.nn import SmallCNN

    torch.manual_seed(0)
    net = SmallCNN(2, 8).eval()
    x = torch.rand(5, 2, 12, 10)  # NCHW, as users pass images
    conv1, conv2, lin = net.body[0], net.body[3], net.body[8]
    assert conv1.weight.is_contiguous(memory_format=torch.channels_last)
    h = F.max_pool2d(F.relu(F.conv2d(x, conv1.weight.contiguous(), conv1.bias,
                                     padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, conv2.weight.contiguous(), conv2.bias,
                                     padding=1)), 2)
    ref = F.relu(F.linear(h.mean(dim=(2, 3)), lin.weight, lin.bias))
    with torch.no_grad():
        out = net(x)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert x.is_contiguous()  # the input is not converted in place
