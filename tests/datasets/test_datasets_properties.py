"""Property-based hardening tests of every public function of
``sklearn_clmle.datasets``: ``long_tailed_sizes`` and ``make_long_tailed``
over profiles and parameters at and past their bounds, labels of every kind
and container (numpy, list, Series, categorical, sparse, images);
``make_mosaics`` over image dtypes, grids and rates; the file loaders
(``load_fashion_mnist``, ``load_keel``) over corrupted files;
``load_font_glyphs`` over its rendering and size parameters.

Accepted input gives output of the documented shape and counts; refused
input raises ``ValueError``/``TypeError`` naming the parameter; inputs are
never modified.

Bugs these found, fixed since (regressions at the end):
``long_tailed_sizes`` returned ``[1, 1, 1]`` silently for a power law with a
large ``gamma`` or ``imbalance_ratio`` (``c ** gamma`` overflowed to NaN)
and for ``n_max >= 2**63`` (int64 overflow); missing labels and labels of
mixed types failed inside scikit-learn or numpy (``make_long_tailed``,
``make_mosaics``); ragged ``X`` failed inside numpy; ``make_mosaics``
accepted string or object images and string rates.
"""

import gzip
import struct

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import sparse

from sklearn_clmle.datasets import (
    load_fashion_mnist,
    load_font_glyphs,
    load_keel,
    long_tailed_sizes,
    make_long_tailed,
    make_mosaics,
)
from sklearn_clmle.datasets._fashion_mnist import _read_idx
from tests._strategies import FAST, assert_unchanged, labels, snapshot

MANY = settings(FAST, max_examples=80)
SLOW = settings(FAST, max_examples=400)


# -- long_tailed_sizes --------------------------------------------------------


def expected_tail(n_max, rho):
    return max(1, int(np.floor(n_max / rho + 1e-9)))


@MANY
@given(n_classes=st.integers(1, 60), n_max=st.integers(1, 2**53),
       rho=st.one_of(st.floats(1, 1e15), st.just(1e308), st.integers(1, 10**6)),
       profile=st.sampled_from(["exponential", "power_law"]),
       gamma=st.one_of(st.floats(1e-12, 1e4), st.just(1e300)))
def test_long_tailed_sizes_properties(n_classes, n_max, rho, profile, gamma):
    sizes = long_tailed_sizes(n_classes, imbalance_ratio=rho, profile=profile,
                              n_max=n_max, gamma=gamma)
    assert sizes.shape == (n_classes,) and sizes.dtype == np.int64
    assert np.all(sizes >= 1) and np.all(np.diff(sizes) <= 0)
    if n_max < 2**50:  # float64 quotas are exact
        assert sizes[0] == n_max
        if n_classes > 1:
            assert abs(sizes[-1] - expected_tail(n_max, rho)) <= 1


BAD_SIZES = [
    (dict(n_classes=0), r"n_classes=0"),
    (dict(n_classes=2.0), r"n_classes=2.0"),
    (dict(n_classes=True), r"n_classes=True"),
    (dict(n_max=0), r"n_max=0"),
    (dict(n_max=2**53 + 1), r"n_max=9007199254740993"),
    (dict(n_max=10**30), r"n_max=10{30}"),
    (dict(n_max=5.5), r"n_max=5.5"),
    (dict(imbalance_ratio=0.5), r"imbalance_ratio=0.5"),
    (dict(imbalance_ratio=np.inf), r"imbalance_ratio=inf"),
    (dict(imbalance_ratio=np.nan), r"imbalance_ratio=nan"),
    (dict(imbalance_ratio="10"), r"imbalance_ratio='10'"),
    (dict(imbalance_ratio=True), r"imbalance_ratio=True"),
    (dict(gamma=0), r"gamma=0"),
    (dict(gamma=-1.0), r"gamma=-1.0"),
    (dict(gamma=np.inf), r"gamma=inf"),
    (dict(profile="linear"), r"profile='linear'"),
    (dict(profile=None), r"profile=None"),
]


