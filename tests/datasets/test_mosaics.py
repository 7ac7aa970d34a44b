import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sklearn_clmle.datasets import make_mosaics


def tiny_images():
    # image i is [[10i+1, 10i+2], [10i+3, 10i+4]], of class i
    images = np.array(
        [[[10 * i + 1, 10 * i + 2], [10 * i + 3, 10 * i + 4]] for i in range(4)],
        dtype=np.uint8,
    )
    return images, np.arange(4)


def pixel(t, k):
    """Pixel k = 1..4 (row-major) of tiny image t, 0 for a blank tile."""
    return 0 if t < 0 else 10 * t + k


def synthetic(n_classes=10, n_per_class=5, side=3, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(1, 256, size=(n_classes * n_per_class, side, side))
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return images.astype(np.uint8), labels


def check_y_matches_tiles(Y, tiles, labels, n_attributes):
    for i in range(tiles.shape[0]):
        present = {labels[t] for t in tiles[i] if t >= 0}
        expected = [int(j in present) for j in range(n_attributes)]
        assert Y[i].tolist() == expected


def test_layout_one_by_two_hand_checked():
    images, labels = tiny_images()
    X, Y, tiles = make_mosaics(
        images, labels, n_samples=50, grid=(1, 2), return_tiles=True, random_state=0
    )
    assert X.shape == (50, 8) and X.dtype == np.uint8
    assert Y.shape == (50, 4) and Y.dtype == np.int64
    assert tiles.shape == (50, 2)
    # the 2 x 4 mosaic is [[a1, a2, b1, b2], [a3, a4, b3, b4]], flattened
    for i, (a, b) in enumerate(tiles):
        expected = [pixel(a, 1), pixel(a, 2), pixel(b, 1), pixel(b, 2)]
        expected += [pixel(a, 3), pixel(a, 4), pixel(b, 3), pixel(b, 4)]
        assert X[i].tolist() == expected
    check_y_matches_tiles(Y, tiles, labels, 4)


def test_layout_two_by_one_and_two_by_two():
    images, labels = tiny_images()
    X, _, tiles = make_mosaics(
        images, labels, n_samples=20, grid=(2, 1), return_tiles=True, random_state=1
    )
    # tile 0 on top of tile 1: the flat mosaic is both flat tiles in a row
    for i, (a, b) in enumerate(tiles):
        assert X[i].tolist() == [pixel(a, k) for k in range(1, 5)] + [
            pixel(b, k) for k in range(1, 5)
        ]
    X, _, tiles = make_mosaics(
        images, labels, n_samples=20, grid=(2, 2), return_tiles=True, random_state=2
    )
    p = pixel
    for i, (a, b, c, d) in enumerate(tiles):
        mosaic = X[i].reshape(4, 4)
        assert mosaic[0].tolist() == [p(a, 1), p(a, 2), p(b, 1), p(b, 2)]
        assert mosaic[1].tolist() == [p(a, 3), p(a, 4), p(b, 3), p(b, 4)]
        assert mosaic[2].tolist() == [p(c, 1), p(c, 2), p(d, 1), p(d, 2)]
        assert mosaic[3].tolist() == [p(c, 3), p(c, 4), p(d, 3), p(d, 4)]


def test_rectangular_tiles_layout():
    images = np.arange(3 * 2 * 3, dtype=np.float32).reshape(3, 2, 3)
    X, _, tiles = make_mosaics(
        images, [0, 1, 2], n_samples=10, grid=(2, 3), return_tiles=True, random_state=0
    )
    assert X.shape == (10, 4 * 9) and X.dtype == np.float32
    for i in range(10):
        mosaic = X[i].reshape(4, 9)
        for t in range(6):
            r, c = divmod(t, 3)
            block = mosaic[2 * r : 2 * r + 2, 3 * c : 3 * c + 3]
            src = tiles[i, t]
            assert_array_equal(block, 0 if src < 0 else images[src])


def test_flat_images_give_same_mosaics():
    images, labels = tiny_images()
    kw = dict(n_samples=30, grid=(2, 3), random_state=0, return_tiles=True)
    a = make_mosaics(images, labels, **kw)
    b = make_mosaics(images.reshape(4, 4), labels.tolist(), **kw)
    for u, v in zip(a, b):
        assert_array_equal(u, v)


def test_blank_tiles_only_without_spare_classes():
    images, labels = tiny_images()
    # all 4 classes are attributes: the background is a blank tile
    X, Y, tiles = make_mosaics(
        images, labels, n_samples=200, return_tiles=True, random_state=0
    )
    assert (tiles == -1).any()
    check_y_matches_tiles(Y, tiles, labels, 4)
    # 2 attributes: the background is classes 2 and 3, never blank
    y_str = np.array(["d", "c", "b", "a"])  # sorted: a, b, c, d
    X, Y, tiles = make_mosaics(
        images, y_str, n_samples=200, n_attributes=2, return_tiles=True, random_state=0
    )
    assert (tiles >= 0).all() and Y.shape == (200, 2)
    assert set(np.unique(tiles).tolist()) == {0, 1, 2, 3}
    # attribute 0 is class "a" (image 3), attribute 1 class "b" (image 2)
    assert_array_equal(Y[:, 0], (tiles == 3).any(axis=1))
    assert_array_equal(Y[:, 1], (tiles == 2).any(axis=1))


def test_rates_summing_to_one_fill_every_tile():
    images, labels = tiny_images()
    _, Y, tiles = make_mosaics(
        images[:2],
        labels[:2],
        n_samples=100,
        grid=(1, 1),
        positive_rates=[0.5, 0.5],
        return_tiles=True,
        random_state=0,
    )
    assert (tiles >= 0).all()
    assert_array_equal(Y.sum(axis=1), 1)


def assert_rates_close(Y, targets, n_se=4.0):
    n = Y.shape[0]
    se = np.sqrt(targets * (1 - targets) / n)
    assert np.all(np.abs(Y.mean(axis=0) - targets) < n_se * se), (
        Y.mean(axis=0),
        targets,
    )


@pytest.mark.parametrize(
    "grid, rates, n_attributes",
    [
        ((2, 2), [0.5, 0.2, 0.05, 0.02], 4),  # spare classes as background
        ((1, 1), [0.3, 0.2, 0.1], 3),  # T = 1: q_j = p_j
        ((3, 2), [0.6, 0.4, 0.25, 0.1, 0.05, 0.03, 0.02, 0.02, 0.02, 0.02], 10),
    ],
)
def test_empirical_rates_match_targets(grid, rates, n_attributes):
    images, labels = synthetic()
    _, Y = make_mosaics(
        images,
        labels,
        n_samples=20000,
        grid=grid,
        positive_rates=rates,
        random_state=0,
    )
    assert Y.shape == (20000, n_attributes)
    assert_rates_close(Y, np.array(rates))


def test_default_rates_span_two_to_fifty_percent():
    images, labels = synthetic()
    _, Y = make_mosaics(images, labels, n_samples=20000, random_state=0)
    targets = 0.5 * 0.04 ** (np.arange(10) / 9)  # geometric, 0.5 -> 0.02
    assert targets[0] == 0.5 and np.isclose(targets[-1], 0.02)
    assert_rates_close(Y, targets)
    rates = Y.mean(axis=0)
    assert 0.47 < rates[0] < 0.53 and 0.015 < rates[-1] < 0.025
    # n_attributes alone: the same span over fewer attributes
    _, Y = make_mosaics(images, labels, n_samples=20000, n_attributes=3, random_state=0)
    assert_rates_close(Y, np.array([0.5, 0.1, 0.02]))
    _, Y = make_mosaics(images, labels, n_samples=2000, n_attributes=1, random_state=0)
    assert_rates_close(Y, np.array([0.5]))


def test_deterministic_and_inputs_untouched():
    images, labels = synthetic()
    rates = [0.4, 0.1]
    images0, labels0 = images.copy(), labels.copy()
    kw = dict(n_samples=100, positive_rates=rates, return_tiles=True)
    a = make_mosaics(images, labels, random_state=3, **kw)
    b = make_mosaics(images, labels, random_state=3, **kw)
    c = make_mosaics(images, labels, random_state=4, **kw)
    d = make_mosaics(images, labels, random_state=np.random.RandomState(3), **kw)
    for u, v, w in zip(a, b, d):
        assert_array_equal(u, v)
        assert_array_equal(u, w)
    assert not np.array_equal(a[2], c[2])
    assert_array_equal(images, images0)
    assert_array_equal(labels, labels0)
    assert rates == [0.4, 0.1]
    # blank tiles are written into the output, not the source
    tiny, tiny_labels = tiny_images()
    tiny0 = tiny.copy()
    X = make_mosaics(tiny, tiny_labels, n_samples=100, random_state=0)[0]
    assert (X == 0).any()
    assert_array_equal(tiny, tiny0)
    assert not np.shares_memory(X, tiny)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=0), "n_samples=0 should be an integer >= 1"),
        (dict(grid=(0, 2)), r"grid=\(0, 2\) should be a pair"),
        (dict(grid=(2,)), r"grid=\(2,\) should be a pair"),
        (dict(grid=2), "grid=2 should be a pair"),
        (dict(grid=(1.5, 2)), r"grid=\(1.5, 2\) should be a pair"),
        (
            dict(positive_rates=[0.5, 0.0]),
            r"positive_rates\[1\]=0.0 should be .* \(0, 1\)",
        ),
        (dict(positive_rates=[1.0]), r"positive_rates\[0\]=1.0 should be"),
        (dict(positive_rates=[np.nan]), r"positive_rates\[0\]=nan should be"),
        (dict(positive_rates=[-0.1]), r"positive_rates\[0\]=-0.1 should be"),
        (dict(positive_rates=[]), r"non-empty 1d array .* shape \(0,\)"),
        (dict(positive_rates=[[0.1, 0.2]]), r"non-empty 1d array .* shape \(1, 2\)"),
        (dict(positive_rates=["x"]), r"positive_rates=\['x'\] should be a 1d array"),
        (
            dict(n_attributes=0),
            r"n_attributes=0 should be an integer in \[1, n_classes=4\]",
        ),
        (dict(n_attributes=5), r"n_attributes=5 should be .* \[1, n_classes=4\]"),
        (dict(n_attributes=1.0), r"n_attributes=1.0 should be an integer"),
        (
            dict(positive_rates=[0.2, 0.1], n_attributes=3),
            "one rate per attribute; got 2 rates for n_attributes=3",
        ),
        (
            dict(positive_rates=[0.6, 0.6], grid=(1, 1)),
            r"cannot be reached with T=1 tiles .* add up to 1.2 > 1",
        ),
    ],
)
def test_errors(kwargs, match):
    images, labels = tiny_images()
    with pytest.raises(ValueError, match=match):
        make_mosaics(images, labels, **kwargs)


