"""Batch-hard triplet and LMLE quintuplet losses against naive per-anchor loops."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn_clmle.embedding.losses.metric import (  # noqa: E402
    BatchHardTripletLoss,
    QuintupletLoss,
    pairwise_euclidean,
)


def _dist(emb, i, j):
    return float(np.sqrt(np.sum((emb[i] - emb[j]) ** 2)))


def _naive_triplet(emb, labels, margin):
    emb = np.asarray(emb, dtype=np.float64)
    per = []
    for i in range(len(emb)):
        pos = [_dist(emb, i, j) for j in range(len(emb))
               if j != i and labels[j] == labels[i]]
        neg = [_dist(emb, i, j) for j in range(len(emb)) if labels[j] != labels[i]]
        per.append(max(0.0, margin + max(pos) - min(neg)) if pos and neg else 0.0)
    return sum(per) / len(per), per


def _naive_quintuplet(emb, labels, clusters, margins):
    emb = np.asarray(emb, dtype=np.float64)
    n = len(emb)
    per, terms = [], []
    for i in range(n):
        same_cluster = [_dist(emb, i, j) for j in range(n) if j != i
                        and labels[j] == labels[i] and clusters[j] == clusters[i]]
        other_cluster = [_dist(emb, i, j) for j in range(n)
                         if labels[j] == labels[i] and clusters[j] != clusters[i]]
        same_class = [_dist(emb, i, j) for j in range(n)
                      if j != i and labels[j] == labels[i]]
        other_class = [_dist(emb, i, j) for j in range(n) if labels[j] != labels[i]]
        p_plus = max(same_cluster) if same_cluster else None
        p_minus = min(other_cluster) if other_cluster else None
        p_mm = max(same_class) if same_class else None
        neg = min(other_class) if other_class else None
        row = []
        for g, near, far in zip(margins, (p_plus, p_minus, p_mm), (p_minus, p_mm, neg)):
            row.append(0.0 if near is None or far is None else max(0.0, g + near - far))
        terms.append(row)
        per.append(sum(row))
    return sum(per) / n, per, terms


def _random_batch(seed, n=14, dim=5):
    rng = np.random.RandomState(seed)
    emb = rng.normal(size=(n, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = rng.randint(0, 3, size=n)
    labels[-1] = 7  # a singleton class: no positive, no p+, p-, p--
    clusters = rng.randint(0, 2, size=n)  # cluster ids shared across classes
    return emb, labels, clusters


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pairwise_euclidean_matches_numpy_and_has_finite_gradient(dtype):
    emb, _, _ = _random_batch(0)
    emb = np.r_[emb, emb[:2]]  # duplicated rows: distance exactly 0
    e = torch.tensor(emb, dtype=dtype, requires_grad=True)
    D = pairwise_euclidean(e)
    expected = np.linalg.norm(emb[:, None] - emb[None], axis=2)
    # the Gram form is accurate to about sqrt(eps) near 0 (duplicated rows)
    tol = 1e-3 if dtype == torch.float32 else 1e-7
    np.testing.assert_allclose(D.detach().numpy(), expected, atol=tol)
    assert torch.all(torch.diagonal(D) == 0)
    D.sum().backward()
    assert torch.all(torch.isfinite(e.grad))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("margin", [0.0, 0.2, 1.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triplet_matches_naive_loop(dtype, margin, seed):
    emb, labels, _ = _random_batch(seed)
    expected, expected_per = _naive_triplet(emb, labels, margin)
    loss, per = BatchHardTripletLoss(margin)(
        torch.tensor(emb, dtype=dtype), torch.tensor(labels)
    )
    assert loss.dtype == dtype and per.shape == (len(emb),)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    np.testing.assert_allclose(per.numpy(), expected_per, atol=tol)
    assert loss.item() == pytest.approx(expected, abs=tol)
    assert per[-1].item() == 0.0  # singleton class: no positive


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("margins", [(0.1, 0.1, 0.2), (0.0, 0.5, 1.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quintuplet_matches_naive_loop(dtype, margins, seed):
    emb, labels, clusters = _random_batch(seed)
    expected, expected_per, expected_terms = _naive_quintuplet(
        emb, labels, clusters, margins
    )
    f = QuintupletLoss(margins)
    e, lab, clu = (torch.tensor(emb, dtype=dtype), torch.tensor(labels),
                   torch.tensor(clusters))
    loss, per = f(e, lab, clu)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert loss.dtype == dtype
    np.testing.assert_allclose(f.terms(e, lab, clu).numpy(), expected_terms, atol=tol)
    np.testing.assert_allclose(per.numpy(), expected_per, atol=tol)
    assert loss.item() == pytest.approx(expected, abs=tol)


def test_quintuplet_hand_worked_on_a_line():
    # Points on the unit circle at angles (degrees); class 0 has clusters 0
    # and 1, class 1 one cluster.  Anchor 0 at 0 deg: p+ = 10 deg (same
    # cluster), p- = 30 deg (nearest of cluster 1), p-- = 35 deg, n = 45 deg.
    deg = np.deg2rad([0, 10, 30, 35, 45, 60])
    emb = np.c_[np.cos(deg), np.sin(deg)]
    labels = np.array([0, 0, 0, 0, 1, 1])
    clusters = np.array([0, 0, 1, 1, 2, 2])
    chord = lambda a: 2 * np.sin(np.deg2rad(a) / 2)  # noqa: E731
    g = (0.1, 0.1, 0.2)
    terms = QuintupletLoss(g).terms(torch.tensor(emb), torch.tensor(labels),
                                    torch.tensor(clusters))[0].numpy()
    expected = [max(0, g[0] + chord(10) - chord(30)),
                max(0, g[1] + chord(30) - chord(35)),
                max(0, g[2] + chord(35) - chord(45))]
    np.testing.assert_allclose(terms, expected, atol=1e-12)
    assert terms[0] == 0 and terms[1] > 0 and terms[2] > 0


def test_quintuplet_drops_terms_without_their_roles():
    rng = np.random.RandomState(0)
    emb = torch.nn.functional.normalize(torch.tensor(rng.normal(size=(5, 3))), dim=1)
    labels = torch.tensor([0, 0, 0, 1, 2])
    clusters = torch.tensor([4, 4, 4, 4, 4])  # one cluster per class
    terms = QuintupletLoss((0.3, 0.3, 0.3)).terms(emb, labels, clusters)
    # no p- anywhere: the first two terms vanish; classes 1 and 2 are
    # singletons (no p--): no term at all.
    assert torch.all(terms[:, :2] == 0)
    assert torch.all(terms[3:] == 0)
    _, _, expected = _naive_quintuplet(emb.numpy(), labels.tolist(),
                                       clusters.tolist(), (0.3, 0.3, 0.3))
    np.testing.assert_allclose(terms.numpy(), expected, atol=1e-12)
    assert torch.all(terms[:3, 2] > 0)  # 0.3 + D(p--) - D(n) on random points


@pytest.mark.parametrize("loss", ["triplet", "lmle"])
def test_gradients_are_finite_with_duplicates(loss):
    rng = np.random.RandomState(0)
    base = rng.normal(size=(4, 3))
    emb = torch.tensor(np.r_[base, base], requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1] * 2)
    z = torch.nn.functional.normalize(emb, dim=1)
    if loss == "triplet":
        value, _ = BatchHardTripletLoss(0.5)(z, labels)
    else:
        value, _ = QuintupletLoss()(z, labels, torch.tensor([0, 1, 2, 2] * 2))
    value.backward()
    assert torch.all(torch.isfinite(emb.grad)) and emb.grad.abs().sum() > 0


def test_losses_are_zero_when_satisfied_and_margins_checked():
    # two tight, far apart classes
    emb = torch.tensor([[1.0, 0.0], [1.0, 1e-3], [-1.0, 0.0], [-1.0, 1e-3]])
    emb = torch.nn.functional.normalize(emb, dim=1)
    labels = torch.tensor([0, 0, 1, 1])
    assert BatchHardTripletLoss(0.5)(emb, labels)[0].item() == 0.0
    assert QuintupletLoss()(emb, labels, torch.tensor([0, 0, 1, 1]))[0].item() == 0.0
    with pytest.raises(ValueError, match=r"margins=\(0\.1, 0\.2\) should have three"):
        QuintupletLoss((0.1, 0.2))
