"""Benchmark the paper's two face tasks on real images that exist offline.

Two tasks (Huang et al., Section 5), each against deep baselines on the same
MLP backbone and the same training budget (samples seen)::

    python benchmarks/bench_face_tasks.py verify       # open-set verification
    python benchmarks/bench_face_tasks.py attributes   # multi-label attributes
    python benchmarks/bench_face_tasks.py tune-verify  --configs "scale=32" ...
    python benchmarks/bench_face_tasks.py tune-attributes --configs ...

``--quick`` uses scikit-learn's 8x8 digits instead of Fashion-MNIST;
``--seeds 0 1 2`` picks the seeds (each seed draws its own class split,
long-tailed subset, mosaics, pairs and initialisation).

**Open-set verification** (``verify``).  The classes are split into seen and
unseen ones (``split_seen_unseen``: 7 seen, 3 unseen).  The seen classes of
the training split are made long-tailed (``make_long_tailed``, exponential
profile, class order shuffled per seed) and every embedder is trained on
them.  On the *unseen* classes of the test split: balanced positive and
negative pairs (``make_pairs``), cosine scores (baseline features are the
penultimate layer, L2-normalised), verification accuracy with the 10-fold
threshold protocol, ROC AUC, TAR at FAR 1e-2 and 1e-3; and identification
rank-1 of probes against a gallery of one enrolled image per unseen class
plus distractors from the seen classes' test images (mean over enrolment
draws).

**Imbalanced multi-label attributes** (``attributes``).  ``make_mosaics`` of
2x2 real images (Fashion-MNIST items average-pooled to 14x14, or digits),
attribute ``j`` = "contains class j", positive rates spaced geometrically
from 50 % down to 2 %.  Training, validation and test mosaics are built from
disjoint image pools.  Methods: ``CLMLEEmbedder`` on the indicator matrix
(one head per attribute) + ``KNearestClusterClassifier`` per attribute on
that attribute's block of the embedding; ``LongTailNetClassifier`` with
per-attribute class-balanced binary cross-entropy (``loss="weighted_ce"``)
and plain binary cross-entropy (``loss="ce"``).  Mean balanced accuracy over
attributes and balanced accuracy per attribute.

Settings are chosen by the ``tune-*`` modes on validation data from the
training side only (``tune-verify``: 2 of the 7 seen classes held out as
validation "unseen" classes, the embedder trained on the other 5;
``tune-attributes``: validation mosaics from held-out training images).
Results go to ``benchmarks/results/face_*``: Markdown tables, CSV rows, PNG
plots.  Torch and BLAS are held to ``--threads`` threads (default 2).
"""

import argparse
import csv
import itertools
import os
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

# torch's OpenMP threads busy-wait between parallel regions by default; when
# the cores are shared with other processes that made small-batch training up
# to 40x slower here.  Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import balanced_accuracy_score, roc_curve  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier  # noqa: E402
from sklearn_clmle.datasets import (  # noqa: E402
    load_fashion_mnist,
    make_long_tailed,
    make_mosaics,
)
from sklearn_clmle.embedding import LongTailNetClassifier  # noqa: E402
from sklearn_clmle.metrics import (  # noqa: E402
    make_pairs,
    pair_scores,
    rank_k_accuracy,
    split_seen_unseen,
    verification_report,
)

RESULTS = Path(__file__).parent / "results"
LOCK = Path("/tmp/clmle-bench.lock")
FARS = (1e-2, 1e-3)


@dataclass(frozen=True)
class Config:
    """Data sizes, backbone, budget and method settings of one data set."""

    name: str
    epochs: int  # budget: passes over the training set, for every method
    hidden: tuple
    batch_size: int  # cross-entropy baselines
    warmup_epochs: int  # CLMLE's softmax warm-up (counts in the budget)
    clmle: dict  # CLMLEEmbedder settings
    imbalance_ratio: float = 100.0
    n_max: int = None  # head class of the long-tailed seen classes
    n_unseen: int = 3
    n_pairs: int = 20000
    n_distractors: int = 100
    n_enrol: int = 10  # enrolment draws for identification
    # attributes
    ml_epochs: int = 10
    ml_warmup_epochs: int = 4
    ml_clmle: dict = field(default_factory=dict)
    knc: dict = field(default_factory=dict)
    n_mosaics: tuple = (20000, 5000, 10000)  # train, validation, test
    pool: int = 1  # average-pooling of the tiles
    knc_cluster_sizes: tuple = (50, 200)  # tune-attributes' grid


