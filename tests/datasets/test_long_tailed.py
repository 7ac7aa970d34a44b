import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from sklearn_clmle.datasets import long_tailed_sizes, make_long_tailed


def balanced(n_per_class=50, n_classes=3, n_features=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_per_class * n_classes, n_features))
    y = np.tile(np.arange(n_classes), n_per_class)  # classes interleaved
    return X, y


def test_exponential_sizes_hand_worked():
    # 1000 * 100 ** (-c / 2): 1000, 100, 10
    assert long_tailed_sizes(3, imbalance_ratio=100, n_max=1000).tolist() == [
        1000,
        100,
        10,
    ]
    # rounded down: 100 * 10 ** (-1/3) = 46.4, 100 * 10 ** (-2/3) = 21.5
    assert long_tailed_sizes(4, imbalance_ratio=10, n_max=100).tolist() == [
        100,
        46,
        21,
        10,
    ]


@pytest.mark.parametrize("rho, total", [(10, 20431), (100, 12406)])
def test_fashion_mnist_totals_of_the_design_notes(rho, total):
    sizes = long_tailed_sizes(10, imbalance_ratio=rho, n_max=5000)
    assert sizes.sum() == total
    assert sizes[0] == 5000 and sizes[-1] == 5000 // rho


def test_power_law_is_pure_power_law_when_ratio_is_c_to_gamma():
    # rho = C ** gamma gives b = 0, so f(c) = n_max * c ** -gamma
    sizes = long_tailed_sizes(
        4, imbalance_ratio=16, profile="power_law", n_max=1600, gamma=2.0
    )
    assert sizes.tolist() == [1600, 400, 177, 100]


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0])
def test_power_law_ends_and_monotone(gamma):
    sizes = long_tailed_sizes(
        10, imbalance_ratio=20, profile="power_law", n_max=1000, gamma=gamma
    )
    assert sizes[0] == 1000 and sizes[-1] == 50
    assert np.all(np.diff(sizes) <= 0)
    # a, b from f(1) = L_max, f(C) = L_min, compared with the closed form
    b = (50 * 10**gamma - 1000) / (1000 - 50)
    a = 1000 * (1 + b)
    expected = np.floor(a / (np.arange(1, 11) ** gamma + b) + 1e-9)
    assert_array_equal(sizes, expected)


def test_power_law_smaller_gamma_is_more_imbalanced():
    kw = dict(imbalance_ratio=100, profile="power_law", n_max=5000)
    totals = [long_tailed_sizes(10, gamma=g, **kw).sum() for g in (0.5, 1.0)]
    assert totals[0] < totals[1]


def test_make_long_tailed_counts_order_and_subset():
    X, y = balanced()
    X_lt, y_lt, idx = make_long_tailed(
        X, y, imbalance_ratio=25, random_state=0, return_indices=True
    )
    assert np.bincount(y_lt).tolist() == [50, 10, 2]
    assert np.all(np.diff(idx) > 0)  # original order kept
    assert_array_equal(X_lt, X[idx])
    assert_array_equal(y_lt, y[idx])


def test_head_is_first_label_in_sorted_order():
    X, _ = balanced(n_per_class=20, n_classes=3)
    y = np.repeat(np.array(["c", "a", "b"]), 20)
    _, y_lt = make_long_tailed(X, y, imbalance_ratio=4, random_state=0)
    labels, counts = np.unique(y_lt, return_counts=True)
    assert labels.tolist() == ["a", "b", "c"]
    assert counts.tolist() == [20, 10, 5]


def test_deterministic_and_input_untouched():
    X, y = balanced()
    X0, y0 = X.copy(), y.copy()
    a = make_long_tailed(X, y, random_state=3, return_indices=True)[2]
    b = make_long_tailed(X, y, random_state=3, return_indices=True)[2]
    c = make_long_tailed(X, y, random_state=4, return_indices=True)[2]
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert_array_equal(X, X0)
    assert_array_equal(y, y0)


def test_dataframe_stays_dataframe():
    X, y = balanced()
    df = pd.DataFrame(X, columns=["u", "v"], index=np.arange(100, 250))
    ys = pd.Series(y, index=df.index)
    X_lt, y_lt, idx = make_long_tailed(
        df, ys, imbalance_ratio=5, random_state=0, return_indices=True
    )
    assert isinstance(X_lt, pd.DataFrame) and isinstance(y_lt, pd.Series)
    assert list(X_lt.columns) == ["u", "v"]
    assert_array_equal(X_lt.index, df.index[idx])
    assert_array_equal(X_lt.to_numpy(), X[idx])


def test_images_keep_their_shape():
    images = np.arange(30 * 4 * 4, dtype=np.uint8).reshape(30, 4, 4)
    y = np.repeat([0, 1, 2], 10)
    X_lt, y_lt, idx = make_long_tailed(
        images, y, imbalance_ratio=10, return_indices=True, random_state=0
    )
    assert X_lt.shape == (10 + 3 + 1, 4, 4) and X_lt.dtype == np.uint8
    assert_array_equal(X_lt, images[idx])


def test_default_n_max_is_smallest_class():
    X = np.zeros((60, 1))
    y = np.repeat([0, 1, 2], [30, 20, 10])
    _, y_lt = make_long_tailed(X, y, imbalance_ratio=1, random_state=0)
    assert np.bincount(y_lt).tolist() == [10, 10, 10]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(imbalance_ratio=0.5), "imbalance_ratio=0.5 should be"),
        (dict(imbalance_ratio=np.nan), "imbalance_ratio=nan"),
        (dict(profile="linear"), "profile='linear' is not supported"),
        (dict(profile="power_law", gamma=0), "gamma=0 should be"),
        (dict(n_max=0), "n_max=0 should be an integer >= 1"),
        (dict(n_max=51), "class 0 .* has 50 samples, fewer than its quota of 51"),
    ],
)
def test_errors(kwargs, match):
    X, y = balanced()
    with pytest.raises(ValueError, match=match):
        make_long_tailed(X, y, **kwargs)


def test_error_class_too_small_for_its_position():
    # the first (head) label must supply n_max, however small the class is
    X = np.zeros((25, 1))
    y = np.repeat([0, 1], [5, 20])
    make_long_tailed(X, y, imbalance_ratio=2, n_max=5)
    with pytest.raises(ValueError, match="class 0 .* fewer than its quota of 10"):
        make_long_tailed(X, y, imbalance_ratio=2, n_max=10)


def test_error_shapes_and_single_class():
    with pytest.raises(ValueError, match="same number of samples"):
        make_long_tailed(np.zeros((4, 1)), [0, 1, 0])
    with pytest.raises(ValueError, match="at least two classes"):
        make_long_tailed(np.zeros((4, 1)), [0, 0, 0, 0])
    with pytest.raises(ValueError, match="target type 'continuous'"):
        make_long_tailed(np.zeros((3, 1)), [0.5, 1.5, 2.5])


def test_sparse_and_list_input():
    from scipy import sparse

    X, y = balanced(n_per_class=10)
    X_lt, _, idx = make_long_tailed(
        sparse.csr_matrix(X), y, imbalance_ratio=2, return_indices=True, random_state=0
    )
    assert sparse.issparse(X_lt)
    assert_array_equal(X_lt.toarray(), X[idx])
    X_lt, y_lt = make_long_tailed(X.tolist(), y.tolist(), random_state=0)
    assert isinstance(X_lt, np.ndarray) and X_lt.shape[1] == 2
