"""The parts the training loops receive instead of the estimator: the
optimiser spec, the per-class clustering and the cluster rounds run on
hand-built parts (no estimator)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skorch.history import History  # noqa: E402

from sklearn_clmle.embedding.losses.cluster import ClusterLoss  # noqa: E402
from sklearn_clmle.embedding.losses.longtail import (  # noqa: E402
    SoftmaxTerm,
    softmax_classifiers,
)
from sklearn_clmle.embedding.nn.backbones import MLP, EmbeddingNet  # noqa: E402
from sklearn_clmle.embedding.nn.heads import HeadNet  # noqa: E402
from sklearn_clmle.cluster._per_class import (  # noqa: E402
    PerClassClustering,
    cluster_per_class,
)
from sklearn_clmle.utils._samplers import ClusterBatchSampler  # noqa: E402
from sklearn_clmle.embedding.training import (  # noqa: E402
    OptimizerSpec,
    train,
)
from sklearn_clmle.embedding.training.clmle_rounds import (  # noqa: E402
    ClusterCriterion,
    RoundBatches,
    RoundStart,
    SoftmaxModel,
    round_phase,
    warmup_phase,
)
from sklearn_clmle.embedding._base import SHARED_CONSTRAINTS  # noqa: E402
from sklearn_clmle.embedding.training.distributed import SingleProcess  # noqa: E402
from sklearn_clmle.embedding.training.engine import OPTIMIZERS, extract  # noqa: E402


def test_optimizer_spec_is_the_class_and_arguments_skorch_takes():
    assert OptimizerSpec("sgd", 0.5, 0.01).torch_class() == (
        torch.optim.SGD, {"weight_decay": 0.01, "momentum": 0.9})
    assert OptimizerSpec("adamw", 0.5, 0.0).torch_class() == (
        torch.optim.AdamW, {"weight_decay": 0.0})
    assert OptimizerSpec(torch.optim.Adagrad, 0.1, 0.2).torch_class() == (
        torch.optim.Adagrad, {"weight_decay": 0.2})
    # one table of the optimizer parameter's names, the constraint's options
    assert set(OPTIMIZERS) == SHARED_CONSTRAINTS["optimizer"][0].options
    assert "__call__" not in vars(OptimizerSpec)  # skorch builds the optimiser


def test_per_class_clustering_is_cluster_per_class_with_its_size():
    rng_data = np.random.RandomState(0)
    F = rng_data.normal(size=(60, 4))
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    y = np.repeat([0, 1, 2], 20)
    got = PerClassClustering(7)(F, y, np.random.RandomState(1))
    want = cluster_per_class(F, y, 7, np.random.RandomState(1), init="k-means++",
                             max_iter=20)
    assert len(got) == 3
    for g, w in zip(got, want[:3]):
        np.testing.assert_array_equal(g, w)


def test_classes_clustered_in_any_order_give_the_serial_clustering():
    # a data-parallel fit clusters its ranks' shares of the classes: the
    # seeds are drawn first, in class order, so the order in which the
    # classes are clustered changes nothing, nor does the random state left
    rng_data = np.random.RandomState(0)
    F = rng_data.normal(size=(150, 4))
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    y = np.repeat([0, 1, 2, 3], [70, 40, 25, 15])
    seen = []

    def backwards(fn, tasks, costs):
        seen.append(list(costs))
        return [fn(t) for t in tasks[::-1]][::-1]

    for previous in (None, np.arange(150) % 3):
        rng_a, rng_b = np.random.RandomState(1), np.random.RandomState(1)
        want = cluster_per_class(F, y, 20, rng_a, previous=previous)
        got = PerClassClustering(20)(F, y, rng_b, previous=previous,
                                     map_tasks=backwards)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        assert rng_a.randint(10**9) == rng_b.randint(10**9)
    # cost of a class: its rows x its clusters (70 // 20 = 3 clusters ...)
    assert seen[0] == [70 * 3, 40 * 2, 25 * 1, 15 * 1]


def test_share_of_the_tasks_balances_their_costs():
    from sklearn_clmle.embedding.training.distributed import _share

    # the costliest first, each to the least loaded rank (lowest on a tie)
    shares = _share([5, 1, 4, 2, 3], 2)
    # 5 -> r0; 4 -> r1; 3 -> r1 (4 < 5); 2 -> r0 (5 < 7); 1 -> r0 (7 = 7, lowest)
    assert shares == [[0, 1, 3], [2, 4]]
    assert _share([1, 1, 1], 4) == [[0], [1], [2], []]
    assert _share([], 2) == [[], []]


def test_cluster_rounds_run_on_hand_built_parts():
    """No estimator anywhere: a net, two losses' worth of settings and a
    sampler factory go in, a history comes out, and the parts are used as
    given (the rounds and steps, the sampler's batch shape)."""
    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    X = torch.from_numpy(rng.normal(size=(48, 5)).astype(np.float32))
    Y = np.repeat([0, 1, 2], 16)[:, None]
    net = EmbeddingNet(MLP(5, (8,)), 8, 4, 1, (5,))
    created = []

    def batches(cluster_of, classes, centroids):
        s = ClusterBatchSampler(cluster_of, classes, centroids, 3, 4, "hardest")
        created.append(s)
        return s

    optimizer = OptimizerSpec("adam", 1e-2, 0.0)
    model = SoftmaxModel(net, softmax_classifiers(Y, 4, False))
    softmax = SoftmaxTerm(Y, False, "logit_adjusted")
    dp = SingleProcess("cpu")
    warmup = warmup_phase(model, softmax, 1, 16, rng)  # 1 epoch, batch 16
    sampler = RoundBatches(3, rng, "cluster")  # 3 steps a round
    start = RoundStart("cluster", sampler, PerClassClustering(8), batches, net,
                       X, Y, dp, 64)
    criterion = ClusterCriterion([ClusterLoss(0.2, 0.05, 16.0, True)], sampler,
                                 softmax, 1.0)
    rounds = round_phase(criterion, sampler, start, dp, 2, model)  # 2 rounds
    history, _ = train(X, Y, "cpu", dp, warmup=warmup, rounds=rounds,
                       optimizer=optimizer)
    assert isinstance(history, History)
    assert history[:, "phase"] == ["warmup", "cluster", "cluster"]
    assert [len(r["step_loss"]) for r in history[1:]] == [3, 3]
    assert len(created) == 2  # one sampler a round
    assert history[1:, "n_clusters"] == [[6], [6]]  # 16 // 8 = 2 a class
    assert np.all(np.isfinite(history[:, "train_loss"]))


def test_one_batched_forward_for_embeddings_logits_and_features():
    # extract serves the embedders (default: unit-norm heads side by side)
    # and LongTailNetClassifier's predictions (any output of a batch)
    torch.manual_seed(0)
    X = np.random.RandomState(0).normal(size=(7, 5))
    net = HeadNet(MLP(5, (6,)), 6, 3, (5,), cosine=False).train()
    Xt = torch.from_numpy(X.astype(np.float32))
    with torch.no_grad():
        logits = net.eval()(Xt).numpy()
        feats = net.features(Xt).numpy()
    net.train()
    got = extract(net, X, 3, "cpu", output=lambda m, xb: 2 * m(xb), width=3)
    np.testing.assert_allclose(got, 2 * logits, rtol=1e-6)
    got = extract(net, X, 4, "cpu", output=lambda m, xb: m.features(xb), width=6)
    np.testing.assert_allclose(got, feats, rtol=1e-6)
    assert net.training  # its mode restored
    assert extract(net, X[:0], 4, "cpu", output=lambda m, xb: m(xb), width=3).shape == (0, 3)
    emb = EmbeddingNet(MLP(5, (6,)), 6, 2, 2, (5,))
    Z = extract(emb, X, 3, "cpu")
    assert Z.shape == (7, 4)
    np.testing.assert_allclose(np.linalg.norm(Z.reshape(7, 2, 2), axis=2), 1, rtol=1e-5)
