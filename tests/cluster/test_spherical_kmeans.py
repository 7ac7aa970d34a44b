import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_clmle import SphericalKMeans
from sklearn_clmle.cluster import _spherical_kmeans_core as core


def circle(angles):
    angles = np.asarray(angles, dtype=float)
    return np.c_[np.cos(angles), np.sin(angles)]


def random_sphere(n, d, seed=0, dtype=np.float64):
    X = np.random.default_rng(seed).normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_points_on_a_circle_hand_worked(dtype):
    # two groups of three points, symmetric around angles 0.2 and pi/2 + 0.2
    X = circle([0.0, 0.2, 0.4, np.pi / 2, np.pi / 2 + 0.2, np.pi / 2 + 0.4])
    X = (X * np.array([[1], [2], [3], [0.5], [1], [4]])).astype(dtype)  # scale-free
    init = circle([0.1, np.pi / 2 + 0.1])
    km = SphericalKMeans(n_clusters=2, init=init).fit(X)
    assert_array_equal(km.labels_, [0, 0, 0, 1, 1, 1])
    expected = circle([0.2, np.pi / 2 + 0.2])
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(km.cluster_centers_, expected, rtol=rtol, atol=rtol)
    # each group: 1 - cos(0.2) twice, 0 once
    assert km.inertia_ == pytest.approx(4 * (1 - np.cos(0.2)), rel=1e-4)
    assert km.cluster_centers_.dtype == dtype
    assert km.transform(X).dtype == dtype


def test_weighted_centroid_hand_worked():
    X = circle([0.0, 0.4])
    km = SphericalKMeans(n_clusters=1).fit(X, sample_weight=[1.0, 3.0])
    direction = np.array([1 + 3 * np.cos(0.4), 3 * np.sin(0.4)])
    assert_allclose(km.cluster_centers_[0], direction / np.linalg.norm(direction))
    cos = X @ km.cluster_centers_[0]
    assert km.inertia_ == pytest.approx(1 * (1 - cos[0]) + 3 * (1 - cos[1]))


def test_integer_weights_equal_repeated_rows_from_same_init():
    X = random_sphere(40, 3, seed=1)
    w = np.random.default_rng(2).integers(1, 4, size=40)
    init = X[:3]
    a = SphericalKMeans(3, init=init).fit(X, sample_weight=w)
    b = SphericalKMeans(3, init=init).fit(np.repeat(X, w, axis=0))
    assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-12)
    assert a.inertia_ == pytest.approx(b.inertia_)


def test_transform_is_cosine_similarity_and_score_is_minus_inertia():
    X = random_sphere(50, 4) * 3.0
    km = SphericalKMeans(3, random_state=0).fit(X)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    sims = km.transform(X)
    assert_allclose(sims, Xn @ km.cluster_centers_.T)
    assert_allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1.0)
    assert km.score(X) == pytest.approx(-km.inertia_)
    assert km.inertia_ == pytest.approx(np.sum(1 - sims.max(axis=1)))


@pytest.mark.parametrize("init", ["k-means++", "k-means||", "random"])
def test_predict_on_training_data_reproduces_labels(init):
    X = random_sphere(300, 5, seed=3)
    km = SphericalKMeans(7, init=init, random_state=0).fit(X)
    assert_array_equal(km.predict(X), km.labels_)
    assert_array_equal(km.fit_predict(X), km.labels_)