@MANY
@given(bad=st.sampled_from(BAD_SIZES))
def test_long_tailed_sizes_refuses_bad_parameters(bad):
    kwargs, msg = bad
    kwargs = {"n_classes": 3, "n_max": 100, **kwargs}
    n_classes = kwargs.pop("n_classes")
    with pytest.raises(ValueError, match=msg):
        long_tailed_sizes(n_classes, **kwargs)


# -- make_long_tailed ---------------------------------------------------------


CONTAINERS = ["numpy", "list", "dataframe", "sparse", "images"]
Y_CONTAINERS = ["numpy", "list", "series", "categorical"]


def x_container(X, kind):
    if kind == "list":
        return X.tolist()
    if kind == "dataframe":
        return pd.DataFrame(X, index=np.arange(len(X)) * 3 + 7)
    if kind == "sparse":  # scipy.sparse has no float16
        return sparse.csr_matrix(X.astype(np.float32) if X.dtype == np.float16 else X)
    if kind == "images":
        return np.repeat(X[:, :, None], 2, axis=2)
    return X


def y_container(y, kind):
    if kind == "list":
        return y.tolist()
    if kind == "series":
        return pd.Series(y, name="target")
    if kind == "categorical":
        return pd.Series(pd.Categorical(y, categories=list(np.unique(y)) + ["unused"]
                                        if y.dtype.kind == "U" else None))
    return y


@st.composite
def long_tail_inputs(draw, min_size=1, max_size=12):
    y = draw(labels(n_classes_min=2, n_classes_max=5, min_size=min_size,
                    max_size=max_size))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.float16, np.int64,
                                  np.uint8, bool]))
    X = draw(hnp.arrays(dtype, (len(y), draw(st.integers(1, 3)))))
    if dtype not in (bool,) and np.dtype(dtype).kind == "f":
        X = np.nan_to_num(X)
    return X, y


@MANY
@given(inp=long_tail_inputs(), xk=st.sampled_from(CONTAINERS),
       yk=st.sampled_from(Y_CONTAINERS), profile=st.sampled_from(["exponential",
                                                                  "power_law"]),
       rho=st.one_of(st.floats(1, 1e6), st.just(1e300)), data=st.data())
def test_make_long_tailed_properties(inp, xk, yk, profile, rho, data):
    X, y = inp
    Xc, yc = x_container(X, xk), y_container(y, yk)
    classes, counts = np.unique(y, return_counts=True)
    n_max = data.draw(st.one_of(st.none(), st.integers(1, counts.max() + 2)))
    before = [snapshot(Xc) if xk != "sparse" else Xc.copy(), snapshot(yc)]
    kw = dict(imbalance_ratio=rho, profile=profile, n_max=n_max, random_state=0,
              return_indices=True)
    sizes = long_tailed_sizes(len(classes), imbalance_ratio=rho, profile=profile,
                              n_max=counts.min() if n_max is None else n_max)
    if np.any(counts < sizes):
        with pytest.raises(ValueError, match=r"fewer than its quota .* n_max="):
            make_long_tailed(Xc, yc, **kw)
        return
    X_lt, y_lt, idx = make_long_tailed(Xc, yc, **kw)
    if xk == "sparse":
        assert (before[0] != Xc).nnz == 0
        assert sparse.isspmatrix_csr(X_lt) or sparse.issparse(X_lt)
        np.testing.assert_array_equal(X_lt.toarray(), Xc.toarray()[idx])
    else:
        assert_unchanged(before[0], Xc)
        np.testing.assert_array_equal(np.asarray(X_lt), np.asarray(Xc)[idx])
    assert_unchanged(before[1], yc)
    assert type(X_lt) is (np.ndarray if xk in ("numpy", "list", "images") else type(X_lt))
    if xk == "dataframe":
        np.testing.assert_array_equal(X_lt.index, Xc.index[idx])
    assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(np.asarray(y_lt), y[idx])
    # every class keeps exactly its quota, in sorted label order: none empty
    got = np.array([np.sum(np.asarray(y_lt) == c) for c in classes])
    np.testing.assert_array_equal(got, sizes)
    assert np.all(got >= 1)


