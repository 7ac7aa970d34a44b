"""Fashion-MNIST from local IDX files (never downloaded)."""

import gzip
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..utils._docs import fill_doc

DEFAULT_FASHION_MNIST_PATH = "/usr/share/datasets/fashion-mnist"

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_DESCR = """\
Fashion-MNIST
-------------

Zalando's article images: 28x28 grey-level images (uint8, 0 = background)
of 10 balanced classes of clothing, 60,000 training and 10,000 test images
(6,000 and 1,000 a class).  Read from local IDX files; see
``load_fashion_mnist``.

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.

Licence: MIT.  Reference: Xiao, Rasul & Vollgraf, "Fashion-MNIST: a Novel
Image Dataset for Benchmarking Machine Learning Algorithms", arXiv:1708.07747,
2017.
"""


def _read_idx(path):
    """Read an IDX file (gzip-compressed when its name ends with ``.gz``).

    Returns an array of the file's type (native byte order) and dimensions.
    A wrong magic number, an unknown type code, or a size that does not match
    the header raises a ``ValueError`` naming the file.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValueError(
            f"{path} is not a valid gzip file or is truncated ({exc})."
        ) from exc
    if len(raw) < 4:
        raise ValueError(
            f"{path} is too short ({len(raw)} bytes) to be an IDX file; "
            "expected at least a 4-byte magic number."
        )
    zero, type_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"{path} has magic number 0x{raw[:4].hex()}, which is not an IDX "
            "header; expected 0x0000TTNN with TT a type code in "
            f"{{{', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)}}} and NN >= 1 "
            "dimensions (0x00000803 for images, 0x00000801 for labels)."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{path} is truncated: its header announces {ndim} dimensions but "
            f"the file has {len(raw)} bytes."
        )
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path} holds {len(raw) - header} bytes of data, but its header "
            f"announces shape {shape} of {dtype.name}, i.e. {expected} bytes; "
            "the file is truncated or corrupt."
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find(directory, stem):
    """Path of ``stem.gz`` (preferred) or ``stem`` in ``directory``."""
    for name in (stem + ".gz", stem):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _missing_message(what):
    return (
        f"{what}. No data is ever downloaded: install the Debian package "
        "with `apt-get install dataset-fashion-mnist` (it puts the files in "
        f"{DEFAULT_FASHION_MNIST_PATH}), or pass path= to a directory holding "
        "the four IDX files train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
        "t10k-labels-idx1-ubyte.gz."
    )


def _load_split(directory, split):
    images_stem, labels_stem = _FILES[split]
    images_path = _find(directory, images_stem)
    labels_path = _find(directory, labels_stem)
    missing = [
        stem + ".gz"
        for stem, p in ((images_stem, images_path), (labels_stem, labels_path))
        if p is None
    ]
    if missing:
        raise FileNotFoundError(
            _missing_message(
                f"Fashion-MNIST IDX file(s) {', '.join(missing)} not found in "
                f"{directory}"
            )
        )
    images = _read_idx(images_path)
    labels = _read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path} should hold uint8 images of shape (n, rows, cols); "
            f"got {images.dtype} of shape {images.shape}."
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(
            f"{labels_path} should hold a 1d array of uint8 labels; got "
            f"{labels.dtype} of shape {labels.shape}."
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} "
            f"holds {labels.shape[0]} labels; they should be equal."
        )
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise ValueError(
            f"{labels_path} holds label {labels.max()}; Fashion-MNIST labels "
            f"should be in [0, {len(FASHION_MNIST_CLASSES) - 1}]."
        )
    return images, labels.astype(np.int64)


@fill_doc
def load_fashion_mnist(path=None, *, subset="train", return_X_y=False):
    """Load Fashion-MNIST from local IDX files.

    Nothing is ever downloaded.  The four files ``train-images-idx3-ubyte.gz``,
    ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
    ``t10k-labels-idx1-ubyte.gz`` are read from ``path`` (uncompressed copies
    without the ``.gz`` suffix are accepted too).

    Parameters
    ----------
    path : str or path-like, default=None
        Directory holding the IDX files.  ``None`` means
        ``/usr/share/datasets/fashion-mnist``, where the Debian package
        ``dataset-fashion-mnist`` installs them.

    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or both (training
        images first).

    {{return_X_y}}

    {{returns_bunch}}

        data : ndarray of shape (n_samples, 784), dtype uint8
            Flattened images (row-major), grey levels 0-255.
        target : ndarray of shape (n_samples,), dtype int64
            Class of each image, 0-9.
        images : ndarray of shape (n_samples, 28, 28), dtype uint8
            The images (the same memory as ``data``).
        target_names : list of str
            The 10 class names, indexed by label.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` of shape (n_samples, 784) uint8 and ``target`` int64.

    Raises
    ------
    FileNotFoundError
        If the directory or one of the needed files is missing; the message
        says how to install the files.
    ValueError
        If a file is not a valid IDX file (wrong magic number, truncated,
        sizes not matching its header), or for an unknown ``subset``.

    See Also
    --------
    make_long_tailed : Long-tailed training subsets of balanced data.

    Notes
    -----
    Fashion-MNIST is balanced (6,000 training and 1,000 test images a class);
    subsample the training split with :func:`make_long_tailed` and keep the
    test split balanced.

    References
    ----------
    Xiao, Rasul & Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
    Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017.

    Examples
    --------
    >>> import os
    >>> from sklearn_clmle.datasets import load_fashion_mnist
    >>> if os.path.isdir("/usr/share/datasets/fashion-mnist"):
    ...     X, y = load_fashion_mnist(subset="test", return_X_y=True)
    ... else:  # the Debian package dataset-fashion-mnist is not installed
    ...     import numpy as np
    ...     X = np.zeros((10000, 784), np.uint8)
    >>> X.shape
    (10000, 784)
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(
            f"subset={subset!r} is not supported; expected 'train', 'test' or 'all'."
        )
    directory = Path(DEFAULT_FASHION_MNIST_PATH if path is None else path)
    if not directory.is_dir():
        raise FileNotFoundError(
            _missing_message(
                f"Fashion-MNIST directory {directory} does not exist or is not "
                "a directory"
            )
        )
    splits = ("train", "test") if subset == "all" else (subset,)
    parts = [_load_split(directory, s) for s in splits]
    if len(parts) == 1:
        images, target = parts[0]
    else:
        shapes = {p[0].shape[1:] for p in parts}
        if len(shapes) != 1:
            raise ValueError(
                f"the training and test images have different shapes {shapes};"
                " they cannot be concatenated with subset='all'."
            )
        images = np.concatenate([p[0] for p in parts])
        target = np.concatenate([p[1] for p in parts])
    data = images.reshape(images.shape[0], -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=images,
        target_names=list(FASHION_MNIST_CLASSES),
        DESCR=_DESCR,
    )