@pytest.mark.parametrize("init", ["auto", "k-means++", "k-means||", "random"])
def test_deterministic_under_random_state(init):
    X = random_sphere(500, 6, seed=4)
    a = SphericalKMeans(9, init=init, random_state=42).fit(X)
    b = SphericalKMeans(9, init=init, random_state=42).fit(X)
    assert_array_equal(a.labels_, b.labels_)
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_finds_separated_clusters():
    rng = np.random.default_rng(0)
    directions = random_sphere(5, 10, seed=5)
    truth = rng.integers(0, 5, size=400)
    X = directions[truth] + 0.05 * rng.normal(size=(400, 10))
    for init in ["k-means++", "k-means||"]:
        labels = SphericalKMeans(5, init=init, random_state=0).fit_predict(X)
        # a perfect match up to a permutation of the cluster indices
        pairs = set(zip(truth.tolist(), labels.tolist()))
        assert len(pairs) == 5, init


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k", [(103, 10), (50, 50), (1000, 7), (64, 1)])
def test_equal_size_guarantee(n, k, dtype):
    X = random_sphere(n, 5, seed=n + k, dtype=dtype)
    km = SphericalKMeans(k, equal_size=True, random_state=0).fit(X)
    sizes = np.bincount(km.labels_, minlength=k)
    assert sizes.sum() == n
    assert sizes.max() - sizes.min() <= 1
    assert km.cluster_centers_.dtype == dtype
    assert_allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1.0, rtol=1e-5)
    # centroids are the normalised means of the balanced clusters
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for c in range(k):
        mean = Xn[km.labels_ == c].mean(axis=0)
        assert_allclose(km.cluster_centers_[c], mean / np.linalg.norm(mean), atol=1e-5)


def test_equal_size_on_long_tailed_clusters():
    # one big group and two small ones: the big one must be split
    rng = np.random.default_rng(0)
    directions = random_sphere(3, 8, seed=7)
    truth = np.repeat([0, 1, 2], [80, 10, 10])
    X = directions[truth] + 0.05 * rng.normal(size=(100, 8))
    km = SphericalKMeans(5, equal_size=True, random_state=0).fit(X)
    sizes = np.bincount(km.labels_, minlength=5)
    assert_array_equal(sizes, [20] * 5)
    # members of one small group never share a cluster with the other one
    assert set(km.labels_[truth == 1]).isdisjoint(km.labels_[truth == 2])


def test_balanced_assign_respects_capacity_and_keeps_feasible_nearest():
    X = random_sphere(200, 4, seed=8)
    centers = random_sphere(6, 4, seed=9)
    nearest, _ = core.assign_nearest(X, centers)
    # capacities equal to the unconstrained sizes: nothing needs to move
    capacity = np.bincount(nearest, minlength=6)
    assert_array_equal(core.balanced_assign(X, centers, capacity), nearest)
    # tight capacities: respected exactly, for any number of candidates
    capacity = core.equal_capacities(200, 6, capacity)
    for t in [1, 2, 6]:
        labels = core.balanced_assign(X, centers, capacity, n_candidates=t)
        assert_array_equal(np.bincount(labels, minlength=6), capacity)


def test_kmeans_parallel_is_close_to_kmeans_plusplus():
    X = random_sphere(3000, 8, seed=10)
    a = SphericalKMeans(40, init="k-means++", random_state=0).fit(X)
    b = SphericalKMeans(40, init="k-means||", random_state=0).fit(X)
    assert b.inertia_ <= 1.05 * a.inertia_


def test_n_init_keeps_the_best_run():
    X = random_sphere(400, 3, seed=11)
    single = [
        SphericalKMeans(8, init="random", n_init=1, random_state=s).fit(X).inertia_
        for s in range(5)
    ]
    best = SphericalKMeans(8, init="random", n_init=5, random_state=0).fit(X)
    assert best.inertia_ <= max(single)


def test_input_is_not_modified():
    X = random_sphere(60, 3) * 2.0
    X_copy = X.copy()
    w = np.ones(60)
    SphericalKMeans(3, equal_size=True, random_state=0).fit(X, sample_weight=w)
    SphericalKMeans(3, random_state=0).fit(X).transform(X)
    assert_array_equal(X, X_copy)
    assert_array_equal(w, np.ones(60))


