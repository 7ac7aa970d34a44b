"""What a user gets with no arguments but ``random_state``: three checks.

``digits``      long-tailed digits (imbalance ratio 20, half of the data as a
                balanced test set, seeds 0 and 1):
                ``Pipeline([CLMLEEmbedder(), KNearestClusterClassifier()])``
                against an MLP of the same size, budget and weight decay
                (``LongTailNetClassifier`` with the embedder's resolved
                ``hidden_units_``, ``epochs_`` and ``weight_decay_``) trained
                with cross-entropy and with logit-adjusted cross-entropy.
``multimodal``  ``KNearestClusterClassifier()`` on 100,000 unit-norm 64-d rows
                of 10 long-tailed classes (imbalance ratio 100), each class 8
                separated modes, 2,000 balanced queries: against
                ``KNeighborsClassifier(10)`` and the paper's rule
                (``cluster_size=200, scale=1, aggregate="min"``).
``speed``       predict time of ``KNearestClusterClassifier(cluster_size=200)``
                against ``KNeighborsClassifier(algorithm="brute")`` at 100,000
                x 64 float32 training rows and 2,000 queries (median of
                interleaved repeats).

::

    python benchmarks/bench_defaults.py digits multimodal speed

Results: ``benchmarks/results/clmle/defaults.md`` (one section per check,
replaced when that check is re-run).
"""

import argparse
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_clmle import (  # noqa: E402
    CLMLEEmbedder, KNearestClusterClassifier, LongTailNetClassifier,
)
from sklearn_clmle.datasets import make_long_tailed  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "clmle" / "defaults.md"


def _bacc(y, p):
    return balanced_accuracy_score(y, p)


