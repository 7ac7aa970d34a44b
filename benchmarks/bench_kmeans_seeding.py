"""Benchmark: SphericalKMeans seeding, k-means|| against k-means++.

For each seed, on L2-normalised data, it runs ``SphericalKMeans`` with
``init="k-means||"`` (what ``init="auto"`` chooses when ``n_samples *
n_clusters > 1e7``, as at the default size) and with ``init="k-means++"``,
``n_init=1``, ``max_iter`` iterations, ``tol=0``, and reports:

- seeding time alone (the same seeding as the fit's, timed on its own);
- fit time (seeding included);
- mean cosine similarity of each sample to its centroid after the fit, and
  right after seeding.

Data (``--data``): ``clustered`` is ``bench_spherical_kmeans.py``'s (as many
directions as clusters, long-tailed sizes, noise 0.12); ``subclusters`` has
four times as many directions as clusters (noise 0.08), where the old two-round
k-means|| lost most against k-means++.

Run ``python benchmarks/bench_kmeans_seeding.py`` for the full size (200,000
x 64, k=1,000, 30 iterations, seeds 0-2) or pass ``--n-samples``,
``--n-clusters``, ``--seeds``; ``--quick`` is a small smoke run.  Results go to
``benchmarks/results/cluster/<out>.{md,csv}`` (default ``kmeans_seeding``).
"""

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import add_busy_argument, check_quiet  # noqa: E402
from bench_spherical_kmeans import make_data  # noqa: E402

from sklearn_clmle import SphericalKMeans  # noqa: E402
from sklearn_clmle.cluster import _spherical_kmeans as skm  # noqa: E402
from sklearn_clmle.utils._parallel import effective_n_threads  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "cluster"


def make_subclusters(n_samples, n_features, n_clusters, dtype, seed=0):
    """Four directions per cluster, long-tailed sizes, noise 0.08."""
    rng = np.random.default_rng(seed)
    k = 4 * n_clusters
    centers = rng.normal(size=(k, n_features))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    p = rng.pareto(1.5, size=k) + 1
    members = rng.choice(k, size=n_samples, p=p / p.sum())
    X = centers[members] + rng.normal(scale=0.08, size=(n_samples, n_features))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(dtype)


def mean_cosine(X, centers, labels):
    return float(np.mean(np.einsum("ij,ij->i", X, centers[labels])))


def seeding(X, init, k, seed):
    """The fit's seeding on its own: same estimator method, same generator."""
    est = SphericalKMeans(k, init=init, random_state=seed)
    weights = np.ones(X.shape[0], dtype=X.dtype)
    rng = check_random_state(seed)
    return est._initial_centers(X, weights, rng, effective_n_threads())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--n-clusters", type=int, default=1_000)
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--data", choices=["clustered", "subclusters"], default="clustered"
    )
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", default=None)
    add_busy_argument(parser)
    args = parser.parse_args()
    machine = check_quiet(args.allow_busy, "bench_kmeans_seeding.py")
    if args.quick:
        args.n_samples, args.n_clusters, args.max_iter = 20_000, 100, 10
        args.seeds = [0]
    out = args.out or ("kmeans_seeding_quick" if args.quick else "kmeans_seeding")
    make = make_data if args.data == "clustered" else make_subclusters
    X = make(args.n_samples, args.n_features, args.n_clusters, args.dtype)
    k = args.n_clusters
    auto_is = (
        "k-means||" if X.shape[0] * k > skm._KMEANS_PARALLEL_ABOVE else "k-means++"
    )
    rows = []
    with threadpool_limits(limits=args.threads):
        for seed in args.seeds:
            for init in ("k-means||", "k-means++"):
                t0 = time.perf_counter()
                centers = seeding(X, init, k, seed)
                seed_s = time.perf_counter() - t0
                _, start_cos = skm.core.assign_nearest(
                    X, centers, effective_n_threads()
                )
                est = SphericalKMeans(
                    k, init=init, n_init=1, max_iter=args.max_iter, tol=0.0,
                    random_state=seed,
                )
                t0 = time.perf_counter()
                est.fit(X)
                fit_s = time.perf_counter() - t0
                rows.append(
                    dict(
                        seed=seed,
                        init=init,
                        seeding_s=seed_s,
                        fit_s=fit_s,
                        seeded_cos=float(start_cos.mean()),
                        mean_cos=mean_cosine(X, est.cluster_centers_, est.labels_),
                    )
                )
                print(rows[-1], flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    fields = ["seed", "init", "seeding_s", "fit_s", "seeded_cos", "mean_cos"]
    with open(RESULTS / f"{out}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    command = "python benchmarks/bench_kmeans_seeding.py " + " ".join(sys.argv[1:])
    lines = [
        "# SphericalKMeans seeding: k-means|| (init='auto') vs k-means++",
        "",
        f"X: n={args.n_samples:,}, d={args.n_features}, {args.data} data, "
        f"L2-normalised, {args.dtype}; k={k:,}; n_init=1, max_iter={args.max_iter}, "
        f"tol=0; {args.threads} thread(s); init='auto' is {auto_is} here. Machine: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores.",
        "",
        f"Command: `{command.strip()}`",
        "",
        "| seed | init | seeding (s) | fit (s) | mean cos after seeding "
        "| mean cos after fit |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['init']} | {r['seeding_s']:.2f} | {r['fit_s']:.2f} | "
            f"{r['seeded_cos']:.4f} | {r['mean_cos']:.4f} |"
        )
    lines += ["", "| init | seeding (s), mean | mean cos after fit: mean (min-max) |",
              "| --- | --- | --- |"]
    for init in dict.fromkeys(r["init"] for r in rows):
        sel = [r for r in rows if r["init"] == init]
        cos = [r["mean_cos"] for r in sel]
        lines.append(
            f"| {init} | {np.mean([r['seeding_s'] for r in sel]):.2f} | "
            f"{np.mean(cos):.4f} ({min(cos):.4f}-{max(cos):.4f}) |"
        )
    lines[1:1] = ["", machine.summary()]
    (RESULTS / f"{out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
