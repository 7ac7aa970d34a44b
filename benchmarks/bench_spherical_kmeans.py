"""Benchmark: SphericalKMeans against scikit-learn's KMeans (Lloyd).

On L2-normalised data (n=200,000, d=64, k=1,000 by default) it times
``SphericalKMeans`` (unconstrained and ``equal_size=True``) and
``sklearn.cluster.KMeans(algorithm="lloyd")`` with the same ``n_init`` and
``max_iter`` (``tol=0`` for all, so every run does the same number of
iterations unless it converges exactly), on one thread and on every core, and
reports:

- fit time and its ratio to KMeans' fit time;
- mean cosine similarity of each sample to its assigned centroid;
- the smallest and largest cluster size;
- peak memory of ``fit`` (tracemalloc, in a separate untimed run) as a
  multiple of ``X.nbytes``.

Run ``python benchmarks/bench_spherical_kmeans.py`` (about 10 minutes on two
cores) or ``--quick`` for a small smoke run.  Results go to
``benchmarks/results/cluster/spherical_kmeans.{md,csv}``.
"""

import argparse
import csv
import os
import platform
import sys
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_busy_argument, check_quiet, timed_fits, traced_peak  # noqa: E402
from sklearn_clmle import SphericalKMeans  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "cluster"


def make_data(n_samples, n_features, n_clusters, dtype, seed=0):
    """Points around ``n_clusters`` random directions, scaled to unit norm."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, n_features))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    # long-tailed cluster sizes, so the equal-size constraint has work to do
    p = rng.pareto(1.5, size=n_clusters) + 1
    members = rng.choice(n_clusters, size=n_samples, p=p / p.sum())
    X = centers[members] + rng.normal(scale=0.12, size=(n_samples, n_features))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(dtype)


def mean_cosine(X, centers, labels):
    c = centers / np.linalg.norm(centers, axis=1, keepdims=True)
    return float(np.mean(np.einsum("ij,ij->i", X, c[labels])))


def estimators(k, n_init, max_iter):
    common = dict(n_init=n_init, max_iter=max_iter, tol=0.0, random_state=0)
    return {
        "KMeans (lloyd)": lambda: KMeans(k, algorithm="lloyd", **common),
        "SphericalKMeans": lambda: SphericalKMeans(k, **common),
        "SphericalKMeans equal_size": lambda: SphericalKMeans(
            k, equal_size=True, **common
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--n-clusters", type=int, default=1_000)
    parser.add_argument("--n-init", type=int, default=1)
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count()])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", default="spherical_kmeans")
    add_busy_argument(parser)
    args = parser.parse_args()
    machine = check_quiet(args.allow_busy, "bench_spherical_kmeans.py")
    if args.quick:
        args.n_samples, args.n_clusters, args.max_iter = 20_000, 100, 10

    X = make_data(args.n_samples, args.n_features, args.n_clusters, args.dtype)
    k = args.n_clusters
    makers = estimators(k, args.n_init, args.max_iter)

    def measure(est):
        sizes = np.bincount(est.labels_, minlength=k)
        return dict(mean_cos=mean_cosine(X, est.cluster_centers_, est.labels_),
                    min_size=int(sizes.min()), max_size=int(sizes.max()))

    rows = timed_fits(makers, X, args.threads, measure)
    # peak memory, untimed, once per method (tracemalloc sees numpy buffers)
    with threadpool_limits(limits=args.threads[-1]):
        peaks = {name: traced_peak(make, X) for name, make in makers.items()}
    for row in rows:
        row["peak_mem_x"] = peaks[row["method"]] / X.nbytes
        ref = next(
            r for r in rows
            if r["threads"] == row["threads"] and r["method"] == "KMeans (lloyd)"
        )
        row["time_vs_kmeans"] = row["fit_s"] / ref["fit_s"]
        base = next(
            r for r in rows
            if r["threads"] == row["threads"] and r["method"] == "SphericalKMeans"
        )
        row["time_vs_unconstrained"] = row["fit_s"] / base["fit_s"]

    RESULTS.mkdir(parents=True, exist_ok=True)
    fields = [
        "threads", "method", "fit_s", "time_vs_kmeans", "time_vs_unconstrained",
        "n_iter", "mean_cos", "min_size", "max_size", "peak_mem_x",
    ]
    with open(RESULTS / f"{args.out}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows({f: r[f] for f in fields} for r in rows)
    lines = [
        "# SphericalKMeans vs KMeans (lloyd)",
        "",
        f"X: n={args.n_samples:,}, d={args.n_features}, L2-normalised, "
        f"{args.dtype} ({X.nbytes / 2**20:.0f} MiB); k={k:,}; n_init={args.n_init}, "
        f"max_iter={args.max_iter}, tol=0 for every method. "
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores.",
        "",
        "Command: `python benchmarks/bench_spherical_kmeans.py"
        + (" --quick" if args.quick else "") + "`",
        "",
        "| threads | method | fit (s) | × KMeans time | × unconstrained time "
        "| iterations | mean cos to centroid | cluster sizes | peak memory (× X) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['threads']} | {r['method']} | {r['fit_s']:.2f} | "
            f"{r['time_vs_kmeans']:.2f} | {r['time_vs_unconstrained']:.2f} | "
            f"{r['n_iter']} | {r['mean_cos']:.4f} | {r['min_size']}-{r['max_size']} | "
            f"{r['peak_mem_x']:.2f} |"
        )
    lines[1:1] = ["", machine.summary()]
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