CONFIGS = {
    "fmnist": Config(
        name="fmnist", epochs=15, hidden=(256, 128), batch_size=128,
        warmup_epochs=5, n_max=5000,
        # chosen by tune-verify / tune-attributes on validation splits of the
        # training side (see results/face_tasks.md)
        clmle=dict(embedding_dim=64, cluster_size=200, n_clusters_per_batch=12,
                   n_samples_per_cluster=20, scale=32.0),
        ml_warmup_epochs=7,
        ml_clmle=dict(embedding_dim=16, cluster_size=200, n_clusters_per_batch=12,
                      n_samples_per_cluster=20, scale=32.0),
        knc=dict(n_neighbors=100, cluster_size=200, scale=16.0, aggregate="min",
                 prior_correction=1.0),
        pool=2,
    ),
    "digits": Config(
        name="digits", epochs=100, hidden=(256, 128), batch_size=64,
        warmup_epochs=30, imbalance_ratio=10.0, n_pairs=4000,
        # the suite's digits settings, then scale and the classifier chosen by
        # tune-verify / tune-attributes --quick on validation splits
        clmle=dict(embedding_dim=32, cluster_size=20, n_clusters_per_batch=8,
                   n_samples_per_cluster=10, scale=64.0),
        ml_epochs=60, ml_warmup_epochs=20,
        ml_clmle=dict(embedding_dim=16, cluster_size=20, n_clusters_per_batch=8,
                      n_samples_per_cluster=10, scale=32.0),
        knc=dict(n_neighbors=100, cluster_size=20, scale=16.0, aggregate="min",
                 prior_correction=3.0),
        n_mosaics=(3000, 1000, 3000), knc_cluster_sizes=(5, 20),
    ),
}


# -- data -------------------------------------------------------------------


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


def steps_per_round(n, epochs, warmup_epochs, n_rounds, batch):
    """Steps per round so that warm-up + rounds see ``epochs * n`` samples."""
    return max(1, round((epochs - warmup_epochs) * n / (n_rounds * batch)))


def make_clmle(cfg, n, seed, *, multilabel=False, **overrides):
    params = dict(cfg.ml_clmle if multilabel else cfg.clmle)
    params.update(warmup_epochs=cfg.ml_warmup_epochs if multilabel
                  else cfg.warmup_epochs, n_rounds=5)
    params.update(overrides)
    epochs = cfg.ml_epochs if multilabel else cfg.epochs
    batch = params["n_clusters_per_batch"] * params["n_samples_per_cluster"]
    params.setdefault("steps_per_round", steps_per_round(
        n, epochs, params["warmup_epochs"], params["n_rounds"], batch))
    return CLMLEEmbedder(hidden_units=cfg.hidden, random_state=seed, device="cpu",
                         **params)


def make_net(cfg, seed, loss, *, multilabel=False, **params):
    return LongTailNetClassifier(
        hidden_units=cfg.hidden, loss=loss, batch_size=cfg.batch_size,
        epochs=cfg.ml_epochs if multilabel else cfg.epochs,
        random_state=seed, device="cpu", **params)


def make_triplet(cfg, n, n_classes, seed):
    """Batch-hard triplet loss, P classes x K samples with CLMLE's batch shape
    (as in benchmarks/suite/methods.py), the same warm-up and budget."""
    from sklearn_clmle import MetricEmbedder

    p = min(cfg.clmle["n_clusters_per_batch"], n_classes)
    k = cfg.clmle["n_samples_per_cluster"]
    return MetricEmbedder(
        loss="triplet", hidden_units=cfg.hidden,
        embedding_dim=cfg.clmle["embedding_dim"], n_classes_per_batch=p,
        n_samples_per_class=k, warmup_epochs=cfg.warmup_epochs, n_rounds=5,
        steps_per_round=steps_per_round(n, cfg.epochs, cfg.warmup_epochs, 5, p * k),
        random_state=seed, device="cpu")


