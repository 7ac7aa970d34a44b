"""Benchmark: KNearestClusterClassifier against instance k-nearest neighbours.

Part 1 - predict throughput.  Unit-norm synthetic features, d=64, long-tailed
classes (exponential profile, imbalance ratio 100) with 10 and with 1,000
classes, each class a mixture of ``--modes`` Gaussian modes, at every
``--sizes`` (training rows x queries: 100,000 x 2,000 and 200,000 x 10,000 by
default), ``cluster_size=200`` and the other settings at their defaults; the
same query set for every method.  ``KNearestClusterClassifier`` (exact
blocked search) against ``KNeighborsClassifier(algorithm="brute")`` and
``(algorithm="kd_tree")``, all with 10 neighbours.  Fit (clustering) time
reported beside it, and the share of each stage of
``KNearestClusterClassifier.predict`` (from cProfile over 10 calls: the
centroid product, the top-k selection, the rule's scores, the head,
validation and row normalisation, the rest).

Part 2 - balanced accuracy on real features: long-tailed Fashion-MNIST
(imbalance ratio 100, the full balanced test set), pixels / 255, PCA to 64
dimensions (fitted on the long-tailed training set).  Hyper-parameters of both
methods are chosen on a stratified validation split of the training set; the
table also gives instance kNN at its best k *on the test set* (an oracle, the
strongest form of the baseline).

Run ``python benchmarks/bench_nearest_cluster.py`` (``--quick`` for a smoke
run).  Results: ``benchmarks/results/neighbors/<--out>.{md,csv}``, with the
load average and the thread settings; the throughput part refuses to run when
the load average is above 1 per core (``--allow-busy`` runs it and marks the
results as measured under load).
"""

import argparse
import csv
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import normalize

from sklearn_clmle import KNearestClusterClassifier
from sklearn_clmle.neighbors._rule import NearestClusterRuleMixin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_busy_argument, check_quiet, exclusive_run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "neighbors"


def long_tailed_sizes(n_total, n_classes, ratio):
    profile = ratio ** (-np.arange(n_classes) / max(n_classes - 1, 1))
    return np.maximum(1, np.round(profile / profile.sum() * n_total)).astype(int)


def synthetic(n_train, n_query, n_features, n_classes, ratio, seed=0, dtype="float32",
              modes=1):
    """Unit rows around ``modes`` random directions per class (noise 0.15)."""
    rng = np.random.default_rng(seed)
    means = normalize(rng.normal(size=(n_classes * modes, n_features)))
    sizes = long_tailed_sizes(n_train, n_classes, ratio)
    y = np.repeat(np.arange(n_classes), sizes)
    mode = y * modes + (rng.integers(0, modes, len(y)) if modes > 1 else 0)
    X = normalize(means[mode] + rng.normal(scale=0.15, size=(len(y), n_features)))
    yq = rng.integers(0, n_classes, size=n_query)
    mode_q = yq * modes + (rng.integers(0, modes, n_query) if modes > 1 else 0)
    Xq = normalize(means[mode_q] + rng.normal(scale=0.15, size=(n_query, n_features)))
    return X.astype(dtype), y, Xq.astype(dtype), yq


# Stages of KNearestClusterClassifier.predict: (label, function name, file,
# "cum" for the time in the function and what it calls, "own" for the time
# in its own lines: CentroidIndex._brute's own time is its matrix product).
STAGES = [
    ("centroid product", "_brute", "neighbors/_scoring.py", "own"),
    ("top-k selection", "top_k", "neighbors/_scoring.py", "cum"),
    ("rule scores", "segment_scores", "neighbors/_scoring.py", "cum"),
    ("rule scores", "best_class", "neighbors/_scoring.py", "cum"),
    ("rule scores", "dense_scores", "neighbors/_scoring.py", "cum"),
    ("head", "_head_log_proba", "neighbors/_rule.py", "cum"),
    ("head", "combine", "neighbors/_head.py", "cum"),
    ("validation", "_validate_for_predict", "neighbors/_prediction.py", "cum"),
    ("row normalisation", "_unit_rows", "neighbors/_rule.py", "cum"),
    ("row normalisation", "_row_block", "neighbors/_rule.py", "cum"),
]


