"""Batch construction: query class, hardest cluster, retrieval, member draws."""

import numpy as np
import pytest

from sklearn_clmle.utils._samplers import ClassBalancedBatchSampler, ClusterBatchSampler


def _angles(*deg):
    a = np.deg2rad(deg)
    return np.c_[np.cos(a), np.sin(a)]


def _line_sampler(M=3, n_per=2, query="hardest"):
    # Six clusters of 3 members on a circle; classes 0,0,1,1,2,2 at angles
    # 0,8,20,30,100,110 degrees.
    centroids = _angles(0, 8, 20, 30, 100, 110)
    cluster_classes = np.array([0, 0, 1, 1, 2, 2])
    cluster_of = np.repeat(np.arange(6), 3)
    return ClusterBatchSampler(cluster_of, cluster_classes, centroids, M, n_per, query)


def test_retrieve_nearest_by_centroid_similarity():
    s = _line_sampler(M=3)
    # Query cluster 1 (8 deg): nearest are 0 (8 deg away) and 2 (12 deg);
    # cluster 0 is same-class, cluster 2 other-class, so no forced swap.
    assert s.retrieve(1).tolist() == [1, 0, 2]
    # Query 4 (100 deg, class 2): nearest 5 (same class) then 3 (30 deg).
    assert s.retrieve(4).tolist() == [4, 5, 3]


def test_retrieve_forces_other_class():
    # Query 0 with M=2: nearest is 1 (same class), but an other-class cluster
    # is required: the slot goes to the nearest other-class cluster, 2.
    s = _line_sampler(M=2)
    assert s.retrieve(0).tolist() == [0, 2]


def test_retrieve_forces_same_class():
    # Clusters: class 0 at 0 and 90 deg, class 1 at 5, 10, 15 deg.
    centroids = _angles(0, 90, 5, 10, 15)
    s = ClusterBatchSampler(np.arange(5), np.array([0, 0, 1, 1, 1]), centroids, 3, 1)
    # Nearest two to cluster 0 are 2 and 3 (both class 1): the same-class
    # cluster 1 takes the place of the farther one (required clusters first).
    assert s.retrieve(0).tolist() == [0, 1, 2]


def test_retrieve_uses_all_clusters_when_fewer_than_M():
    s = _line_sampler(M=50)
    assert sorted(s.retrieve(2).tolist()) == list(range(6))
    assert s.retrieve(2)[0] == 2


def test_hardest_query_cluster_from_cache():
    s = _line_sampler(M=3, n_per=2)
    # Before any loss is seen every cluster ties (infinite); afterwards,
    # unseen members count as the highest loss seen.
    s.update(np.arange(18), np.r_[[1.0] * 3, [5.0] * 3, np.zeros(12)])
    np.testing.assert_allclose(s.cluster_scores(), [1, 5, 0, 0, 0, 0])
    rng = np.random.RandomState(0)
    picks = {c: set() for c in range(3)}
    for _ in range(200):
        q = s.query_cluster(rng)
        picks[s.cluster_classes[q]].add(q)
    # Class 0 always yields its highest-loss cluster 1; classes 1 and 2 tie
    # at zero and both of their clusters are drawn.
    assert picks[0] == {1}
    assert picks[1] == {2, 3} and picks[2] == {4, 5}


def test_unseen_members_count_as_highest_loss():
    s = _line_sampler()
    s.update([0, 3], [2.0, 0.5])  # one member of cluster 0 and of cluster 1
    # max seen = 2: cluster 0 = (2 + 2*2)/3 = 2, cluster 1 = (0.5 + 2*2)/3 = 1.5,
    # untouched clusters = 2.
    np.testing.assert_allclose(s.cluster_scores()[:3], [2.0, 1.5, 2.0])
    # A sample drawn twice keeps its last loss; updating replaces old values.
    s.update([0, 0], [9.0, 1.0])
    assert s.cached[0] == 1.0
    assert s.loss_sum[0] == pytest.approx(1.0) and s.n_seen[0] == 1


def test_uniform_query_ignores_cache():
    s = _line_sampler(query="uniform")
    s.update(np.arange(18), np.r_[[1.0] * 3, [5.0] * 3, np.zeros(12)])
    rng = np.random.RandomState(0)
    got = {s.query_cluster(rng) for _ in range(300)}
    assert got == set(range(6))