def has_triplet():
    try:
        from sklearn_clmle import MetricEmbedder  # noqa: F401
    except (ImportError, AttributeError):
        return False
    return True


def verify_methods(cfg, n, n_classes, seed, clmle_overrides=None):
    """name -> unfitted embedder (``fit(X, y)`` then ``transform(X)``)."""
    methods = {
        "CLMLE": make_clmle(cfg, n, seed, **(clmle_overrides or {})),
        "CE": make_net(cfg, seed, "ce"),
        "weighted CE": make_net(cfg, seed, "weighted_ce"),
        "CosFace": make_net(cfg, seed, "cosface"),
        "ArcFace": make_net(cfg, seed, "arcface"),
    }
    if has_triplet():
        methods["triplet"] = make_triplet(cfg, n, n_classes, seed)
    return methods


# -- open-set scores ---------------------------------------------------------


def verification_scores(Z, y, n_pairs, seed):
    """Cosine scores and ``is_same`` of balanced pairs drawn from ``y``."""
    a, b, same = make_pairs(y, n_pairs=n_pairs, random_state=seed)
    return pair_scores(Z[a], Z[b]), same


def identification_rank1(Z, y, Z_distract, n_enrol, seed):
    """Mean rank-1 over ``n_enrol`` draws of one enrolled image per class;
    the other images are probes, the gallery holds the enrolled images and
    the distractors."""
    rng = np.random.RandomState(seed)
    accs = []
    for _ in range(n_enrol):
        enrol = np.array([rng.choice(np.flatnonzero(y == c)) for c in np.unique(y)])
        probe = np.setdiff1d(np.arange(len(y)), enrol)
        gallery = np.concatenate([Z[enrol], Z_distract])
        labels = np.concatenate([y[enrol], np.full(len(Z_distract), -1)])
        accs.append(rank_k_accuracy(Z[probe], y[probe], gallery, labels, k=1))
    return float(np.mean(accs))


def evaluate_open_set(Z_eval, y_eval, Z_distract, cfg, seed):
    """Verification report + identification rank-1; also the ROC points."""
    scores, same = verification_scores(Z_eval, y_eval, cfg.n_pairs, seed)
    rep = verification_report(scores, same, fars=FARS, n_folds=10)
    rng = np.random.RandomState(seed)
    take = rng.choice(len(Z_distract), min(cfg.n_distractors, len(Z_distract)),
                      replace=False)
    rep["rank1"] = identification_rank1(Z_eval, y_eval, Z_distract[take],
                                        cfg.n_enrol, seed)
    fpr, tpr, _ = roc_curve(same, scores)
    return rep, (fpr, tpr)


def fit_embed(est, X, y, *others):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tic = time.perf_counter()
        est.fit(X, y)
        dur = time.perf_counter() - tic
    return dur, [est.transform(Xo) for Xo in others]


# -- attribute scores --------------------------------------------------------


def per_attribute_bacc(Y_true, Y_pred):
    return np.array([balanced_accuracy_score(Y_true[:, j], Y_pred[:, j])
                     for j in range(Y_true.shape[1])])


def attribute_methods(cfg, n, seed, clmle_overrides=None, knc_overrides=None):
    """name -> unfitted multi-label predictor (``fit(X, Y)``, ``predict``)."""
    from sklearn.pipeline import make_pipeline

    knc = dict(cfg.knc, **(knc_overrides or {}))
    return {
        "CLMLE + KNC": make_pipeline(
            make_clmle(cfg, n, seed, multilabel=True, **(clmle_overrides or {})),
            KNearestClusterClassifier(multilabel_features="blocks",
                                      random_state=seed, **knc)),
        "weighted BCE": make_net(cfg, seed, "weighted_ce", multilabel=True),
        "BCE": make_net(cfg, seed, "ce", multilabel=True),
    }