def test_float32_stays_float32():
    X = random_sphere(100, 4, dtype=np.float32)
    km = SphericalKMeans(3, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(X).dtype == np.float32


def test_feature_names_and_names_out():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(random_sphere(30, 3), columns=["a", "b", "c"])
    km = SphericalKMeans(2, random_state=0).fit(X)
    assert_array_equal(km.feature_names_in_, ["a", "b", "c"])
    assert_array_equal(
        km.get_feature_names_out(), ["sphericalkmeans0", "sphericalkmeans1"]
    )
    out = km.set_output(transform="pandas").transform(X)
    assert list(out.columns) == ["sphericalkmeans0", "sphericalkmeans1"]


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), "all zero.*rows 1"),
        (np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]), "NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0], [1.0, 1.0]]), "infinity"),
    ],
)
def test_bad_values_are_refused(X, match):
    with pytest.raises(ValueError, match=match):
        SphericalKMeans(2).fit(X)


def test_zero_rows_refused_at_predict_too():
    km = SphericalKMeans(2, random_state=0).fit(random_sphere(10, 2))
    with pytest.raises(ValueError, match="all zero"):
        km.predict([[0.0, 0.0]])


@pytest.mark.parametrize("equal_size", [False, True])
def test_too_few_samples(equal_size):
    msg = r"n_samples=3 should be >= n_clusters=4"
    with pytest.raises(ValueError, match=msg):
        SphericalKMeans(4, equal_size=equal_size).fit(random_sphere(3, 2))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"init": "kmeans"}, "init"),
        ({"init": np.ones((3, 2))}, r"init has shape \(3, 2\)"),
        ({"init": np.zeros((2, 2))}, "init has 2 row"),
        ({"tol": -1.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        SphericalKMeans(**{"n_clusters": 2, **params}).fit(random_sphere(10, 2))


def test_negative_sample_weight_refused():
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        SphericalKMeans(2).fit(random_sphere(5, 2), sample_weight=[1, 1, -1, 1, 1])


def test_wrong_feature_count_at_predict():
    km = SphericalKMeans(2, random_state=0).fit(random_sphere(10, 3))
    with pytest.raises(ValueError, match="features"):
        km.predict(random_sphere(4, 2))


def test_works_inside_imblearn_cluster_centroids():
    from imblearn.under_sampling import ClusterCentroids

    X = np.r_[random_sphere(100, 4, seed=1), random_sphere(20, 4, seed=2)]
    y = np.r_[np.zeros(100, int), np.ones(20, int)]
    cc = ClusterCentroids(
        estimator=SphericalKMeans(random_state=0), voting="soft", random_state=0
    )
    X_res, y_res = cc.fit_resample(X, y)
    assert_array_equal(np.bincount(y_res), [20, 20])
    # soft voting returns the unit-norm centroids of the majority class
    assert_allclose(np.linalg.norm(X_res[y_res == 0], axis=1), 1.0)


def test_as_many_clusters_as_samples_is_one_sample_each():
    X = random_sphere(30, 4, seed=12) * 2.0
    km = SphericalKMeans(30, equal_size=True, random_state=0).fit(X)
    assert_array_equal(km.labels_, np.arange(30))
    assert_allclose(km.cluster_centers_, X / 2.0)
    assert km.inertia_ == 0.0


@pytest.mark.parametrize("value", [6e-155, 1e300])
def test_init_array_normalised_before_cast_to_float32(value):
    # Regression (found by hypothesis): a float64 init row of 6e-155 became
    # all-zero in float32 and was refused; 1e300 became infinite.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]], dtype=np.float32)
    init = np.array([[value, 0.0], [0.0, value]])
    km = SphericalKMeans(n_clusters=2, init=init, n_init=1).fit(X)
    assert km.cluster_centers_.dtype == np.float32
    np.testing.assert_allclose(km.cluster_centers_, [[1, 0], [0, 1]], atol=0.1)
    np.testing.assert_array_equal(km.labels_, [0, 1, 0])
    np.testing.assert_array_equal(init, [[value, 0.0], [0.0, value]])
