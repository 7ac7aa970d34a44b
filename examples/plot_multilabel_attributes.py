"""
=========================================================
Imbalanced multi-label attributes on mosaics of digits
=========================================================

The attribute-prediction task of the CLMLE paper (CelebA's 40 binary
attributes, positive rates from about 2 % to 50 %), on real pixels that ship
with scikit-learn: ``make_mosaics`` tiles 2x2 digits into 16x16 images, and
attribute ``j`` says "the mosaic contains a digit ``j``".  The digits' tile
frequencies are skewed so that the positive rates fall from 50 % (digit 0) to
2 % (digit 9).

- ``CLMLEEmbedder`` trained on the indicator matrix: one embedding head per
  attribute on a shared MLP, each with its own per-class clusters and margins;
  then one ``KNearestClusterClassifier`` per attribute on that attribute's
  block of the embedding (``multilabel_features="blocks"``);
- ``LongTailNetClassifier`` on the same MLP and budget, with per-attribute
  class-balanced binary cross-entropy (``loss="weighted_ce"``) and with plain
  binary cross-entropy (``loss="ce"``).

Each attribute is scored by balanced accuracy (the mean of the recalls of
its positives and negatives), the paper's measure; the plot
(``benchmarks/results/examples/demo_attributes_bacc.png``) shows it against the
attribute's positive rate.  ``benchmarks/bench_face_tasks.py attributes``
runs the same comparison on Fashion-MNIST mosaics.
"""

# %%
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier
from sklearn_clmle.datasets import make_mosaics
from sklearn_clmle.embedding import LongTailNetClassifier

SEED = 0
EPOCHS = 60  # the budget: passes over the training mosaics, for every method

digits = load_digits()
images = (digits.images / 16.0).astype(np.float32)
img_train, img_test, lab_train, lab_test = train_test_split(
    images, digits.target, test_size=0.5, stratify=digits.target, random_state=0
)
# training and test mosaics are tiled from disjoint halves of the digits
X, Y = make_mosaics(img_train, lab_train, n_samples=3000, random_state=SEED)
X_test, Y_test = make_mosaics(img_test, lab_test, n_samples=3000,
                              random_state=SEED + 1)
rates = Y.mean(axis=0)
print("positive rate of each attribute (%):", np.round(100 * rates, 1).tolist())

# %%
warmup, n_rounds, batch = 20, 5, 8 * 10
steps = round((EPOCHS - warmup) * len(Y) / (n_rounds * batch))  # same budget
net = dict(hidden_units=(256, 128), epochs=EPOCHS, batch_size=64,
           random_state=SEED)
methods = {
    "CLMLE + k-nearest clusters": make_pipeline(
        CLMLEEmbedder(
            hidden_units=(256, 128), embedding_dim=16, cluster_size=20,
            n_clusters_per_batch=8, n_samples_per_cluster=10, scale=32.0,
            warmup_epochs=warmup, n_rounds=n_rounds, steps_per_round=steps,
            random_state=SEED,
        ),
        # chosen on validation mosaics by `bench_face_tasks.py tune-attributes
        # --quick`; prior_correction favours each attribute's rare positives
        KNearestClusterClassifier(
            multilabel_features="blocks", n_neighbors=100, cluster_size=20,
            scale=16.0, aggregate="min", prior_correction=3.0, random_state=SEED,
        ),
    ),
    "class-balanced BCE": LongTailNetClassifier(loss="weighted_ce", **net),
    "BCE": LongTailNetClassifier(loss="ce", **net),
}

bacc = {}
for name, est in methods.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pred = est.fit(X, Y).predict(X_test)
    bacc[name] = np.array([balanced_accuracy_score(Y_test[:, j], pred[:, j])
                           for j in range(Y.shape[1])])

print("\n| attribute | positive rate (%) | " + " | ".join(bacc) + " |")
print("| --- | --- |" + " --- |" * len(bacc))
for j in np.argsort(-rates):
    print(f"| contains {j} | {100 * rates[j]:.1f} | "
          + " | ".join(f"{100 * b[j]:.1f}" for b in bacc.values()) + " |")
print("| **mean** | | " + " | ".join(f"**{100 * b.mean():.1f}**"
                                    for b in bacc.values()) + " |")

# %%
# Balanced accuracy of each attribute against its positive rate: the rare
# attributes on the right are where the methods differ.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # matplotlib is an optional (benchmark) extra
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    order = np.argsort(-rates)
    for name, b in bacc.items():
        ax.plot(100 * rates[order], 100 * b[order], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xticks([2, 5, 10, 20, 50], labels=["2", "5", "10", "20", "50"])
    ax.minorticks_off()
    ax.invert_xaxis()
    ax.set_xlabel("attribute positive rate (%, log scale)")
    ax.set_ylabel("balanced accuracy (%)")
    ax.set_title("Digit mosaics: one attribute per digit")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    # run as a script, keep a copy beside the benchmarks' plots (the
    # documentation's gallery, which defines no __file__, shows the figure)
    if "__file__" in globals():
        out = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "examples"
        out.mkdir(parents=True, exist_ok=True)
        fig.savefig(out / "demo_attributes_bacc.png", dpi=100)
        print(f"\nplot saved to {out / 'demo_attributes_bacc.png'}")