@MANY
@given(inp=long_tail_inputs(min_size=2), data=st.data())
def test_make_long_tailed_refuses_bad_labels(inp, data):
    X, y = inp
    case = data.draw(st.sampled_from(["nan", "None", "NA", "mixed", "one class",
                                      "continuous", "2d", "length", "ragged"]))
    bad = y.astype(object)
    i = data.draw(st.integers(0, len(y) - 1))
    Xb = X
    if case in ("nan", "None", "NA"):
        bad[i], msg = {"nan": np.nan, "None": None, "NA": pd.NA}[case], r"y has 1 missing"
    elif case == "mixed":
        bad[i] = 7 if isinstance(y[0], str) else "seven"
        msg = r"y mixes labels of types"
    elif case == "one class":
        bad, msg = np.zeros(len(y)), r"at least two classes"
    elif case == "continuous":
        bad, msg = np.linspace(0.1, 0.9, len(y)), r"target type 'continuous'"
    elif case == "2d":
        bad, msg = np.c_[y, y], r"1d array"
    elif case == "length":
        bad, msg = y[:-1], r"same number of samples"
    else:
        Xb, bad = [[1.0]] * (len(y) - 1) + [[1.0, 2.0]], y
        msg = r"X should be an array of samples of one shape"
    before = bad.copy()
    with pytest.raises((ValueError, TypeError), match=msg):
        make_long_tailed(Xb, bad)
    if np.asarray(bad).dtype == object:
        assert all(b is v for b, v in zip(before, bad))
    else:
        np.testing.assert_array_equal(before, bad)


# -- make_mosaics -------------------------------------------------------------


@st.composite
def mosaic_inputs(draw):
    n = draw(st.integers(1, 12))
    side = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.uint8, np.float32, np.float64, np.float16,
                                  np.int16, bool]))
    flat = draw(st.booleans())
    images = draw(hnp.arrays(dtype, (n, side * side) if flat else (n, side, side)))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 4)))
    return images, y, side


@MANY
@given(inp=mosaic_inputs(), n_samples=st.integers(1, 30),
       grid=st.tuples(st.integers(1, 3), st.integers(1, 3)), data=st.data())
def test_make_mosaics_properties(inp, n_samples, grid, data):
    images, y, side = inp
    n_classes = np.unique(y).size
    k = data.draw(st.integers(1, n_classes))
    rates = data.draw(st.one_of(
        st.none(), st.lists(st.floats(1e-6, 0.5), min_size=k, max_size=k)))
    before = images.copy(), y.copy()
    T = grid[0] * grid[1]
    if rates is not None:
        q = -np.expm1(np.log1p(-np.asarray(rates)) / T)
        if q.sum() > 1 + 1e-12:
            with pytest.raises(ValueError, match=r"positive_rates=.*cannot be reached"):
                make_mosaics(images, y, n_samples=n_samples, grid=grid,
                             positive_rates=rates)
            return
    X, Y, tiles = make_mosaics(images, y, n_samples=n_samples, grid=grid,
                               positive_rates=rates,
                               n_attributes=None if rates is not None else k,
                               random_state=0, return_tiles=True)
    np.testing.assert_array_equal(images, before[0])
    np.testing.assert_array_equal(y, before[1])
    assert X.shape == (n_samples, T * side * side) and X.dtype == images.dtype
    assert Y.shape == (n_samples, k) and Y.dtype == np.int64
    assert tiles.shape == (n_samples, T)
    classes = np.unique(y)
    tile_class = np.where(tiles >= 0, np.searchsorted(classes, y[np.maximum(tiles, 0)]), -1)
    for j in range(k):
        np.testing.assert_array_equal(Y[:, j], (tile_class == j).any(axis=1))
    # the tiles are where the layout says
    mosaics = X.reshape(n_samples, grid[0] * side, grid[1] * side)
    imgs = images.reshape(-1, side, side)
    for t in range(T):
        r, c = divmod(t, grid[1])
        block = mosaics[:, r * side:(r + 1) * side, c * side:(c + 1) * side]
        expect = np.where((tiles[:, t] >= 0)[:, None, None],
                          imgs[np.maximum(tiles[:, t], 0)], 0)
        np.testing.assert_array_equal(block, expect.astype(images.dtype))