def digits(seeds=(0, 1)):
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    rows = []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y,
                                                  random_state=seed)
        n_test = np.bincount(y_te).min()
        keep = np.concatenate([np.flatnonzero(y_te == c)[:n_test] for c in range(10)])
        X_te, y_te = X_te[keep], y_te[keep]
        X_tr, y_tr = make_long_tailed(X_tr, y_tr, imbalance_ratio=20, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe = make_pipeline(CLMLEEmbedder(random_state=seed),
                                 KNearestClusterClassifier(random_state=seed))
            pipe.fit(X_tr, y_tr)
            emb = pipe[0]
            scores = {"defaults pipeline": _bacc(y_te, pipe.predict(X_te))}
            for loss, label in (("ce", "MLP, cross-entropy"),
                                ("logit_adjusted", "MLP, logit-adjusted CE")):
                net = LongTailNetClassifier(
                    hidden_units=emb.hidden_units_, loss=loss, epochs=emb.epochs_,
                    weight_decay=emb.weight_decay_, random_state=seed,
                ).fit(X_tr, y_tr)
                scores[label] = _bacc(y_te, net.predict(X_te))
        rows.append((seed, len(y_tr), scores))
        print("digits", seed, {k: round(v, 4) for k, v in scores.items()}, flush=True)
    methods = list(rows[0][2])
    lines = [f"Training rows per seed: {[r[1] for r in rows]}; the MLPs: hidden "
             f"units {emb.hidden_units_}, {emb.epochs_} epochs, weight decay "
             f"{emb.weight_decay_} (the embedder's resolved settings).\n",
             "| method | " + " | ".join(f"seed {r[0]}" for r in rows) + " | mean |",
             "| --- |" + " --- |" * (len(rows) + 1)]
    for m in methods:
        v = [r[2][m] for r in rows]
        lines.append(f"| {m} | " + " | ".join(f"{x:.4f}" for x in v)
                     + f" | {np.mean(v):.4f} |")
    return "\n".join(lines)


def multimodal_data(seed=0, n=100_000, d=64, n_classes=10, modes=8, ratio=100,
                    n_query=2000, noise=0.35):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_classes, modes, d))
    centers /= np.linalg.norm(centers, axis=2, keepdims=True)
    share = ratio ** (-np.arange(n_classes) / (n_classes - 1))
    counts = np.maximum(modes, (n * share / share.sum()).astype(int))

    def draw(sizes):
        X, y = [], []
        for c, k in enumerate(sizes):
            m = rng.integers(modes, size=k)
            X.append(centers[c, m] + noise / 4 * rng.normal(size=(k, d)))
            y.append(np.full(k, c))
        X = np.concatenate(X)
        return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32), \
            np.concatenate(y)

    return draw(counts) + draw(np.full(n_classes, n_query // n_classes))


def multimodal():
    X, y, Xq, yq = multimodal_data()
    lines = [f"Training rows per class: {np.bincount(y).tolist()}.\n",
             "| classifier | balanced accuracy | fit (s) | predict (s) | searched | settings |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, est in (
        ("KNeighborsClassifier(10)", KNeighborsClassifier(10)),
        ("paper rule (cluster_size=200, scale=1, min, no prior correction)",
         KNearestClusterClassifier(cluster_size=200, scale=1.0, aggregate="min",
                                   prior_correction=0.0, random_state=0)),
        ("KNearestClusterClassifier() (auto)", KNearestClusterClassifier(random_state=0)),
    ):
        t0 = time.perf_counter()
        est.fit(X, y)
        t1 = time.perf_counter()
        pred = est.predict(Xq)
        t2 = time.perf_counter()
        if isinstance(est, KNearestClusterClassifier):
            searched = f"{est.cluster_centers_.shape[0]} centroids"
            settings = (f"cluster_size {est.cluster_size_}, scale {est.scale_}, "
                        f"prior correction {est.prior_correction_}, {est.aggregate_}")
        else:
            searched, settings = f"{len(X)} samples", ""
        bacc = _bacc(yq, pred)
        print("multimodal", name, round(bacc, 4), f"{t1 - t0:.1f}s", flush=True)
        lines.append(f"| {name} | {bacc:.4f} | {t1 - t0:.1f} | {t2 - t1:.2f} | "
                     f"{searched} | {settings} |")
    return "\n".join(lines)


def speed(repeats=9):
    rng = np.random.default_rng(0)
    n, d, n_classes = 100_000, 64, 10
    means = rng.normal(size=(n_classes, d))
    share = 100 ** (-np.arange(n_classes) / (n_classes - 1))
    y = np.repeat(np.arange(n_classes), np.maximum(1, (n * share / share.sum())
                                                   .astype(int)))
    X = means[y] + rng.normal(size=(len(y), d))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    yq = rng.integers(n_classes, size=2000)
    Xq = means[yq] + rng.normal(size=(2000, d))
    Xq = (Xq / np.linalg.norm(Xq, axis=1, keepdims=True)).astype(np.float32)
    knc = KNearestClusterClassifier(cluster_size=200, random_state=0).fit(X, y)
    knn = KNeighborsClassifier(10, algorithm="brute").fit(X, y)
    times = {"knc": [], "knn": []}
    for _ in range(repeats):
        for key, est in (("knc", knc), ("knn", knn)):
            t = time.perf_counter()
            est.predict(Xq)
            times[key].append(time.perf_counter() - t)
    knc_s, knn_s = np.median(times["knc"]), np.median(times["knn"])
    print("speed", knc_s, knn_s, knn_s / knc_s, flush=True)
    return (f"{len(X)} x {d} float32 training rows, 2,000 queries, torch/BLAS "
            f"threads as the process has them, median of {repeats} interleaved "
            "repeats.\n\n| classifier | searched | predict (ms) | speed-up |\n"
            "| --- | --- | --- | --- |\n"
            f"| KNeighborsClassifier(10, algorithm=\"brute\") | {len(X)} samples | "
            f"{1000 * knn_s:.1f} | 1.0x |\n"
            f"| KNearestClusterClassifier(cluster_size=200) | "
            f"{knc.cluster_centers_.shape[0]} centroids | {1000 * knc_s:.2f} | "
            f"{knn_s / knc_s:.0f}x |")


CHECKS = {"digits": digits, "multimodal": multimodal, "speed": speed}
TITLES = {"digits": "Long-tailed digits (IR 20): defaults against same-size MLPs",
          "multimodal": "Multi-modal long tail: KNearestClusterClassifier defaults",
          "speed": "Predict speed against brute-force k-NN"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checks", nargs="+", choices=list(CHECKS))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = OUT.read_text() if OUT.exists() else (
        "# Defaults: what `random_state` alone gives\n\n"
        "Command: `python benchmarks/bench_defaults.py digits multimodal speed` "
        "(one check at a time replaces its section).\n")
    for name in args.checks:
        section = f"## {TITLES[name]}\n\n{CHECKS[name]()}\n"
        pattern = re.compile(rf"## {re.escape(TITLES[name])}\n.*?(?=\n## |\Z)", re.S)
        text = (pattern.sub(lambda _: section.rstrip("\n") + "\n", text)
                if pattern.search(text) else text.rstrip("\n") + "\n\n" + section)
        OUT.write_text(text.rstrip("\n") + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