# cluster_size comes from Config.knc_cluster_sizes (10 is left out on
# Fashion-MNIST: on 20,000 mosaics its 2,000 equal-size clusters per attribute
# take about 30 s an attribute to fit).
KNC_GRID = dict(
    n_neighbors=(10, 30, 100),
    aggregate=("min", "max"),
    prior_correction=(1.0, 2.0, 3.0, 4.0),
)


def knc_grid_scores(Z_train, Y_train, Z_val, Y_val, scales, cluster_sizes, seed,
                    grid=KNC_GRID):
    """Validation mean balanced accuracy of per-attribute KNC over a grid
    (one clustering per cluster_size)."""
    out = {}
    for size in cluster_sizes:
        clf = KNearestClusterClassifier(cluster_size=size, multilabel_features="blocks",
                                        random_state=seed).fit(Z_train, Y_train)
        for nb, sc, agg, tau in itertools.product(
                grid["n_neighbors"], scales, grid["aggregate"],
                grid["prior_correction"]):
            for est in clf.estimators_:
                est.set_params(n_neighbors=nb, scale=sc, aggregate=agg,
                               prior_correction=tau)
            key = (("cluster_size", size), ("n_neighbors", nb), ("scale", sc),
                   ("aggregate", agg), ("prior_correction", tau))
            out[key] = per_attribute_bacc(Y_val, clf.predict(Z_val)).mean()
    return out


# -- results -----------------------------------------------------------------