def test_classes_drawn_uniformly_not_by_size():
    # Class 0 has 9 clusters, class 1 has one: queries are still half/half.
    cluster_classes = np.r_[np.zeros(9, int), 1]
    centroids = _angles(*range(0, 100, 10))
    s = ClusterBatchSampler(np.arange(10), cluster_classes, centroids, 2, 1, "uniform")
    rng = np.random.RandomState(0)
    q = np.array([s.query_cluster(rng) for _ in range(2000)])
    frac = np.mean(cluster_classes[q] == 1)
    assert 0.45 < frac < 0.55


def test_sample_members_and_layout():
    s = _line_sampler(M=3, n_per=2)
    indices, batch_clusters, clusters = s.sample(np.random.RandomState(0))
    assert indices.shape == (6,) and batch_clusters.tolist() == [0, 0, 1, 1, 2, 2]
    # Every sample belongs to the cluster its position says, without repeats
    # (clusters have 3 members >= 2 per cluster).
    assert np.all(s.cluster_of[indices] == clusters[batch_clusters])
    for j in range(3):
        assert len(set(indices[batch_clusters == j])) == 2


def test_small_cluster_sampled_with_replacement():
    # Cluster 1 has a single member: it is drawn n_per times.
    cluster_of = np.r_[np.zeros(5, int), 1]
    s = ClusterBatchSampler(cluster_of, np.array([0, 1]), _angles(0, 90), 2, 4)
    indices, batch_clusters, clusters = s.sample(np.random.RandomState(0))
    small = indices[clusters[batch_clusters] == 1]
    assert small.tolist() == [5, 5, 5, 5]
    big = indices[clusters[batch_clusters] == 0]
    assert len(set(big.tolist())) == 4


def test_deterministic_for_a_seed():
    a = _line_sampler().sample(np.random.RandomState(3))
    b = _line_sampler().sample(np.random.RandomState(3))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_bad_query_and_empty_cluster():
    with pytest.raises(ValueError, match="query='worst'"):
        _line_sampler(query="worst")
    with pytest.raises(ValueError, match="at least one member"):
        ClusterBatchSampler(np.array([0, 0]), np.array([0, 1]), _angles(0, 90), 2, 1)


# -- ClassBalancedBatchSampler (P x K batches of the triplet baseline) --------


def test_class_balanced_batches_are_p_classes_of_k():
    y = np.repeat([5, 7, 9, 11], [20, 10, 4, 1])
    s = ClassBalancedBatchSampler(y, n_classes_per_batch=3, n_per_class=6)
    rng = np.random.RandomState(0)
    seen = set()
    for _ in range(50):
        idx = s.sample(rng)
        assert idx.shape == (18,)
        blocks = y[idx].reshape(3, 6)
        # each block of K is one class, and the P classes are distinct
        assert np.all(blocks == blocks[:, :1])
        assert len(set(blocks[:, 0])) == 3
        for block_idx, c in zip(idx.reshape(3, 6), blocks[:, 0]):
            if c in (5, 7):  # classes with >= K members: no repeats
                assert len(set(block_idx)) == 6
        seen.update(blocks[:, 0].tolist())
    assert seen == {5, 7, 9, 11}


def test_class_balanced_small_classes_with_replacement_and_uniform_classes():
    y = np.repeat([0, 1, 2], [100, 3, 1])
    s = ClassBalancedBatchSampler(y, n_classes_per_batch=5, n_per_class=4)
    rng = np.random.RandomState(0)
    idx = s.sample(rng)
    # fewer classes than P: all of them
    assert sorted(set(y[idx])) == [0, 1, 2] and idx.shape == (12,)
    assert set(idx[y[idx] == 2]) == {103}
    assert set(idx[y[idx] == 1]) <= {100, 101, 102}
    # with P=1, every class is drawn about as often (not by frequency)
    s = ClassBalancedBatchSampler(y, n_classes_per_batch=1, n_per_class=2)
    counts = np.bincount([y[s.sample(rng)][0] for _ in range(3000)], minlength=3)
    np.testing.assert_allclose(counts / 3000, 1 / 3, atol=0.04)


def test_class_balanced_is_deterministic_for_a_seed():
    y = np.repeat([0, 1, 2], [10, 5, 8])
    s = ClassBalancedBatchSampler(y, 2, 3)
    a = [s.sample(np.random.RandomState(3)) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