BAD_MOSAICS = [
    (dict(images=np.array([["a", "b", "c", "d"]] * 3)), r"images should hold numbers"),
    (dict(images=np.ones((3, 4), dtype=object)), r"images should hold numbers"),
    (dict(images=np.ones((3, 5))), r"square number of pixels"),
    (dict(images=np.ones((3, 1, 2, 2))), r"images should have shape"),
    (dict(images=np.ones((0, 4)), labels=[]), r"at least one image"),
    (dict(labels=[0, 1]), r"same number of samples"),
    (dict(labels=[[0], [1], [2]]), r"labels should be a 1d array"),
    (dict(labels=[0, np.nan, 1]), r"labels has 1 missing"),
    (dict(labels=np.array([0, "a", 1], dtype=object)), r"labels mixes"),
    (dict(n_samples=0), r"n_samples=0"),
    (dict(n_samples=2.5), r"n_samples=2.5"),
    (dict(grid=(0, 2)), r"grid=\(0, 2\)"),
    (dict(grid=(2,)), r"grid=\(2,\)"),
    (dict(grid=(2.0, 2)), r"grid=\(2.0, 2\)"),
    (dict(positive_rates=[0.0]), r"positive_rates\[0\]=0.0"),
    (dict(positive_rates=[1.0]), r"positive_rates\[0\]=1.0"),
    (dict(positive_rates=[np.nan]), r"positive_rates\[0\]=nan"),
    (dict(positive_rates=["0.5"]), r"positive_rates=\['0.5'\]"),
    (dict(positive_rates=[]), r"non-empty 1d"),
    (dict(positive_rates=[0.9, 0.9, 0.9]), r"cannot be reached"),
    (dict(n_attributes=0), r"n_attributes=0"),
    (dict(n_attributes=4), r"n_attributes=4"),
    (dict(positive_rates=[0.5], n_attributes=2), r"one rate per attribute"),
]


@MANY
@given(bad=st.sampled_from(BAD_MOSAICS))
def test_make_mosaics_refuses_bad_input(bad):
    kwargs, msg = bad
    kwargs = {"images": np.ones((3, 4)), "labels": [0, 1, 2], **kwargs}
    images, labels_ = kwargs.pop("images"), kwargs.pop("labels")
    with pytest.raises((ValueError, TypeError), match=msg):
        make_mosaics(images, labels_, **kwargs)


# -- the loaders: corrupted files ---------------------------------------------