def write_csv(rows, path, append=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not (append and path.exists())
    with path.open("a" if append else "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)


def mean_std(values, scale=100.0):
    v = scale * np.asarray(values, dtype=float)
    return f"{v.mean():.2f} ± {v.std():.2f}"


VERIFY_COLUMNS = [("accuracy", "verification acc."), ("auc", "ROC AUC"),
                  ("tar@far=0.01", "TAR @ FAR 1e-2"),
                  ("tar@far=0.001", "TAR @ FAR 1e-3"), ("rank1", "rank-1")]


def verify_markdown(rows, cfg, seeds, header):
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [header, "",
             "| method | " + " | ".join(c for _, c in VERIFY_COLUMNS) + " | fit (s) |",
             "| --- |" + " --- |" * (len(VERIFY_COLUMNS) + 1)]
    for m in methods:
        mr = [r for r in rows if r["method"] == m]
        cells = [mean_std([r[k] for r in mr]) for k, _ in VERIFY_COLUMNS]
        fit = np.mean([r["fit_s"] for r in mr])
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {fit:.1f} |")
    unseen = {r["seed"]: r.get("unseen", "") for r in rows}
    lines += ["", "Per seed (verification accuracy / AUC / TAR@1e-3, %); the "
              "unseen classes differ from seed to seed, and so does how hard "
              "they are:", "", "| method | " + " | ".join(
                  f"seed {s} (unseen {unseen[s]})" for s in seeds) + " |",
              "| --- |" + " --- |" * len(seeds)]
    for m in methods:
        cells = []
        for s in seeds:
            r = next(r for r in rows if r["method"] == m and r["seed"] == s)
            cells.append(f"{100 * r['accuracy']:.1f} / {100 * r['auc']:.1f} / "
                         f"{100 * r['tar@far=0.001']:.1f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_roc(curves, path, title):
    """One panel per seed: ``curves[seed][method] = (fpr, tpr)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = list(curves)
    fig, axes = plt.subplots(1, len(seeds), figsize=(4.2 * len(seeds) + 0.8, 4.2),
                             sharey=True, squeeze=False)
    for ax, seed in zip(axes[0], seeds):
        for name, (fpr, tpr) in curves[seed].items():
            keep = fpr > 0
            ax.plot(fpr[keep], tpr[keep], label=name)
        ax.set_xscale("log")
        ax.set_xlabel("false accept rate (log scale)")
        ax.set_title(f"seed {seed}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("true accept rate")
    axes[0, -1].legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def attributes_markdown(rows, rates, header):
    """``rows``: one per (method, seed) with ``bacc`` an array per attribute."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [header, "", "| method | mean balanced accuracy (%) | fit (s) |",
             "| --- | --- | --- |"]
    for m in methods:
        mr = [r for r in rows if r["method"] == m]
        lines.append(f"| {m} | {mean_std([r['bacc'].mean() for r in mr])} | "
                     f"{np.mean([r['fit_s'] for r in mr]):.1f} |")
    order = np.argsort(-rates)
    lines += ["", "Per attribute (sorted by training positive rate; balanced "
              "accuracy %, mean ± std over seeds; attribute = rank of its rate, "
              "the class behind it varies with the seed):", "",
              "| attribute | positive rate (%) | " + " | ".join(methods) + " |",
              "| --- | --- |" + " --- |" * len(methods)]
    for rank, j in enumerate(order):
        cells = [mean_std([r["bacc"][j] for r in rows if r["method"] == m])
                 for m in methods]
        lines.append(f"| {rank + 1} | {100 * rates[j]:.1f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_attributes(rows, rates, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    order = np.argsort(-rates)
    for m in dict.fromkeys(r["method"] for r in rows):
        b = np.mean([r["bacc"] for r in rows if r["method"] == m], axis=0)
        ax.plot(100 * rates[order], 100 * b[order], marker="o", label=m)
    ax.set_xscale("log")
    ax.set_xticks([2, 5, 10, 20, 50], labels=["2", "5", "10", "20", "50"])
    ax.minorticks_off()
    ax.invert_xaxis()
    ax.set_xlabel("attribute positive rate in training (%, log scale)")
    ax.set_ylabel("balanced accuracy (%, mean over seeds)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- modes -------------------------------------------------------------------


def run_verify(args, cfg):
    X_tr, X_te, y_tr, y_te = load_images(cfg.name)
    rows, curves = [], {}
    for seed in args.seeds:
        split = open_set_split(X_tr, y_tr, X_te, y_te, cfg, seed)
        n = len(split.y_train)
        print(f"seed {seed}: {n} training images of {len(np.unique(split.y_train))} "
              f"seen classes ({np.bincount(split.y_train).tolist()}), unseen "
              f"{split.unseen_classes}", flush=True)
        n_classes = len(np.unique(split.y_train))
        for name, est in verify_methods(cfg, n, n_classes, seed).items():
            dur, (Z, Zd) = fit_embed(est, split.X_train, split.y_train,
                                     split.X_eval, split.X_distract)
            rep, roc = evaluate_open_set(Z, split.y_eval, Zd, cfg, seed)
            rows.append(dict(dataset=cfg.name, seed=seed, method=name, n_train=n,
                             unseen=" ".join(map(str, split.unseen_classes)),
                             **rep, fit_s=round(dur, 2)))
            curves.setdefault(seed, {})[name] = roc
            print({k: (round(v, 4) if isinstance(v, float) else v)
                   for k, v in rows[-1].items()}, flush=True)
    stem = RESULTS / f"face_verification_{cfg.name}"
    write_csv(rows, stem.with_suffix(".csv"))
    header = (f"# Open-set verification, {cfg.name}: "
              f"mean ± std over seeds {list(args.seeds)} (%)\n\n"
              f"Command: `python benchmarks/bench_face_tasks.py verify"
              f"{' --quick' if args.quick else ''} --seeds "
              f"{' '.join(map(str, args.seeds))}`. Seen classes: "
              f"{10 - cfg.n_unseen}, long-tailed (imbalance ratio "
              f"{cfg.imbalance_ratio:g}); unseen: {cfg.n_unseen} classes of the test "
              f"split, {cfg.n_pairs} balanced pairs; identification: 1 enrolled "
              f"image per unseen class + {cfg.n_distractors} distractors, mean "
              f"over {cfg.n_enrol} enrolments. Budget {cfg.epochs} epochs of the "
              f"seen training set for every method.")
    stem.with_suffix(".md").write_text(verify_markdown(rows, cfg, list(args.seeds),
                                                       header))
    plot_roc(curves, stem.with_suffix(".png"),
             f"{cfg.name}: ROC on the unseen classes (each seed its own split)")
    print("wrote", stem.with_suffix(".md"))


def run_attributes(args, cfg):
    X_tr, X_te, y_tr, y_te = load_images(cfg.name)
    rows, rates = [], []
    for seed in args.seeds:
        data = mosaic_split(X_tr, y_tr, X_te, y_te, cfg, seed)
        n = len(data.Y_train)
        rates.append(data.Y_train.mean(axis=0))
        print(f"seed {seed}: {n} training mosaics, {data.X_train.shape[1]} pixels, "
              f"positive rates {np.round(100 * rates[-1], 1).tolist()}", flush=True)
        for name, est in attribute_methods(cfg, n, seed).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                tic = time.perf_counter()
                est.fit(data.X_train, data.Y_train)
                dur = time.perf_counter() - tic
                bacc = per_attribute_bacc(data.Y_test, est.predict(data.X_test))
            rows.append(dict(method=name, seed=seed, bacc=bacc, fit_s=dur))
            print(f"  {name}: mean bacc {100 * bacc.mean():.2f} "
                  f"({np.round(100 * bacc, 1).tolist()}) fit {dur:.0f}s", flush=True)
    # make_mosaics' default rates fall with the column (50 % to 2 %): the
    # columns are already in the order of the rates, whatever the seed
    rates = np.mean(rates, axis=0)
    stem = RESULTS / f"face_attributes_{cfg.name}"
    csv_rows = [dict(dataset=cfg.name, seed=r["seed"], method=r["method"],
                     attribute_rank=j + 1, positive_rate=round(rates[j], 4),
                     balanced_accuracy=round(r["bacc"][j], 4),
                     fit_s=round(r["fit_s"], 2))
                for r in rows for j in range(len(rates))]
    write_csv(csv_rows, stem.with_suffix(".csv"))
    header = (f"# Imbalanced multi-label attributes, {cfg.name} mosaics: seeds "
              f"{list(args.seeds)}\n\nCommand: `python benchmarks/bench_face_tasks.py "
              f"attributes{' --quick' if args.quick else ''} --seeds "
              f"{' '.join(map(str, args.seeds))}`. 2x2 mosaics, "
              f"{cfg.n_mosaics[0]} training / {cfg.n_mosaics[2]} test, 10 "
              f"attributes; budget {cfg.ml_epochs} epochs for every method; "
              "balanced accuracy of each attribute, thresholds: logit > 0 for the "
              "BCE nets, the k-nearest-cluster rule for CLMLE.")
    stem.with_suffix(".md").write_text(attributes_markdown(rows, rates, header))
    plot_attributes(rows, rates, stem.with_suffix(".png"),
                    f"{cfg.name} mosaics: balanced accuracy per attribute")
    print("wrote", stem.with_suffix(".md"))


def _configs(args):
    """CLMLE settings to try: the current ones ("") unless skipped, + extras."""
    return ([] if args.skip_current else [""]) + list(args.configs)


def run_tune_verify(args, cfg):
    X_tr, _, y_tr, _ = load_images(cfg.name)
    rows = []
    for seed in args.seeds:
        split = validation_open_set(X_tr, y_tr, cfg, seed)
        n = len(split.y_train)
        print(f"tune seed {seed}: {n} training images, counts "
              f"{np.bincount(split.y_train).tolist()}, validation classes "
              f"{split.unseen_classes}", flush=True)
        vcfg = replace(cfg, n_pairs=min(cfg.n_pairs, 10000))
        todo = [("CLMLE", c) for c in _configs(args)]
        if args.baselines:
            todo = [(m, "") for m in ("CE", "weighted CE", "CosFace", "ArcFace")
                    + (("triplet",) if has_triplet() else ())] + todo
        for name, config in todo:
            overrides = eval(f"dict({config})") if config else {}
            if name == "CLMLE":
                est = make_clmle(cfg, n, seed, **overrides)
            else:
                est = verify_methods(cfg, n, len(np.unique(split.y_train)),
                                     seed)[name]
            dur, (Z, Zd) = fit_embed(est, split.X_train, split.y_train,
                                     split.X_eval, split.X_distract)
            rep, _ = evaluate_open_set(Z, split.y_eval, Zd, vcfg, seed)
            rows.append(dict(dataset=cfg.name, seed=seed, method=name,
                             config=config, **{k: round(v, 4) for k, v in rep.items()},
                             fit_s=round(dur, 1)))
            print(rows[-1], flush=True)
    write_csv(rows, RESULTS / "face_tuning_verify.csv", append=True)


def run_tune_attributes(args, cfg):
    X_tr, X_te, y_tr, y_te = load_images(cfg.name)
    rows = []
    for seed in args.seeds:
        data = mosaic_split(X_tr, y_tr, X_te, y_te, cfg, seed)
        n = len(data.Y_train)
        if args.baselines:
            for loss in ("weighted_ce", "ce"):
                est = make_net(cfg, seed, loss, multilabel=True)
                est.fit(data.X_train, data.Y_train)
                b = per_attribute_bacc(data.Y_val, est.predict(data.X_val)).mean()
                rows.append(dict(dataset=cfg.name, seed=seed, method=loss, config="",
                                 classifier="", val_bacc=round(b, 4)))
                print(rows[-1], flush=True)
        for config in _configs(args):
            overrides = eval(f"dict({config})") if config else {}
            emb = make_clmle(cfg, n, seed, multilabel=True, **overrides)
            dur, (Ztr, Zva) = fit_embed(emb, data.X_train, data.Y_train,
                                        data.X_train, data.X_val)
            scores = knc_grid_scores(Ztr, data.Y_train, Zva, data.Y_val,
                                     sorted({16.0, emb.scale}),
                                     cfg.knc_cluster_sizes, seed)
            best = max(scores, key=scores.get)
            for knc, acc in scores.items():
                rows.append(dict(dataset=cfg.name, seed=seed, method="CLMLE + KNC",
                                 config=config, classifier=str(dict(knc)),
                                 val_bacc=round(acc, 4)))
            # diagnostic: is the embedding or the rule the bottleneck?
            d = Ztr.shape[1] // data.Y_train.shape[1]
            logreg = np.column_stack([
                LogisticRegression(class_weight="balanced", max_iter=1000)
                .fit(Ztr[:, j * d:(j + 1) * d], data.Y_train[:, j])
                .predict(Zva[:, j * d:(j + 1) * d])
                for j in range(data.Y_train.shape[1])])
            lr_bacc = per_attribute_bacc(data.Y_val, logreg).mean()
            rows.append(dict(dataset=cfg.name, seed=seed, method="CLMLE + LogReg",
                             config=config, classifier="balanced, per block",
                             val_bacc=round(lr_bacc, 4)))
            print(f"CLMLE {config!r} fit {dur:.0f}s best {dict(best)} "
                  f"{scores[best]:.4f}; balanced LogReg per block {lr_bacc:.4f}",
                  flush=True)
    write_csv(rows, RESULTS / "face_tuning_attributes.csv", append=True)


def _lock_owner_alive():
    """Whether the process named in LOCK still runs (a killed run leaves it)."""
    try:
        pid = int(LOCK.read_text().split("pid")[-1])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def wait_for_lock():
    """Wait while another benchmark holding LOCK runs (one at a time)."""
    while LOCK.exists() and _lock_owner_alive():
        print("waiting for", LOCK, file=sys.stderr, flush=True)
        time.sleep(30)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["verify", "attributes", "tune-verify",
                                         "tune-attributes"])
    parser.add_argument("--quick", action="store_true",
                        help="scikit-learn's digits instead of Fashion-MNIST")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configs", nargs="*", default=[],
                        help='extra CLMLE settings for tune-*, e.g. "scale=32"')
    parser.add_argument("--skip-current", action="store_true",
                        help="tune-*: do not re-run the current CLMLE settings")
    parser.add_argument("--baselines", action="store_true",
                        help="tune-*: also score the baselines on validation")
    args = parser.parse_args(argv)
    cfg = CONFIGS["digits" if args.quick else "fmnist"]
    torch.set_num_threads(args.threads)
    mode = {"verify": run_verify, "attributes": run_attributes,
            "tune-verify": run_tune_verify,
            "tune-attributes": run_tune_attributes}[args.mode]
    wait_for_lock()
    LOCK.write_text(f"bench_face_tasks.py {args.mode} pid {os.getpid()}\n")
    # a `timeout` or `kill` ends the run through the finally clause below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with threadpool_limits(args.threads):
            mode(args, cfg)
    finally:
        LOCK.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
