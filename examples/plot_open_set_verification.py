"""
=====================================================
Open-set verification of unseen classes (digits)
=====================================================

The face-verification protocol of the CLMLE paper, on scikit-learn's 8x8
digits: embeddings are learned on *seen* classes and judged on classes they
have never seen, by whether two images of those classes are "the same".

- ``split_seen_unseen`` keeps 3 of the 10 digits out of training;
- the 7 seen digits of the training half are made long-tailed (imbalance ratio
  10), as face identities are;
- every embedder trains the same MLP with the same budget (samples seen):
  ``CLMLEEmbedder``; the penultimate features of ``LongTailNetClassifier``
  with cross-entropy, class-weighted cross-entropy and CosFace;
- on the unseen digits of the test half, ``make_pairs`` draws balanced
  positive and negative pairs, scored by cosine similarity:
  verification accuracy (10-fold threshold selection, as on LFW), ROC AUC and
  the true-accept rate at a false-accept rate of 1 %.

The ROC curves are saved to ``benchmarks/results/examples/demo_open_set_roc.png``.
``benchmarks/bench_face_tasks.py verify`` runs the same protocol on
Fashion-MNIST, with more seeds and methods.
"""

# %%
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_curve
from sklearn.model_selection import train_test_split

from sklearn_clmle import CLMLEEmbedder
from sklearn_clmle.datasets import make_long_tailed
from sklearn_clmle.embedding import LongTailNetClassifier
from sklearn_clmle.metrics import (
    make_pairs,
    pair_scores,
    split_seen_unseen,
    verification_report,
)

SEEDS = [0, 1, 2]
EPOCHS = 100  # the budget: passes over the long-tailed training set

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)


def open_set_data(seed):
    """Long-tailed seen classes for training, unseen test images for pairs."""
    seen, _ = split_seen_unseen(y_train, n_unseen=3, random_state=seed)
    X_lt, y_lt = make_long_tailed(
        X_train[seen], y_train[seen], imbalance_ratio=10, random_state=seed
    )
    unseen = ~np.isin(y_test, np.unique(y_lt))
    return X_lt, y_lt, X_test[unseen], y_test[unseen]


def embedders(n, seed):
    warmup, n_rounds, batch = 30, 5, 8 * 10
    steps = round((EPOCHS - warmup) * n / (n_rounds * batch))  # same budget
    net = dict(hidden_units=(256, 128), epochs=EPOCHS, batch_size=64,
               random_state=seed)
    return {
        # settings of `bench_face_tasks.py --quick`, chosen on held-out
        # *seen* classes (never the unseen test classes)
        "CLMLE": CLMLEEmbedder(
            hidden_units=(256, 128), embedding_dim=32, cluster_size=20,
            n_clusters_per_batch=8, n_samples_per_cluster=10, scale=64.0,
            warmup_epochs=warmup, n_rounds=n_rounds, steps_per_round=steps,
            random_state=seed,
        ),
        "cross-entropy": LongTailNetClassifier(loss="ce", **net),
        "weighted cross-entropy": LongTailNetClassifier(loss="weighted_ce", **net),
        "CosFace": LongTailNetClassifier(loss="cosface", **net),
    }


# %%
# Train on the seen classes, score pairs of the unseen ones.  The baselines'
# features are not normalised: ``pair_scores`` takes the cosine.
reports, curves = {}, {}
for seed in SEEDS:
    X_lt, y_lt, X_unseen, y_unseen = open_set_data(seed)
    a, b, same = make_pairs(y_unseen, n_pairs=4000, random_state=seed)
    for name, est in embedders(len(y_lt), seed).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            Z = est.fit(X_lt, y_lt).transform(X_unseen)
        scores = pair_scores(Z[a], Z[b])
        reports.setdefault(name, []).append(
            verification_report(scores, same, fars=(1e-2,))
        )
        if seed == SEEDS[0]:
            curves[name] = roc_curve(same, scores)[:2]

print(f"Unseen digits, {len(SEEDS)} seeds (each its own split), % (mean ± std)\n")
print("| embedder | verification accuracy | ROC AUC | TAR @ FAR 1e-2 |")
print("| --- | --- | --- | --- |")
for name, reps in reports.items():
    cells = []
    for key in ("accuracy", "auc", "tar@far=0.01"):
        v = 100 * np.array([r[key] for r in reps])
        cells.append(f"{v.mean():.1f} ± {v.std():.1f}")
    print(f"| {name} | " + " | ".join(cells) + " |")

# %%
# ROC curves of the first seed, false-accept rate on a log scale as in face
# verification papers.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # matplotlib is an optional (benchmark) extra
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (fpr, tpr) in curves.items():
        keep = fpr > 0
        ax.plot(fpr[keep], tpr[keep], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate (log scale)")
    ax.set_ylabel("true accept rate")
    ax.set_title(f"Digits never seen in training (seed {SEEDS[0]})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    # run as a script, keep a copy beside the benchmarks' plots (the
    # documentation's gallery, which defines no __file__, shows the figure)
    if "__file__" in globals():
        out = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "examples"
        out.mkdir(parents=True, exist_ok=True)
        fig.savefig(out / "demo_open_set_roc.png", dpi=100)
        print(f"\nplot saved to {out / 'demo_open_set_roc.png'}")