def stage_shares(est, Xq, repeats=10):
    """Share of each stage (``STAGES``) of ``est.predict(Xq)`` under cProfile,
    the rest (block loop, threads, label lookup) as "other"."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeats):
        est.predict(Xq)
    prof.disable()
    stats = pstats.Stats(prof).stats
    # the head normalises its blocks of rows too (``_row_block`` called from
    # the ``block`` closure of ``_head_log_proba``): counted in the head only
    head_block = next(c.co_firstlineno for c in
                      NearestClusterRuleMixin._head_log_proba.__code__.co_consts
                      if getattr(c, "co_name", None) == "block")

    def seconds(name, path, which):
        total = 0.0
        for (file, _, func), (_, _, tt, ct, callers) in stats.items():
            if func != name or not file.replace("\\", "/").endswith(path):
                continue
            total += tt if which == "own" else ct
            if name == "_row_block":
                total -= sum(v[3] for (f, line, fn), v in callers.items()
                             if fn == "block" and line == head_block)
        return total

    total = seconds("predict", "neighbors/_prediction.py", "cum")
    shares = {}
    for label, name, path, which in STAGES:
        shares[label] = shares.get(label, 0.0) + seconds(name, path, which) / total
    shares["other"] = 1.0 - sum(shares.values())
    return shares


def timed(fn, min_seconds=1.0):
    """Best-of-repeats wall time of ``fn()`` (repeats until min_seconds)."""
    times, total = [], 0.0
    while total < min_seconds or len(times) < 2:
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        total += times[-1]
        if times[-1] > 20:  # slow methods: one run is enough
            break
    return min(times), out


def throughput(args):
    rows = []
    for (n_train, n_query), n_classes in itertools.product(args.sizes, args.n_classes):
        X, y, Xq, yq = synthetic(
            n_train, n_query, args.n_features, n_classes, args.ratio,
            dtype=args.dtype, modes=args.modes,
        )
        methods = {
            "KNearestClusterClassifier": KNearestClusterClassifier(
                n_neighbors=10, cluster_size=args.cluster_size, random_state=0
            ),
            "KNeighbors brute": KNeighborsClassifier(10, algorithm="brute"),
        }
        if not args.skip_kd_tree:
            methods["KNeighbors kd_tree"] = KNeighborsClassifier(10, algorithm="kd_tree")
        first = len(rows)
        for name, est in methods.items():
            t0 = time.perf_counter()
            est.fit(X, y)
            fit_s = time.perf_counter() - t0
            Xq_run = Xq if "kd_tree" not in name else Xq[: args.n_query_tree]
            pred_s, pred = timed(lambda: est.predict(Xq_run))
            row = dict(
                n_train=n_train,
                n_classes=n_classes,
                method=name,
                n_centroids=getattr(est, "cluster_centers_", X).shape[0],
                fit_s=fit_s,
                queries=len(Xq_run),
                predict_s=pred_s,
                queries_per_s=len(Xq_run) / pred_s,
                balanced_acc=balanced_accuracy_score(yq[: len(Xq_run)], pred),
                settings="",
                stage_shares="",
            )
            if name == "KNearestClusterClassifier":
                row["settings"] = (f"scale={est.scale_:g}, aggregate={est.aggregate_}, "
                                   f"prior_correction={est.prior_correction_:g}, "
                                   f"head={est.head_}")
                row["stage_shares"] = "; ".join(
                    f"{k} {100 * v:.0f} %" for k, v in stage_shares(est, Xq).items())
            rows.append(row)
            print(rows[-1], flush=True)
        ours = rows[first]["queries_per_s"]
        for r in rows[first:]:
            r["speedup_of_ours"] = ours / r["queries_per_s"]
    return rows


def fashion(args, seed):
    from sklearn_clmle.datasets import load_fashion_mnist, make_long_tailed

    X, y = load_fashion_mnist(subset="train", return_X_y=True)
    Xt, yt = load_fashion_mnist(subset="test", return_X_y=True)
    X, y = make_long_tailed(
        X, y, imbalance_ratio=args.fashion_ratio, n_max=5000, random_state=seed
    )
    X = X / 255.0
    Xt = Xt / 255.0
    X_tr, X_val, y_tr, y_val = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    return X_tr, X_val, y_tr, y_val, X, y, Xt, yt


def accuracy(args):
    rows = []
    for seed in args.seeds:
        X_tr, X_val, y_tr, y_val, X_all, y_all, Xt, yt = fashion(args, seed)
        pca = PCA(64, random_state=seed).fit(X_tr)
        Z_tr, Z_val = pca.transform(X_tr), pca.transform(X_val)

        # kNN: k and metric chosen on validation
        ks = [1, 3, 5, 10, 20, 50]
        knn_val = {
            (k, metric): balanced_accuracy_score(
                y_val,
                KNeighborsClassifier(k, metric=metric).fit(Z_tr, y_tr).predict(Z_val),
            )
            for k in ks
            for metric in ["euclidean", "cosine"]
        }
        # ours: grid chosen on validation.  n_neighbors, scale and aggregate
        # act at predict time only, so one clustering serves each cluster_size.
        ours_val = {}
        for size in [1, 2, 5, 10, 25, 50, 100, 200]:
            clf = KNearestClusterClassifier(cluster_size=size, random_state=seed)
            clf.fit(Z_tr, y_tr)
            for nb, scale, agg, tau in itertools.product(
                [1, 3, 5, 10, 20], [1.0, 10.0, 30.0, 100.0], ["min", "max"],
                [0.0, 0.5, 1.0, 2.0],
            ):
                clf.set_params(
                    n_neighbors=nb, scale=scale, aggregate=agg, prior_correction=tau
                )
                ours_val[(size, nb, scale, agg, tau)] = balanced_accuracy_score(
                    y_val, clf.predict(Z_val)
                )
        (k, metric) = max(knn_val, key=knn_val.get)
        best = max(ours_val, key=ours_val.get)
        # the same selection restricted to real clusters (cluster_size >= 10)
        best_clustered = max((p for p in ours_val if p[0] >= 10), key=ours_val.get)

        # refit on the whole long-tailed training set, score on the test set
        pca = PCA(64, random_state=seed).fit(X_all)
        Z_all, Z_t = pca.transform(X_all), pca.transform(Xt)
        t0 = time.perf_counter()
        knn = KNeighborsClassifier(k, metric=metric).fit(Z_all, y_all)
        knn_acc = balanced_accuracy_score(yt, knn.predict(Z_t))
        knn_s = time.perf_counter() - t0
        oracle = max(
            balanced_accuracy_score(
                yt, KNeighborsClassifier(kk, metric=mm).fit(Z_all, y_all).predict(Z_t)
            )
            for kk in ks
            for mm in ["euclidean", "cosine"]
        )
        row = dict(
            seed=seed,
            n_train=len(y_all),
            knn_params=f"k={k}, {metric}",
            knn_bacc=knn_acc,
            knn_oracle_bacc=oracle,
            knn_s=knn_s,
        )
        for tag, (size, nb, scale, agg, tau) in [
            ("ours", best), ("clustered", best_clustered)
        ]:
            clf = KNearestClusterClassifier(
                n_neighbors=nb, cluster_size=size, scale=scale, aggregate=agg,
                prior_correction=tau, random_state=seed,
            )
            t0 = time.perf_counter()
            clf.fit(Z_all, y_all)
            row[f"{tag}_fit_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            row[f"{tag}_bacc"] = balanced_accuracy_score(yt, clf.predict(Z_t))
            row[f"{tag}_predict_s"] = time.perf_counter() - t0
            row[f"{tag}_params"] = (
                f"cluster_size={size}, n_neighbors={nb}, scale={scale:g}, "
                f"aggregate={agg}, prior_correction={tau:g}"
            )
        rows.append(row)
        print(rows[-1], flush=True)
    return rows


def write(args, tp_rows, acc_rows, machine=None):
    RESULTS.mkdir(parents=True, exist_ok=True)
    if machine is not None:
        for row in tp_rows:
            row.update(machine.fields())
    out = RESULTS / args.out
    with open(f"{out}.csv", "w", newline="") as fh:
        for rows in (tp_rows, acc_rows):
            if rows:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
    cmd = "python benchmarks/bench_nearest_cluster.py " + " ".join(sys.argv[1:])
    lines = [
        "# KNearestClusterClassifier vs instance kNN",
        "",
        f"Command: `{cmd}`; {os.cpu_count()} cores, default threads.",
        "",
    ]
    if machine is not None:
        lines += [machine.summary(), ""]
    lines += [
        "## Predict throughput",
        "",
        f"Synthetic unit-norm {args.dtype} features, d={args.n_features}, "
        f"exponential long tail (imbalance ratio {args.ratio:g}), {args.modes} "
        f"Gaussian mode(s) a class; KNearestClusterClassifier with cluster_size="
        f"{args.cluster_size} and its other settings at their defaults (those "
        "chosen are listed below), 10 neighbours for every method; "
        f"the first {args.n_query_tree:,} queries for kd_tree.  Times are the best "
        "of repeated predict calls.",
        "",
        "| n_train | queries | classes | method | centroids / points searched "
        "| fit (s) | queries/s | ours × faster | balanced acc. |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in tp_rows:
        lines.append(
            f"| {r['n_train']:,} | {r['queries']:,} | {r['n_classes']} | "
            f"{r['method']} | {r['n_centroids']:,} | "
            f"{r['fit_s']:.2f} | {r['queries_per_s']:,.0f} | "
            f"{r['speedup_of_ours']:.0f}× | {r['balanced_acc']:.3f} |"
        )
    ours = [r for r in tp_rows if r["stage_shares"]]
    if ours:
        lines += [
            "",
            "Stages of `KNearestClusterClassifier.predict` (share of its time "
            "under cProfile, 10 calls on all the queries) and the settings "
            "`\"auto\"` chose:",
            "",
            "| n_train | queries | classes | stages | settings |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [f"| {r['n_train']:,} | {r['queries']:,} | {r['n_classes']} | "
                  f"{r['stage_shares']} | {r['settings']} |" for r in ours]
    if acc_rows:
        a = np.array([[r["knn_bacc"], r["knn_oracle_bacc"], r["ours_bacc"]] for r in acc_rows])
        lines += [
            "",
            "## Balanced accuracy, long-tailed Fashion-MNIST, PCA-64 features",
            "",
            f"Imbalance ratio {args.fashion_ratio:g} (exponential, 5,000 down to "
            f"{5000 / args.fashion_ratio:.0f}), balanced 10,000-image test set; "
            "hyper-parameters chosen on a 20 % stratified validation split of the "
            "training set, then refitted on all of it.",
            "",
            "The last two columns repeat the validation selection with the grid "
            "restricted to real clusters (cluster_size >= 10); cluster_size=1 makes "
            "every training sample its own centroid (the Eq. 10 rule over instances).",
            "",
            "| seed | n_train | kNN (val-selected) | kNN at its best k on test "
            "| KNearestCluster (val-selected) | its params | its fit (s) "
            "| KNearestCluster, cluster_size >= 10 | its params |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in acc_rows:
            lines.append(
                f"| {r['seed']} | {r['n_train']:,} | {r['knn_bacc']:.4f} ({r['knn_params']}) | "
                f"{r['knn_oracle_bacc']:.4f} | {r['ours_bacc']:.4f} | {r['ours_params']} | "
                f"{r['ours_fit_s']:.2f} | {r['clustered_bacc']:.4f} | "
                f"{r['clustered_params']} (fit {r['clustered_fit_s']:.2f} s) |"
            )
        m, s = a.mean(0), a.std(0)
        c = np.array([r["clustered_bacc"] for r in acc_rows])
        lines.append(
            f"| mean ± std | | {m[0]:.4f} ± {s[0]:.4f} | {m[1]:.4f} ± {s[1]:.4f} | "
            f"{m[2]:.4f} ± {s[2]:.4f} | | | {c.mean():.4f} ± {c.std():.4f} | |"
        )
    text = "\n".join(lines) + "\n"
    Path(f"{out}.md").write_text(text)
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["100000x2000", "200000x10000"],
        help="training rows x queries of the throughput part",
    )
    parser.add_argument("--modes", type=int, default=8,
                        help="Gaussian modes a class in the throughput part")
    parser.add_argument("--skip-kd-tree", action="store_true")
    parser.add_argument("--n-query-tree", type=int, default=1_000)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--n-classes", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--ratio", type=float, default=100.0)
    parser.add_argument("--cluster-size", type=int, default=200)
    parser.add_argument("--fashion-ratio", type=float, default=100.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-fashion", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--dtype", choices=["float32", "float64"], default="float32",
        help="dtype of the synthetic features (CLMLEEmbedder outputs float32)",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="nearest_cluster")
    add_busy_argument(parser)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.n_query_tree = ["20000x1000"], 200
        args.seeds = [0]
    args.sizes = [tuple(int(v) for v in size.lower().split("x")) for size in args.sizes]
    machine = None
    if not args.skip_throughput:
        machine = check_quiet(args.allow_busy, "bench_nearest_cluster.py")
    with exclusive_run("bench_nearest_cluster.py"):
        tp = [] if args.skip_throughput else throughput(args)
        acc = [] if args.skip_fashion else accuracy(args)
    write(args, tp, acc, machine)


if __name__ == "__main__":
    main()