def idx_bytes(array, type_code=0x08):
    header = struct.pack(">HBB", 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@MANY
@given(data=st.data(), gz=st.booleans())
def test_read_idx_on_corrupted_files(tmp_path_factory, data, gz):
    array = data.draw(hnp.arrays(np.uint8, hnp.array_shapes(max_dims=3, max_side=4)))
    raw = bytearray(idx_bytes(array))
    edit = data.draw(st.sampled_from(["flip", "truncate", "extend", "none"]))
    if edit == "flip" and raw:
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    elif edit == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif edit == "extend":
        raw += bytes(data.draw(st.integers(1, 5)))
    path = tmp_path_factory.mktemp("idx") / ("f.gz" if gz else "f")
    payload = gzip.compress(bytes(raw)) if gz else bytes(raw)
    if gz and data.draw(st.booleans()):  # a corrupt gzip stream
        payload = payload[: data.draw(st.integers(0, len(payload) - 1))]
    path.write_bytes(payload)
    try:
        out = _read_idx(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    # accepted: exactly what the (possibly edited) header announces
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", bytes(raw[4:4 + 4 * ndim]))
    assert out.shape == shape


@FAST
@given(data=st.data())
def test_load_fashion_mnist_refuses_bad_paths_and_subsets(tmp_path_factory, data):
    subset = data.draw(st.sampled_from(["train", "test", "all", "val", "", None]))
    d = tmp_path_factory.mktemp("fm")
    if subset in ("train", "test", "all"):
        with pytest.raises(FileNotFoundError, match=str(d)):
            load_fashion_mnist(d, subset=subset)
        with pytest.raises(FileNotFoundError, match="does not exist"):
            load_fashion_mnist(d / "missing", subset=subset)
    else:
        with pytest.raises(ValueError, match=rf"subset={subset!r}"):
            load_fashion_mnist(d, subset=subset)


KEEL = """\
@relation tiny
@attribute Height integer [1, 9]
@attribute Colour {red, green, blue}
@attribute Ratio real[0.0,1.0]
@attribute Class {neg, pos}
@inputs Height, Colour, Ratio
@outputs Class
@data
1, blue, 0.5, pos
2,red,0.25,neg
3, green, ?, neg
4, <null>, 1.0, pos
"""


@MANY
@given(data=st.data())
def test_load_keel_on_corrupted_files(tmp_path_factory, data):
    lines = KEEL.splitlines()
    edit = data.draw(st.sampled_from(["drop", "duplicate", "replace", "chars", "none"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    if edit == "drop":
        del lines[i]
    elif edit == "duplicate":
        lines.insert(i, lines[i])
    elif edit == "replace":
        lines[i] = data.draw(st.sampled_from(
            ["", "@data", "1, 2, 3", "x, red, 0.5, pos", "1, purple, 0.5, pos",
             "1, red, 0.5, maybe", "1, red, 0.5", "1, red, 0.5, pos, extra",
             "@attribute Class {neg}", "@outputs Nope", "@inputs Height",
             "5, red, 0.1, ?", "@attribute X real [nan, inf]"]))
    elif edit == "chars":
        line = lines[i]
        j = data.draw(st.integers(0, max(0, len(line) - 1)))
        lines[i] = line[:j] + data.draw(st.sampled_from(
            [",", "{", "}", "?", "%", "@", "\t", "é", "\x00"])) + line[j + 1:]
    path = tmp_path_factory.mktemp("keel") / "tiny.dat"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        bunch = load_keel(path)
    except ValueError as exc:
        assert "tiny" in str(exc) or "line" in str(exc) or "class" in str(exc)
        return
    n = bunch.data.shape[0]
    assert bunch.data.ndim == 2 and bunch.data.dtype == np.float64
    assert bunch.target.shape == (n,) and bunch.target.dtype == np.int64
    assert np.all((bunch.target >= 0) & (bunch.target < len(bunch.target_names)))
    assert bunch.data.shape[1] == len(bunch.feature_names)


# -- slow share ---------------------------------------------------------------


@pytest.mark.slow
@SLOW
@given(inp=long_tail_inputs(max_size=40), xk=st.sampled_from(CONTAINERS),
       yk=st.sampled_from(Y_CONTAINERS), profile=st.sampled_from(["exponential",
                                                                  "power_law"]),
       rho=st.floats(1, 1e3), data=st.data())
def test_make_long_tailed_slow(inp, xk, yk, profile, rho, data):
    test_make_long_tailed_properties.hypothesis.inner_test(inp, xk, yk, profile, rho,
                                                           data)


@pytest.mark.slow
@SLOW
@given(inp=mosaic_inputs(), n_samples=st.integers(1, 60),
       grid=st.tuples(st.integers(1, 4), st.integers(1, 4)), data=st.data())
def test_make_mosaics_slow(inp, n_samples, grid, data):
    test_make_mosaics_properties.hypothesis.inner_test(inp, n_samples, grid, data)


# -- regressions (bugs found by the properties above) ------------------------


def test_power_law_with_large_gamma_or_ratio_was_all_ones():
    # c ** gamma overflowed: a, b and every quota were NaN, floored to 1
    assert long_tailed_sizes(3, n_max=100, profile="power_law", gamma=1e300,
                             imbalance_ratio=10).tolist() == [100, 100, 10]
    assert long_tailed_sizes(3, n_max=100, profile="power_law",
                             imbalance_ratio=1e308).tolist() == [100, 1, 1]
    # gamma -> 0: the limit 1 / (1 + (rho - 1) log c / log C), no cancellation
    assert long_tailed_sizes(3, n_max=100, profile="power_law", gamma=1e-300,
                             imbalance_ratio=10).tolist() == [100, 14, 10]


def test_huge_n_max_overflowed_to_ones():
    with pytest.raises(ValueError, match=r"n_max=.* should be at most 2\*\*53"):
        long_tailed_sizes(3, n_max=10**30)


def test_make_long_tailed_missing_and_mixed_labels():
    X = np.ones((6, 2))
    with pytest.raises(ValueError, match=r"y has 1 missing label"):
        make_long_tailed(X, pd.Series(pd.array([1, 1, 1, None, 2, 2], dtype="Int64")))
    with pytest.raises(TypeError, match=r"y mixes labels of types \['int', 'str'\]"):
        make_long_tailed(X, np.array(["a", "a", "a", 1, 1, 1], dtype=object))


def test_make_long_tailed_categorical_series_keeps_its_categories():
    # an unused category does not become an empty class
    y = pd.Series(pd.Categorical(list("aaabbc"), categories=list("abcd")))
    X_lt, y_lt = make_long_tailed(np.arange(12).reshape(6, 2), y, imbalance_ratio=1,
                                  random_state=0)
    assert list(y_lt.cat.categories) == list("abcd")
    assert sorted(np.unique(np.asarray(y_lt))) == ["a", "b", "c"]


def test_every_public_function_is_fuzzed():
    # a function added to the package's __all__ needs its properties here
    import sklearn_clmle.datasets

    assert set(sklearn_clmle.datasets.__all__) <= set(globals())


# -- load_font_glyphs ----------------------------------------------------------

def _dejavu():
    mpl = pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    pytest.importorskip("fontTools")
    from pathlib import Path

    ttf = Path(mpl.get_data_path()) / "fonts" / "ttf"
    return [ttf / n for n in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf",
                              "DejaVuSerif.ttf")]


_GLYPH_PARAMS = dict(
    n_identities=st.one_of(st.none(), st.integers(-1, 5), st.just(True),
                           st.just(2.0)),
    n_max=st.one_of(st.none(), st.integers(-1, 4), st.just(1.5)),
    imbalance_ratio=st.one_of(st.floats(0.5, 5), st.just(float("nan")),
                              st.just("2")),
    image_size=st.one_of(st.integers(6, 14), st.just(10.0)),
    padding=st.one_of(st.integers(-1, 4), st.just(None)),
    shift=st.one_of(st.floats(-0.5, 4), st.just(float("inf"))),
    scale=st.one_of(st.floats(-0.1, 0.6), st.just(None)),
    stroke=st.one_of(st.floats(-0.5, 4), st.just(True)),
)


@settings(FAST, max_examples=25)
@given(task=st.sampled_from(["characters", "fonts"]), data=st.data())
def test_load_font_glyphs_properties(task, data):
    paths = _dejavu()
    params = {k: data.draw(s, label=k) for k, s in _GLYPH_PARAMS.items()}
    before = snapshot(paths)
    chars = "ABCD" if task == "characters" else "0123"
    try:
        d = load_font_glyphs(task, font_paths=paths, characters=chars,
                             random_state=data.draw(st.integers(0, 5)), **params)
    except (ValueError, TypeError) as exc:
        assert any(k in str(exc) for k in params), str(exc)
        return
    finally:
        assert_unchanged(before, paths)
    # accepted: the documented shapes and the power-law quotas
    n_ids = len(d.target_names)
    n_max = params["n_max"] or (3 if task == "characters" else 4)
    sizes = long_tailed_sizes(n_ids, imbalance_ratio=params["imbalance_ratio"],
                              profile="power_law", n_max=n_max)
    assert np.bincount(d.target).tolist() == sizes.tolist()
    s = params["image_size"]
    assert d.images.shape == (sizes.sum(), s, s) and d.images.dtype == np.float32
    assert 0.0 <= d.images.min() and d.images.max() <= 1.0
    if params["n_identities"] is not None:
        assert n_ids == params["n_identities"]