def test_too_many_default_attributes_for_one_tile():
    tiny, tiny_labels = tiny_images()  # 0.5 + 0.17 + 0.058 + 0.02 < 1: accepted
    X = make_mosaics(tiny, tiny_labels, n_samples=5, grid=(1, 1), random_state=0)[0]
    assert X.shape == (5, 4)
    images, labels = synthetic()  # 10 default rates add up to about 1.6
    with pytest.raises(ValueError, match=r"T=1 tiles .* larger grid"):
        make_mosaics(images, labels, grid=(1, 1))


def test_shape_errors():
    images, labels = tiny_images()
    with pytest.raises(ValueError, match="same number of samples; got 4 and 3"):
        make_mosaics(images, labels[:3])
    with pytest.raises(ValueError, match="square number of pixels .* got 5 pixels"):
        make_mosaics(np.zeros((4, 5)), labels)
    with pytest.raises(ValueError, match=r"\(n_images, h, w\) .* shape \(4,\)"):
        make_mosaics(np.zeros(4), labels)
    with pytest.raises(ValueError, match=r"got an array of shape \(4, 1, 2, 2\)"):
        make_mosaics(images[:, None], labels)
    with pytest.raises(ValueError, match=r"labels should be a 1d .* shape \(4, 1\)"):
        make_mosaics(images, labels[:, None])
    with pytest.raises(ValueError, match="at least one image"):
        make_mosaics(np.zeros((0, 2, 2)), [])
