"""Data of the face tasks (``benchmarks/bench_face_tasks.py``): real images
that exist offline, the open-set split into long-tailed seen classes and
unseen evaluation classes, and the multi-label mosaics."""

from dataclasses import dataclass, replace

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_clmle.datasets import load_fashion_mnist, make_long_tailed, make_mosaics
from sklearn_clmle.metrics import split_seen_unseen

def load_images(name):
    """Train and test images (flat float32 in [0, 1]) and labels."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        return train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    Xtr, ytr = load_fashion_mnist(subset="train", return_X_y=True)
    Xte, yte = load_fashion_mnist(subset="test", return_X_y=True)
    scale = np.float32(1 / 255)
    return Xtr.astype(np.float32) * scale, Xte.astype(np.float32) * scale, ytr, yte


def long_tailed(X, y, cfg, seed):
    """Long-tailed subset, classes relabelled 0..C-1 in a seed-shuffled order
    (class 0 the head), so the head is not always the smallest label."""
    classes = np.unique(y)
    order = np.random.RandomState(seed).permutation(classes.size)
    relabel = np.empty(classes.max() + 1, dtype=np.int64)
    relabel[classes[order]] = np.arange(classes.size)
    n_max = cfg.n_max or None
    return make_long_tailed(X, relabel[y], imbalance_ratio=cfg.imbalance_ratio,
                            n_max=n_max, random_state=seed)


@dataclass
class OpenSet:
    """Seen-class (long-tailed) training data and unseen-class evaluation data."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_eval: np.ndarray  # unseen classes: pairs and probes
    y_eval: np.ndarray
    X_distract: np.ndarray  # seen classes, never trained on: distractors
    unseen_classes: tuple


def open_set_split(X_tr, y_tr, X_te, y_te, cfg, seed):
    """The seed's seen/unseen split: train on seen, evaluate on unseen test."""
    seen_tr, _ = split_seen_unseen(y_tr, n_unseen=cfg.n_unseen, random_state=seed)
    seen_classes = np.unique(y_tr[seen_tr])
    X_lt, y_lt = long_tailed(X_tr[seen_tr], y_tr[seen_tr], cfg, seed)
    unseen_te = ~np.isin(y_te, seen_classes)
    return OpenSet(X_lt, y_lt, X_te[unseen_te], y_te[unseen_te], X_te[~unseen_te],
                   tuple(np.unique(y_te[unseen_te]).tolist()))


def validation_open_set(X_tr, y_tr, cfg, seed, n_val_unseen=2):
    """Tuning split, training side only: of the seed's seen classes, hold out
    ``n_val_unseen`` as validation "unseen" classes (half their images for
    pairs and probes), train on the others; distractors are the held-out half
    of the remaining seen classes' images, which are not trained on."""
    seen_tr, _ = split_seen_unseen(y_tr, n_unseen=cfg.n_unseen, random_state=seed)
    Xs, ys = X_tr[seen_tr], y_tr[seen_tr]
    train_cls, val_cls = split_seen_unseen(ys, n_unseen=n_val_unseen,
                                           random_state=seed + 100)
    Xa, Xb, ya, yb = train_test_split(Xs[train_cls], ys[train_cls], test_size=0.2,
                                      stratify=ys[train_cls], random_state=seed)
    X_lt, y_lt = long_tailed(Xa, ya, replace(cfg, n_max=None), seed)
    return OpenSet(X_lt, y_lt, Xs[val_cls], ys[val_cls], Xb,
                   tuple(np.unique(ys[val_cls]).tolist()))


def pool_tiles(X, factor):
    """Average-pool flat square images by ``factor`` (28x28 -> 14x14 for 2)."""
    if factor == 1:
        return X
    side = int(round(np.sqrt(X.shape[1])))
    s = side // factor
    return X.reshape(-1, s, factor, s, factor).mean(axis=(2, 4)).reshape(-1, s * s)


@dataclass
class Mosaics:
    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray


def mosaic_split(X_tr, y_tr, X_te, y_te, cfg, seed):
    """Train / validation / test mosaics from disjoint image pools."""
    X_tr, X_te = pool_tiles(X_tr, cfg.pool), pool_tiles(X_te, cfg.pool)
    Xa, Xb, ya, yb = train_test_split(X_tr, y_tr, test_size=0.2, stratify=y_tr,
                                      random_state=seed)
    n_train, n_val, n_test = cfg.n_mosaics
    # the seed's class order for the rates: which class is the rarest varies
    perm = np.random.RandomState(seed).permutation(10)
    out = []
    for (X, y), n, offset in (((Xa, ya), n_train, 0), ((Xb, yb), n_val, 1),
                              ((X_te, y_te), n_test, 2)):
        Xm, Ym = make_mosaics(X, perm[y], n_samples=n,
                              random_state=1000 * seed + offset)
        out += [Xm.astype(np.float32), Ym]
    return Mosaics(*out)


# -- methods ----------------------------------------------------------------
