"""The parts the training loops receive instead of the estimator: the
optimiser spec, the schedule, the per-class clustering and the cluster
rounds run on hand-built parts (no estimator)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skorch.history import History  # noqa: E402

from sklearn_clmle.embedding.losses.cluster import ClusterLoss  # noqa: E402
from sklearn_clmle.embedding.losses.longtail import SoftmaxTerm  # noqa: E402
from sklearn_clmle.embedding.nn.backbones import MLP, EmbeddingNet  # noqa: E402
from sklearn_clmle.embedding.samplers.cluster_batches import (  # noqa: E402
    ClusterBatchSampler,
)
from sklearn_clmle.embedding.samplers.clustering import (  # noqa: E402
    PerClassClustering,
    cluster_per_class,
)
from sklearn_clmle.embedding.training import (  # noqa: E402
    OptimizerSpec,
    Schedule,
    cluster_rounds,
    train,
)
from sklearn_clmle.embedding.training.distributed import SingleProcess  # noqa: E402


def test_optimizer_spec_builds_the_named_optimizer():
    params = [torch.nn.Parameter(torch.zeros(3))]
    opt = OptimizerSpec("sgd", 0.5, 0.01)(params)
    assert isinstance(opt, torch.optim.SGD)
    group = opt.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["momentum"]) == (0.5, 0.01, 0.9)
    assert isinstance(OptimizerSpec(torch.optim.Adagrad, 0.1, 0.0)(params),
                      torch.optim.Adagrad)


def test_per_class_clustering_is_cluster_per_class_with_its_size():
    rng_data = np.random.RandomState(0)
    F = rng_data.normal(size=(60, 4))
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    y = np.repeat([0, 1, 2], 20)
    got = PerClassClustering(7)(F, y, np.random.RandomState(1))
    want = cluster_per_class(F, y, 7, np.random.RandomState(1))
    for g, w in zip(got, want):
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
    given (the schedule's rounds and steps, the sampler's batch shape)."""
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

    schedule = Schedule(1, 16, 2, 3, 64)
    optimizer = OptimizerSpec("adam", 1e-2, 0.0)
    rounds = lambda *a: cluster_rounds(  # noqa: E731
        *a, losses=[ClusterLoss(0.2, 0.05, 16.0, True)],
        cluster=PerClassClustering(8), batches=batches, schedule=schedule,
        softmax_weight=1.0)
    softmax = lambda device: SoftmaxTerm(Y, 4, False, "logit_adjusted", device)  # noqa: E731
    history = train(net, X, Y, "cpu", rng, SingleProcess("cpu"), softmax=softmax,
                    schedule=schedule, rounds=rounds, optimizer=optimizer)
    assert isinstance(history, History)
    assert history[:, "phase"] == ["warmup", "cluster", "cluster"]
    assert [len(r["step_loss"]) for r in history[1:]] == [3, 3]
    assert len(created) == 2  # one sampler a round
    assert history[1:, "n_clusters"] == [[6], [6]]  # 16 // 8 = 2 a class
    assert np.all(np.isfinite(history[:, "train_loss"]))
