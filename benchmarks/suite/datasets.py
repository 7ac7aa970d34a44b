"""Train / test splits of the suite: long-tailed images and natural KEEL tables.

Every loader takes a seed and returns a :class:`Split`.  Image sets keep the
test split balanced and make only the training side long-tailed (exponential
profile, ``sklearn_clmle.datasets.make_long_tailed``); each seed draws its own
training subset.  KEEL tables are imbalanced by nature: a stratified 70 / 30
split per seed, features standardised on the training side.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_clmle.datasets import load_fashion_mnist, load_keel, make_long_tailed


@dataclass
class Split:
    """One seed's data: float32 features, int labels ``0..C-1``."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    kind: str  # "image" or "table"
    imbalance_ratio: float  # nominal for image sets, measured for tables
    input_shape: tuple = None  # one image's shape, for a CNN backbone
    info: dict = field(default_factory=dict)

    @property
    def counts(self):
        return np.bincount(self.y_train, minlength=self.n_classes)

    @property
    def n_classes(self):
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def _digits(seed, imbalance_ratio):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    # Balance the test side exactly: the same number of images a class.
    n_test = np.bincount(y_te).min()
    keep = np.concatenate([np.flatnonzero(y_te == c)[:n_test] for c in range(10)])
    X_lt, y_lt = make_long_tailed(X_tr, y_tr, imbalance_ratio=imbalance_ratio,
                                  random_state=seed)
    return Split(f"digits-ir{imbalance_ratio}", X_lt, y_lt, X_te[keep], y_te[keep],
                 "image", imbalance_ratio, (8, 8))


def _fashion(seed, imbalance_ratio):
    X_tr, y_tr = load_fashion_mnist(subset="train", return_X_y=True)
    X_te, y_te = load_fashion_mnist(subset="test", return_X_y=True)
    X_lt, y_lt = make_long_tailed(X_tr, y_tr, imbalance_ratio=imbalance_ratio,
                                  n_max=5000, random_state=seed)
    scale = np.float32(1 / 255)
    return Split(f"fmnist-ir{imbalance_ratio}", X_lt.astype(np.float32) * scale,
                 y_lt.astype(np.int64), X_te.astype(np.float32) * scale,
                 y_te.astype(np.int64), "image", imbalance_ratio, (28, 28))


def _keel(seed, name):
    X, y = load_keel(name, return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_tr)
    counts = np.bincount(y_tr)
    return Split(f"keel-{name}", scaler.transform(X_tr).astype(np.float32),
                 np.asarray(y_tr, dtype=np.int64),
                 scaler.transform(X_te).astype(np.float32),
                 np.asarray(y_te, dtype=np.int64), "table",
                 float(counts.max() / counts.min()))


LOADERS = {
    "digits-ir10": lambda seed: _digits(seed, 10),
    "digits-ir50": lambda seed: _digits(seed, 50),
    "fmnist-ir10": lambda seed: _fashion(seed, 10),
    "fmnist-ir100": lambda seed: _fashion(seed, 100),
    "keel-page-blocks": lambda seed: _keel(seed, "page-blocks"),
    "keel-yeast": lambda seed: _keel(seed, "yeast"),
}


def load(name, seed):
    """The split of data set ``name`` (a key of ``LOADERS``) for ``seed``."""
    return LOADERS[name](seed)


# -- validation splits: for choosing settings, never the reported test splits --


def _fashion_validation(seed, imbalance_ratio, per_class=500):
    """Seed ``seed``'s long-tailed training subset of the suite, scored on
    balanced validation images from the training pool it left out."""
    X, y = load_fashion_mnist(subset="train", return_X_y=True)
    idx = make_long_tailed(np.arange(len(y))[:, None], y,
                           imbalance_ratio=imbalance_ratio, n_max=5000,
                           random_state=seed, return_indices=True)[2]
    left_out = np.ones(len(y), dtype=bool)
    left_out[idx] = False
    rng = np.random.RandomState(1000 + seed)
    val = np.concatenate([
        rng.choice(np.flatnonzero(left_out & (y == c)), per_class, replace=False)
        for c in range(10)])
    scale = np.float32(1 / 255)
    return Split(f"fmnist-ir{imbalance_ratio}", X[idx].astype(np.float32) * scale,
                 y[idx].astype(np.int64), X[val].astype(np.float32) * scale,
                 y[val].astype(np.int64), "image", imbalance_ratio, (28, 28))


def _keel_validation(seed, name):
    """A stratified 30 % of the training side of seed ``seed``'s split."""
    split = _keel(seed, name)
    X_tr, X_va, y_tr, y_va = train_test_split(
        split.X_train, split.y_train, test_size=0.3, stratify=split.y_train,
        random_state=seed)
    counts = np.bincount(y_tr)
    return Split(split.name, X_tr, y_tr, X_va, y_va, "table",
                 float(counts.max() / max(counts.min(), 1)))


VALIDATION_LOADERS = {
    # digits: development seeds 100+, splits drawn independently of the
    # reported seeds (the digits pool is too small to leave images out)
    "digits-ir10": lambda seed: _digits(100 + seed, 10),
    "digits-ir50": lambda seed: _digits(100 + seed, 50),
    "fmnist-ir10": lambda seed: _fashion_validation(seed, 10),
    "fmnist-ir100": lambda seed: _fashion_validation(seed, 100),
    "keel-page-blocks": lambda seed: _keel_validation(seed, "page-blocks"),
    "keel-yeast": lambda seed: _keel_validation(seed, "yeast"),
}


def load_validation(name, seed):
    """A validation split of data set ``name`` for ``seed``: training data
    as the suite's (or a part of it) and held-out data that is never in a
    reported test split (digits: development seeds, see above)."""
    return VALIDATION_LOADERS[name](seed)
