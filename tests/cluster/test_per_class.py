"""The one per-class equal-size clustering (``cluster._per_class``), used by
the embedders' training loops and by ``KNearestClusterClassifier``."""

import subprocess
import sys

import numpy as np
import pytest

from sklearn_clmle import KNearestClusterClassifier
from sklearn_clmle.cluster._per_class import PerClassClustering, cluster_per_class
from sklearn_clmle.utils._validation import normalize_rows


def _unit(n, seed=0, dim=3):
    X = np.random.RandomState(seed).normal(size=(n, dim))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_classes_split_into_equal_size_clusters_in_class_order():
    X = _unit(10)
    y = np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 0])  # class 0: 4 rows, class 1: 6
    out = cluster_per_class(X, y, 3, np.random.RandomState(0))
    # class 0: max(1, 4 // 3) = 1 cluster, class 1: 6 // 3 = 2 clusters
    assert out.cluster_classes.tolist() == [0, 1, 1]
    assert out.sizes.tolist() == [4, 3, 3]
    assert set(out.labels[y == 0]) == {0} and set(out.labels[y == 1]) == {1, 2}
    np.testing.assert_array_equal(np.bincount(out.labels), out.sizes)
    np.testing.assert_allclose(np.linalg.norm(out.centers, axis=1), 1)
    # the single cluster of class 0 is the mean direction of its rows
    mean = X[y == 0].mean(axis=0)
    np.testing.assert_allclose(out.centers[0], mean / np.linalg.norm(mean))


def test_samples_as_clusters_when_the_size_is_one():
    X = _unit(5)
    y = np.array([0, 0, 1, 1, 1])
    rng = np.random.RandomState(0)
    out = cluster_per_class(X, y, 1, rng)
    np.testing.assert_array_equal(out.centers, X[[0, 1, 2, 3, 4]])
    assert out.labels.tolist() == [0, 1, 2, 3, 4]
    assert out.sizes.tolist() == [1] * 5
    # no k-means ran, so no seed was drawn
    assert rng.randint(100) == np.random.RandomState(0).randint(100)


def test_seeds_are_drawn_for_the_k_means_runs_only():
    X = _unit(30, seed=4)
    y = np.repeat([0, 1, 2], [4, 20, 6])  # size 5: 1 cluster, 4, 1
    rng = np.random.RandomState(0)
    cluster_per_class(X, y, 5, rng)
    ref = np.random.RandomState(0)
    ref.randint(np.iinfo(np.int32).max)  # class 1's seed only
    assert rng.randint(1000) == ref.randint(1000)


def test_both_callers_get_exactly_its_clusters():
    X = _unit(60, seed=1)
    y = np.repeat([0, 1, 2], [30, 20, 10])
    # the training loops: k-means++, 20 iterations, the triple they use
    got = PerClassClustering(7)(X.astype(np.float32), y, np.random.RandomState(3))
    want = cluster_per_class(X.astype(np.float32), y, 7, np.random.RandomState(3),
                             init="k-means++", max_iter=20)
    for g, w in zip(got, want[:3]):
        np.testing.assert_array_equal(g, w)
    # the classifier (no "auto" setting: its random state only seeds this)
    clf = KNearestClusterClassifier(3, cluster_size=7, scale=8.0, aggregate="min",
                                    prior_correction=0.0, head="none",
                                    random_state=0).fit(X, y)
    want = cluster_per_class(normalize_rows(X), y, 7, np.random.RandomState(0))
    np.testing.assert_array_equal(clf.cluster_centers_, want.centers)
    np.testing.assert_array_equal(clf.cluster_sizes_, want.sizes)
    np.testing.assert_array_equal(clf.cluster_classes_, want.cluster_classes)


@pytest.mark.parametrize("size", [6, 1])
def test_tasks_mapped_elsewhere_give_the_same_clusters(size):
    # a data-parallel fit shares the classes' k-means runs among its ranks
    X = _unit(40, seed=2)
    y = np.repeat([0, 1, 2], [20, 15, 5])
    seen = []

    def map_tasks(fn, tasks, costs):
        seen.append(costs)
        return [fn(t) for t in reversed(tasks)][::-1]

    a = cluster_per_class(X, y, size, np.random.RandomState(0))
    b = cluster_per_class(X, y, size, np.random.RandomState(0), map_tasks=map_tasks)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    counts = np.array([20, 15, 5])
    assert seen == [(counts * np.maximum(1, counts // size)).tolist()]  # n_c * k


@pytest.mark.parametrize("module", ["sklearn_clmle.cluster._per_class",
                                    "sklearn_clmle.utils._samplers",
                                    "sklearn_clmle.utils._targets"])
def test_the_numpy_parts_of_training_import_without_torch(module):
    code = (f"import {module}\nimport sys\n"
            "bad = sorted(m for m in ('torch', 'skorch') if m in sys.modules)\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
