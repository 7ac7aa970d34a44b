"""
=====================================================
CLMLE against imbalanced-learn on long-tailed digits
=====================================================

The main job of the library on the data every scikit-learn install ships:
scikit-learn's 8x8 digits, made long-tailed (imbalance ratio 10, exponential
profile) on the training side only; the test split stays balanced.  Every
method sees the same data and is scored by balanced accuracy (mean per-class
recall) and per-class recall.

- imbalanced-learn re-sampling before logistic regression and before 5-NN
  (the classical floor);
- class-weighted logistic regression;
- ``Pipeline([CLMLEEmbedder(), KNearestClusterClassifier()])``: a small MLP
  trained with the cluster-based large-margin loss, classified by the
  k-nearest-cluster rule.

The plot (``benchmarks/results/examples/demo_per_class_recall.png``) shows the recall
of every class against its training frequency.  The full comparison (every
deep long-tail baseline on the same backbone, more data sets) is the
benchmark suite: ``python -m benchmarks.run``.
"""

# %%
import time
import warnings
from pathlib import Path

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier
from sklearn_clmle.datasets import make_long_tailed

SEEDS = [0, 1, 2]


def data(seed):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    X_lt, y_lt = make_long_tailed(X_train, y_train, imbalance_ratio=10, random_state=seed)
    return X_lt, y_lt, X_test, y_test


def methods(seed):
    return {
        "RandomOverSampler + LogReg": make_imb_pipeline(
            RandomOverSampler(random_state=seed), LogisticRegression(max_iter=2000)
        ),
        "SMOTE + 5-NN": make_imb_pipeline(
            SMOTE(k_neighbors=3, random_state=seed), KNeighborsClassifier(5)
        ),
        "class-weighted LogReg": LogisticRegression(
            class_weight="balanced", max_iter=2000
        ),
        "CLMLE + k-nearest clusters": make_pipeline(
            # the suite's digits settings (benchmarks/suite/methods.py), chosen
            # on development seeds (benchmarks/results/suite/suite_tuning.md)
            CLMLEEmbedder(
                hidden_units=(256, 128), embedding_dim=32, cluster_size=20,
                n_clusters_per_batch=8, n_samples_per_cluster=10, scale=32.0,
                warmup_epochs=5, n_rounds=5, steps_per_round=100,
                weight_decay=1e-3, random_state=seed,
            ),
            KNearestClusterClassifier(
                n_neighbors=10, cluster_size=1, scale=32.0, aggregate="min",
                prior_correction=2.0, random_state=seed,
            ),
        ),
    }


# %%
rows = {name: [] for name in methods(0)}
recalls = {name: [] for name in methods(0)}
counts = None
for seed in SEEDS:
    X, y, X_test, y_test = data(seed)
    counts = np.bincount(y)
    for name, est in methods(seed).items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            est.fit(X, y)
        seconds = time.perf_counter() - t0
        pred = est.predict(X_test)
        rows[name].append((balanced_accuracy_score(y_test, pred), seconds))
        recalls[name].append(recall_score(y_test, pred, average=None))

print(f"Long-tailed digits, imbalance ratio 10: {counts.sum()} training images "
      f"({counts.max()} down to {counts.min()} a class), balanced test set; "
      f"{len(SEEDS)} seeds.\n")
print("| method | balanced accuracy (%) | fit (s) |")
print("| --- | --- | --- |")
for name, values in rows.items():
    acc = 100 * np.array([v[0] for v in values])
    fit = np.mean([v[1] for v in values])
    print(f"| {name} | {acc.mean():.1f} ± {acc.std():.1f} | {fit:.2f} |")

# %%
# Per-class recall against training frequency (last seed's class sizes).
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # matplotlib is an optional (benchmark) extra
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 4))
    order = np.argsort(-counts)
    for name, rec in recalls.items():
        ax.plot(counts[order], np.mean(rec, axis=0)[order], marker="o", label=name)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("test recall (mean over seeds)")
    ax.set_title("Long-tailed digits: recall from head to tail")
    ax.legend(fontsize=8)
    fig.tight_layout()
    # run as a script, keep a copy beside the benchmarks' plots (the
    # documentation's gallery, which defines no __file__, shows the figure)
    if "__file__" in globals():
        out = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "examples"
        out.mkdir(parents=True, exist_ok=True)
        fig.savefig(out / "demo_per_class_recall.png", dpi=100)
        print(f"\nplot saved to {out / 'demo_per_class_recall.png'}")
