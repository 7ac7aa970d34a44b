import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sklearn_clmle.datasets import load_fashion_mnist
from sklearn_clmle.datasets._fashion_mnist import (
    DEFAULT_FASHION_MNIST_PATH,
    FASHION_MNIST_CLASSES,
    _read_idx,
)


def idx_bytes(array, type_code=0x08):
    header = struct.pack(">HBB", 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_gz(path, payload):
    with gzip.open(path, "wb") as f:
        f.write(payload)


def make_copy(directory, n_train=5, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    names = {
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    }
    for key, name in names.items():
        write_gz(directory / name, idx_bytes(arrays[key]))
    return arrays


def test_read_back_hand_made_files_exactly(tmp_path):
    arrays = make_copy(tmp_path)
    bunch = load_fashion_mnist(tmp_path)
    assert bunch.data.shape == (5, 784) and bunch.data.dtype == np.uint8
    assert bunch.target.dtype == np.int64
    assert_array_equal(bunch.images, arrays["train_images"])
    assert_array_equal(bunch.data, arrays["train_images"].reshape(5, -1))
    assert_array_equal(bunch.target, arrays["train_labels"])
    assert bunch.target_names == list(FASHION_MNIST_CLASSES)
    assert bunch.target_names[9] == "Ankle boot"
    assert "Fashion-MNIST" in bunch.DESCR

    X, y = load_fashion_mnist(str(tmp_path), subset="test", return_X_y=True)
    assert_array_equal(X, arrays["test_images"].reshape(3, -1))
    assert_array_equal(y, arrays["test_labels"])

    X, y = load_fashion_mnist(tmp_path, subset="all", return_X_y=True)
    assert X.shape == (8, 784)
    assert_array_equal(y, np.r_[arrays["train_labels"], arrays["test_labels"]])


def test_uncompressed_copy_is_accepted(tmp_path):
    arrays = make_copy(tmp_path)
    for gz in tmp_path.glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    X, y = load_fashion_mnist(tmp_path, return_X_y=True)
    assert_array_equal(y, arrays["train_labels"])


@pytest.mark.parametrize(
    "dtype, code", [(np.uint8, 0x08), (np.int16, 0x0B), (np.float32, 0x0D)]
)
def test_read_idx_types_and_dimensions(tmp_path, dtype, code):
    array = np.arange(24).reshape(2, 3, 4).astype(dtype)
    write_gz(tmp_path / "a.gz", idx_bytes(array, code))
    out = _read_idx(tmp_path / "a.gz")
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    assert_array_equal(out, array)


def test_corrupt_magic_number(tmp_path):
    make_copy(tmp_path)
    payload = gzip.decompress((tmp_path / "train-labels-idx1-ubyte.gz").read_bytes())
    write_gz(tmp_path / "train-labels-idx1-ubyte.gz", b"\x12\x34" + payload[2:])
    with pytest.raises(ValueError, match="magic number 0x1234.*not an IDX header"):
        load_fashion_mnist(tmp_path)


def test_truncated_data(tmp_path):
    make_copy(tmp_path)
    payload = gzip.decompress((tmp_path / "train-images-idx3-ubyte.gz").read_bytes())
    write_gz(tmp_path / "train-images-idx3-ubyte.gz", payload[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_fashion_mnist(tmp_path)


def test_truncated_gzip_stream(tmp_path):
    make_copy(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="not a valid gzip file or is truncated"):
        load_fashion_mnist(tmp_path)


def test_label_count_mismatch(tmp_path):
    make_copy(tmp_path)
    write_gz(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        load_fashion_mnist(tmp_path)


def test_missing_directory_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        load_fashion_mnist(tmp_path / "nowhere")
    message = str(exc.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "path=" in message


def test_missing_file_is_named(tmp_path):
    make_copy(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    load_fashion_mnist(tmp_path)  # the training split is still there
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        load_fashion_mnist(tmp_path, subset="test")


def test_bad_subset(tmp_path):
    with pytest.raises(ValueError, match="subset='val' is not supported"):
        load_fashion_mnist(tmp_path, subset="val")


@pytest.mark.skipif(
    not Path(DEFAULT_FASHION_MNIST_PATH).is_dir(),
    reason="the Debian package dataset-fashion-mnist is not installed",
)
def test_real_installed_files():
    X, y = load_fashion_mnist(return_X_y=True)
    assert X.shape == (60000, 784) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == [6000] * 10
    X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
    assert X_test.shape == (10000, 784)
    assert np.bincount(y_test).tolist() == [1000] * 10
