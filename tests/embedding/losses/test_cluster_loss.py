"""ClusterLoss against a naive per-sample loop and hand-worked values."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn_clmle.embedding import ClusterLoss  # noqa: E402


def _naive(emb, clusters, cluster_classes, a1, a2, scale, cost_sensitive):
    """Eq. 9 written sample by sample, in float64 python."""
    emb = np.asarray(emb, dtype=np.float64)
    n_clusters = len(cluster_classes)
    mu = []
    for k in range(n_clusters):
        members = [emb[i] for i in range(len(emb)) if clusters[i] == k]
        mu.append(sum(members) / len(members))  # unnormalised mean
    per = []
    for i in range(len(emb)):
        m = clusters[i]
        s = [scale * float(emb[i] @ mu[k]) for k in range(n_clusters)]
        other = [s[k] for k in range(n_clusters)
                 if cluster_classes[k] != cluster_classes[m]]
        same = [s[k] for k in range(n_clusters)
                if k != m and cluster_classes[k] == cluster_classes[m]]
        total = 0.0
        a1_i = a1[cluster_classes[m]] if np.ndim(a1) else a1
        for vals, a in ((other, a1_i), (same, a2)):
            if vals:
                lse = math.log(sum(math.exp(v) for v in vals))
                total += max(0.0, lse - s[m] + scale * a)
        per.append(total)
    classes = [cluster_classes[clusters[i]] for i in range(len(emb))]
    if cost_sensitive:
        w = [1.0 / classes.count(c) for c in classes]
    else:
        w = [1.0] * len(emb)
    return sum(wi * li for wi, li in zip(w, per)) / sum(w), per


def _random_batch(seed, n_clusters=5, per_cluster=4, dim=6):
    rng = np.random.RandomState(seed)
    emb = rng.normal(size=(n_clusters * per_cluster, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    clusters = np.repeat(np.arange(n_clusters), per_cluster)
    rng.shuffle(clusters)
    cluster_classes = np.array([0, 0, 1, 2, 2][:n_clusters])
    return emb, clusters, cluster_classes


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cost_sensitive", [True, False])
@pytest.mark.parametrize("scale", [1.0, 16.0, 64.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_naive_loop(dtype, cost_sensitive, scale, seed):
    emb, clusters, cc = _random_batch(seed)
    a1, a2 = 0.2, 0.05
    expected, expected_per = _naive(emb, clusters, cc, a1, a2, scale, cost_sensitive)
    loss_fn = ClusterLoss(a1, a2, scale=scale, cost_sensitive=cost_sensitive)
    loss, per = loss_fn(
        torch.tensor(emb, dtype=dtype), torch.tensor(clusters), torch.tensor(cc)
    )
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    np.testing.assert_allclose(per.numpy(), expected_per, rtol=tol, atol=tol)
    assert loss.item() == pytest.approx(expected, rel=tol, abs=tol)
    assert loss.dtype == dtype


def test_hand_worked_two_clusters():
    # Cluster 0 (class 0): e1 twice; cluster 1 (class 1): e2 twice.  Then
    # mu_0 = e1, mu_1 = e2; for every sample s_own = 1, s_other = 0, no
    # same-class other cluster: loss_i = [0 - 1 + a1]_+ = 0 for a1 < 1, and
    # a1 - 1 = 0.5 for a1 = 1.5.
    emb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    clusters = torch.tensor([0, 0, 1, 1])
    cc = torch.tensor([0, 1])
    loss, per = ClusterLoss(0.5, 0.1)(emb, clusters, cc)
    assert loss.item() == 0.0
    loss, per = ClusterLoss(1.5, 0.1)(emb, clusters, cc)
    np.testing.assert_allclose(per.numpy(), [0.5] * 4, rtol=1e-6)


def test_centroid_is_unnormalised_mean():
    # Two orthogonal members: the batch centroid has norm 1/sqrt(2), not 1.
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    mu = ClusterLoss.batch_centroids(emb, torch.tensor([0, 0, 1]), 2)
    np.testing.assert_allclose(mu.numpy(), [[0.5, 0.5], [-1.0, 0.0]])
    # With a1 = 2 -- sample 0: s_own = 0.5, s_other = -1: [-1 - 0.5 + 2]_+ =
    # 0.5; sample 1: s_own = 0.5, s_other = 0: 1.5; sample 2: s_own = 1,
    # s_other = -0.5: [-0.5 - 1 + 2]_+ = 0.5.  (Normalised centroids would
    # give s_own = 0.707 for samples 0 and 1.)
    _, per = ClusterLoss(2.0, 0.0)(emb, torch.tensor([0, 0, 1]), torch.tensor([0, 1]))
    np.testing.assert_allclose(per.numpy(), [0.5, 1.5, 0.5], rtol=1e-6)


def test_empty_sets_contribute_zero():
    # All clusters of one class: no between-class term; one cluster per class:
    # no within-class term.
    emb, clusters, _ = _random_batch(0, n_clusters=3)
    same = ClusterLoss(5.0, 0.0)(torch.tensor(emb), torch.tensor(clusters),
                                 torch.tensor([0, 0, 0]))[1]
    expected = _naive(emb, clusters, [0, 0, 0], 5.0, 0.0, 1.0, False)[1]
    np.testing.assert_allclose(same.numpy(), expected, rtol=1e-10)
    # Only one cluster in total: both sets are empty, the loss is exactly 0.
    loss, per = ClusterLoss(5.0, 5.0)(torch.tensor(emb[:4]), torch.zeros(4, dtype=torch.long),
                                      torch.tensor([0]))
    assert loss.item() == 0.0 and np.all(per.numpy() == 0)


def test_cost_sensitive_weights_balance_classes():
    loss_fn = ClusterLoss(0.1, 0.1, cost_sensitive=True)
    w = loss_fn.sample_weights(torch.tensor([0, 0, 0, 1]))
    # Each class gets half of the total weight.
    np.testing.assert_allclose(w.numpy(), [1 / 6, 1 / 6, 1 / 6, 1 / 2], rtol=1e-6)
    w = ClusterLoss(0.1, 0.1, cost_sensitive=False).sample_weights(torch.tensor([0, 0, 0, 1]))
    np.testing.assert_allclose(w.numpy(), [0.25] * 4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cost_sensitive", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_per_class_between_margins_match_naive_loop(dtype, cost_sensitive, seed):
    emb, clusters, cc = _random_batch(seed)
    a1 = np.array([0.05, 0.3, 0.6])  # class 0 (2 clusters), 1, 2
    expected, expected_per = _naive(emb, clusters, cc, a1, 0.05, 16.0, cost_sensitive)
    loss, per = ClusterLoss(a1, 0.05, scale=16.0, cost_sensitive=cost_sensitive)(
        torch.tensor(emb, dtype=dtype), torch.tensor(clusters), torch.tensor(cc))
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    np.testing.assert_allclose(per.numpy(), expected_per, rtol=tol, atol=tol)
    assert loss.item() == pytest.approx(expected, rel=tol, abs=tol)


def test_equal_per_class_margins_are_the_scalar_margin():
    emb, clusters, cc = _random_batch(2)
    args = torch.tensor(emb, dtype=torch.float32), torch.tensor(clusters), torch.tensor(cc)
    scalar = ClusterLoss(0.2, 0.05, scale=64.0)(*args)
    per_class = ClusterLoss([0.2, 0.2, 0.2], 0.05, scale=64.0)(*args)
    assert torch.equal(scalar[0], per_class[0]) and torch.equal(scalar[1], per_class[1])


def test_per_class_margins_gradient_matches_finite_differences():
    emb, clusters, cc = _random_batch(5, dim=3)
    x = torch.tensor(emb, dtype=torch.float64, requires_grad=True)
    fn = ClusterLoss([0.1, 0.4, 0.25], 0.1, scale=4.0)
    assert torch.autograd.gradcheck(
        lambda e: fn(e, torch.tensor(clusters), torch.tensor(cc))[0], (x,)
    )


def test_two_dimensional_margin_between_is_refused():
    with pytest.raises(ValueError, match="margin_between"):
        ClusterLoss(np.ones((2, 2)), 0.1)


def test_gradient_matches_finite_differences():
    emb, clusters, cc = _random_batch(3, dim=3)
    x = torch.tensor(emb, dtype=torch.float64, requires_grad=True)
    fn = ClusterLoss(0.3, 0.1, scale=4.0)
    assert torch.autograd.gradcheck(
        lambda e: fn(e, torch.tensor(clusters), torch.tensor(cc))[0], (x,)
    )


def test_gradient_matches_autograd_of_the_naive_formula():
    # The hand-written backward pass against autograd through a direct torch
    # transcription of Eq. 9 (masked log-sum-exps), at a large scale where
    # many terms are negligible.
    emb, clusters, cc = _random_batch(4, n_clusters=5, per_cluster=6, dim=5)
    cl_t, cc_t = torch.tensor(clusters), torch.tensor(cc)
    for cost_sensitive in (True, False):
        fn = ClusterLoss(0.3, 0.1, scale=64.0, cost_sensitive=cost_sensitive)
        x = torch.tensor(emb, requires_grad=True)
        fn(x, cl_t, cc_t)[0].backward()
        y = torch.tensor(emb, requires_grad=True)
        mu = torch.stack([y[cl_t == k].mean(0) for k in range(len(cc))])
        s = 64.0 * y @ mu.T
        same = cc_t[cl_t].unsqueeze(1) == cc_t
        own = torch.nn.functional.one_hot(cl_t, len(cc)).bool()
        per = 0
        for mask, a in ((~same, 0.3), (same & ~own, 0.1)):
            lse = torch.logsumexp(s.masked_fill(~mask, -torch.inf), 1)
            term = torch.relu(lse - s[own] + 64.0 * a)
            per = per + torch.where(mask.any(1), term, torch.zeros_like(term))
        w = fn.sample_weights(cc_t[cl_t], torch.float64)
        (w * per).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_nan_embeddings_give_a_nan_loss():
    # A diverged network must not look like a zero loss.
    emb, clusters, cc = _random_batch(0)
    emb[3] = np.nan
    loss, per = ClusterLoss(0.2, 0.05)(torch.tensor(emb), torch.tensor(clusters),
                                        torch.tensor(cc))
    assert torch.isnan(loss)
    assert torch.isnan(per[3])
