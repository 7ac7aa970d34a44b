"""faiss for clustering and search at scale (issue 15, item 2).

Three measurements on clustered unit-norm float32 rows (128 dimensions: 8,192
random unit "sub-centres", 8 to a class, 1,024 classes with long-tailed
frequencies, each row its sub-centre plus Gaussian noise, normalised; cosine
to its sub-centre about 0.7; seeded):

1. Spherical k-means, k = 4,096, 20 iterations (``tol=0``), one run seeded
   with k random rows (faiss's own seeding; ``init="random", n_init=1``),
   on 1,000,000 rows: ``SphericalKMeans(
   algorithm="faiss")`` against ``faiss.Kmeans(d, k, niter=20,
   spherical=True)`` called directly (its ``train`` plus the
   ``index.search(X, 1)`` that gives the labels, which ``fit`` returns);
   the two alternate, twice each, and the fastest run of each is compared
   (on a shared machine, other jobs only add time).  This library's numpy path
   (``SphericalKMeans()``, ``init="random"``) and scikit-learn's ``KMeans``
   (``init="random"``, ``n_init=1``, Euclidean, on the same unit rows) run
   on a 200,000-row subsample, next to ``algorithm="faiss"`` on the same
   subsample; their time at 1,000,000 rows is extrapolated linearly (Lloyd
   costs n x k x d per iteration) and labelled so.  Quality: mean cosine of
   a row to its centroid (normalised, for ``KMeans``).
2. Search: ``KNearestClusterClassifier(algorithm="faiss")`` (``n_neighbors=10,
   scale=16, aggregate="max", prior_correction=0, head="none"``) fitted on
   1,000,000 rows with ``cluster_size`` 200 (5,000 centroids: flat index) and
   50 (20,000 centroids: IVF), against ``KNeighborsClassifier(n_neighbors=10,
   algorithm="brute")`` on the same rows; queries drawn from the same
   distribution (as many as brute handles in about 40 s: a timed batch of
   200 sets the number).  The classifier's numpy brute search over the same
   centroids is shown too, and the 20,000-centroid classifier once more with
   its calibrated IVF index forced (it keeps the flat index when IVF would
   probe more than a quarter of its lists).
3. Peak memory: every method runs in a fresh subprocess, which makes its
   data, then resets the kernel's high-water mark (``echo 5 >
   /proc/self/clear_refs``) and reads ``VmHWM`` from ``/proc/self/status``
   after the method: its peak resident memory, which counts faiss's C++
   allocations (tracemalloc does not see them).  Reported as a multiple of
   the training data's size (peak of the process, data and libraries
   included; and the extra over the resident memory before the method).

Threads: 2 for every method (``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/
``MKL_NUM_THREADS`` in each subprocess's environment, ``threadpoolctl``'s
``threadpool_limits(2)``, and ``faiss.omp_set_num_threads(2)``).

::

    flock -x /tmp/clmle-timing.lock python benchmarks/bench_faiss.py  # ~14 min
    python benchmarks/bench_faiss.py --quick   # small sizes, a smoke test
    python benchmarks/bench_faiss.py --report  # the .md again from the .csv

Results: ``benchmarks/results/scaling/faiss.{md,csv}`` (``--quick`` writes
``faiss_quick.*``).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import add_busy_argument, check_quiet  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "scaling"
THREADS = 2
D = 128
N_SUB, SUB_PER_CLASS = 8192, 8
NOISE = 0.09
SEED = 0


# -- worker side (a fresh process per method) --------------------------------


def make_data(n, seed):
    """``n`` clustered unit rows (float32) and their classes."""
    import numpy as np

    rng = np.random.default_rng(SEED)  # the same sub-centres for every draw
    centres = rng.standard_normal((N_SUB, D), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    n_classes = N_SUB // SUB_PER_CLASS
    class_p = (1.0 + np.arange(n_classes)) ** -0.5
    p = np.repeat(class_p / class_p.sum() / SUB_PER_CLASS, SUB_PER_CLASS)
    rng = np.random.default_rng(seed)
    sub = rng.choice(N_SUB, size=n, p=p / p.sum())
    X = rng.standard_normal((n, D), dtype=np.float32)
    step = 65536
    for s in range(0, n, step):  # in blocks: no n x D temporary
        block = X[s : s + step]
        block *= NOISE
        block += centres[sub[s : s + step]]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return X, sub // SUB_PER_CLASS


def memory_kib():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":")
                fields[key] = int(value.split()[0])
    return fields


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def mean_cosine(X, centers, labels):
    import numpy as np

    C = centers / np.linalg.norm(centers, axis=1, keepdims=True)
    total = 0.0
    for s in range(0, X.shape[0], 65536):
        total += float(np.einsum("ij,ij->", X[s : s + 65536],
                                 C[labels[s : s + 65536]], dtype=np.float64))
    return total / X.shape[0]


def kmeans_method(method, X, k, n_iter):
    """Fit; return (seconds, extra timings, mean cosine)."""
    if method == "faiss_direct":
        import faiss

        t = time.perf_counter()
        km = faiss.Kmeans(D, k, niter=n_iter, spherical=True, seed=SEED + 1)
        km.train(X)
        t_train = time.perf_counter() - t
        sims, labels = km.index.search(X, 1)
        seconds = time.perf_counter() - t
        return seconds, {"train_s": t_train}, float(sims.mean())
    from sklearn_clmle import SphericalKMeans

    if method in ("ours_faiss", "ours_numpy"):
        algorithm = "faiss" if method == "ours_faiss" else "lloyd"
        # faiss.Kmeans's seeding (k random rows, one run) on both paths
        est = SphericalKMeans(k, init="random", n_init=1, max_iter=n_iter, tol=0,
                              algorithm=algorithm, random_state=SEED + 1)
        t = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - t
        return seconds, {"n_iter": est.n_iter_}, 1.0 - est.inertia_ / X.shape[0]
    if method == "sklearn_kmeans":
        from sklearn.cluster import KMeans

        est = KMeans(k, init="random", n_init=1, max_iter=n_iter, tol=0,
                     algorithm="lloyd", random_state=SEED + 1)
        t = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - t
        return seconds, {"n_iter": int(est.n_iter_)}, mean_cosine(
            X, est.cluster_centers_, est.labels_)
    raise ValueError(method)


def search_method(method, X, y, Q, y_q, cluster_size):
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score

    out = {}
    if method == "knn_brute":
        from sklearn.neighbors import KNeighborsClassifier

        t = time.perf_counter()
        clf = KNeighborsClassifier(n_neighbors=10, algorithm="brute").fit(X, y)
        out["fit_s"] = time.perf_counter() - t
        t = time.perf_counter()
        clf.predict(Q[:200])  # sets how many queries make about 40 s
        rate = 200 / (time.perf_counter() - t)
        n_q = int(min(Q.shape[0], max(1000, 40 * rate)))
        Q, y_q = Q[:n_q], y_q[:n_q]
        t = time.perf_counter()
        pred = clf.predict(Q)
        out["predict_s"] = time.perf_counter() - t
    else:
        from sklearn_clmle import KNearestClusterClassifier
        from sklearn_clmle.neighbors import _scoring

        clf = KNearestClusterClassifier(
            10, cluster_size=cluster_size, scale=16.0, aggregate="max",
            prior_correction=0.0, head="none", algorithm="faiss", random_state=0)
        t = time.perf_counter()
        clf.fit(X, y)
        out["fit_s"] = time.perf_counter() - t
        tree = clf._index._tree
        out["n_centroids"] = int(clf.cluster_centers_.shape[0])
        out["index"] = type(tree).__name__
        if clf._index.calibration is not None:
            out.update({f"ivf_{key}": value
                        for key, value in clf._index.calibration.items()})
        t = time.perf_counter()
        pred = clf.predict(Q)
        out["predict_s"] = time.perf_counter() - t
        if method == "knc_faiss_and_brute":  # numpy brute over the same centroids
            faiss_pred = pred
            clf._index = _scoring.CentroidIndex(clf.cluster_centers_, "brute")
            t = time.perf_counter()
            brute_pred = clf.predict(Q)
            out["brute_predict_s"] = time.perf_counter() - t
            out["agree_with_brute_search"] = float(np.mean(brute_pred == faiss_pred))
    out["n_queries"] = int(Q.shape[0])
    out["qps"] = Q.shape[0] / out["predict_s"]
    out["accuracy"] = float(np.mean(pred == y_q))
    out["balanced_accuracy"] = float(balanced_accuracy_score(y_q, pred))
    return out


def worker(args):
    import faiss
    from threadpoolctl import threadpool_limits

    # imported before the memory mark: modules are not the methods' memory
    import sklearn.cluster  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.neighbors  # noqa: F401

    import sklearn_clmle  # noqa: F401
    from sklearn_clmle.neighbors import _faiss_search

    faiss.omp_set_num_threads(THREADS)
    if args.method == "knc_faiss_ivf_forced":
        _faiss_search.IVF_MAX_PROBE_SHARE = 1.0
    if args.task == "kmeans":
        X, _ = make_data(args.n, seed=SEED + 10)
        Q = y = y_q = None
    else:
        X, y = make_data(args.n, seed=SEED + 10)
        Q, y_q = make_data(args.n_queries, seed=SEED + 20)
    before = memory_kib()
    reset_peak()
    with threadpool_limits(THREADS):
        if args.task == "kmeans":
            seconds, extra, cosine = kmeans_method(args.method, X, args.k, args.n_iter)
            result = {"seconds": seconds, "mean_cosine": cosine, **extra}
        else:
            result = search_method(args.method, X, y, Q, y_q, args.cluster_size)
    after = memory_kib()
    result.update(
        data_mib=X.nbytes / 2**20,
        rss_before_mib=before["VmRSS"] / 1024,
        peak_mib=after["VmHWM"] / 1024,
        peak_x_data=after["VmHWM"] * 1024 / X.nbytes,
        extra_x_data=(after["VmHWM"] - before["VmRSS"]) * 1024 / X.nbytes,
    )
    print("RESULT " + json.dumps(result), flush=True)


# -- driver -----------------------------------------------------------------


def run(task, method, **kw):
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS),
               OPENBLAS_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS),
               PYTHONPATH=str(ROOT))
    cmd = [sys.executable, __file__, "--worker", "--task", task, "--method", method]
    for key, value in kw.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"{method} failed")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result = {**kw, **result, "task": task, "method": method}
    print(f"  {method} {kw}: {result.get('seconds', result.get('qps')):.3f} "
          f"(process {time.perf_counter() - t:.0f} s)", flush=True)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--task")
    parser.add_argument("--method")
    parser.add_argument("--n", type=int)
    parser.add_argument("--k", type=int)
    parser.add_argument("--n-iter", type=int)
    parser.add_argument("--n-queries", type=int)
    parser.add_argument("--cluster-size", type=int)
    add_busy_argument(parser)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.report:
        return report(args.quick)
    machine = check_quiet(args.allow_busy, "bench_faiss.py")

    if args.quick:
        n, sub, k, n_iter, n_q, sizes = 40_000, 10_000, 256, 5, 20_000, (200, 20)
    else:
        n, sub, k, n_iter, n_q, sizes = 1_000_000, 200_000, 4096, 20, 200_000, (200, 50)
    start = time.perf_counter()
    rows = []
    print(f"k-means at {n:,} rows", flush=True)
    for method in ("faiss_direct", "ours_faiss", "ours_faiss", "faiss_direct"):
        rows.append(run("kmeans", method, n=n, k=k, n_iter=n_iter))
    print(f"k-means on a {sub:,}-row subsample", flush=True)
    for method in ("ours_faiss", "ours_numpy", "sklearn_kmeans"):
        rows.append(run("kmeans", method, n=sub, k=k, n_iter=n_iter))
    print(f"search at {n:,} training rows", flush=True)
    rows.append(run("search", "knn_brute", n=n, n_queries=n_q))
    rows.append(run("search", "knc_faiss_and_brute", n=n, n_queries=n_q,
                    cluster_size=sizes[0]))
    rows.append(run("search", "knc_faiss", n=n, n_queries=n_q, cluster_size=sizes[1]))
    rows.append(run("search", "knc_faiss_ivf_forced", n=n, n_queries=n_q,
                    cluster_size=sizes[1]))
    minutes = (time.perf_counter() - start) / 60
    for r in rows:
        r["run_minutes"] = round(minutes, 1)
        r.update(machine.fields())
    OUT.mkdir(parents=True, exist_ok=True)
    keys = sorted({key for r in rows for key in r})
    with open(OUT / f"{stem(args.quick)}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    write(rows, n, sub, k, n_iter, n_q, args.quick)


def stem(quick):
    return "faiss_quick" if quick else "faiss"


def report(quick):
    """The .md written again from the .csv (same numbers)."""
    def value(text):
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    with open(OUT / f"{stem(quick)}.csv", newline="") as f:
        rows = [{k: value(v) for k, v in r.items() if v != ""}
                for r in csv.DictReader(f)]
    km = [r for r in rows if r["task"] == "kmeans"]
    n = max(r["n"] for r in km)
    sub = min(r["n"] for r in km)
    n_q = next(r["n_queries"] for r in rows if r["method"] == "knc_faiss")
    write(rows, n, sub, km[0]["k"], km[0]["n_iter"], n_q, quick)


def write(rows, n, sub, k, n_iter, n_q, quick):
    import faiss
    import numpy as np

    total = rows[0]["run_minutes"]

    km = [r for r in rows if r["task"] == "kmeans"]
    full = {m: [r for r in km if r["n"] == n and r["method"] == m]
            for m in ("faiss_direct", "ours_faiss")}
    # the fastest run of each: other jobs on the machine only add time
    best = {m: min(r["seconds"] for r in v) for m, v in full.items()}
    best_train = min(r["train_s"] for r in full["faiss_direct"])
    med = {m: float(np.median([r["seconds"] for r in v])) for m, v in full.items()}
    small = {r["method"]: r for r in km if r["n"] == sub}
    scale = n / sub
    names = {
        "faiss_direct": "`faiss.Kmeans(spherical=True)` direct (train + labels)",
        "ours_faiss": '`SphericalKMeans(algorithm="faiss")`',
        "ours_numpy": "`SphericalKMeans()` (numpy)",
        "sklearn_kmeans": "scikit-learn `KMeans`",
    }
    cmd = ("flock -x /tmp/clmle-timing.lock python benchmarks/bench_faiss.py"
           + (" --quick" if quick else ""))
    lines = [
        "# faiss for clustering and search (issue 15, item 2)", "",
        f"Produced by `{cmd}` (whole run {total:.1f} min) with faiss-cpu "
        f"{faiss.__version__}, {THREADS} threads for every method "
        "(OMP/OpenBLAS environment variables, threadpoolctl, "
        "`faiss.omp_set_num_threads`), on a 2-core machine shared with other "
        "jobs: wall times vary by tens of percent from run to run, so the "
        "two 1,000,000-row methods alternate (A B B A) and the fastest run of "
        "each is compared (other jobs only add time; every run is listed).  "
        "Data: clustered unit-norm float32 rows, d = 128 (see the script's "
        "docstring).", "",
        f"## 1. Spherical k-means, k = {k:,}, {n_iter} iterations, random seeding, one run", "",
        "| rows | method | fit (s) | mean cosine to centroid | peak / data | extra / data |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    if "load_before" in rows[0]:  # recorded by main (not by older runs)
        r0 = rows[0]
        under = str(r0["under_load"]) == "True"
        lines[1:1] = ["", ("**Measured under load (run with `--allow-busy`): not a "
                           "timing claim.** " if under else "")
                      + f"Load average {r0['load_before']} before the run, "
                      f"{r0['load_after']} after (1 min), {r0['cores']} cores; "
                      f"threads: {r0['threads']}."]
    for r in km:
        label = names[r["method"]]
        lines.append(
            f"| {r['n']:,} | {label} | {r['seconds']:.1f} | {r['mean_cosine']:.4f} "
            f"| {r['peak_x_data']:.2f} | {r['extra_x_data']:.2f} |")
    ratio = best["ours_faiss"] / best["faiss_direct"]
    lines += [
        "",
        f"At {n:,} rows: ours (fastest run {best['ours_faiss']:.1f} s) / faiss "
        f"direct (fastest {best['faiss_direct']:.1f} s, of which `train` "
        f"{best_train:.1f} s) = **{ratio:.2f}x** (target: within 1.2x); against "
        f"faiss's `train` alone, {best['ours_faiss'] / best_train:.2f}x; "
        f"medians {med['ours_faiss']:.1f} s / {med['faiss_direct']:.1f} s = "
        f"{med['ours_faiss'] / med['faiss_direct']:.2f}x.",
        "",
        f"Subsample of {sub:,} rows (the numpy path and scikit-learn would take "
        f"about {scale:.0f}x longer at {n:,} rows: *extrapolated*, Lloyd's cost "
        "is linear in the rows):", "",
        "| method | fit at subsample (s) | extrapolated to full size (s) | x ours faiss |",
        "| --- | ---: | ---: | ---: |",
    ]
    for m in ("ours_faiss", "ours_numpy", "sklearn_kmeans"):
        r = small[m]
        lines.append(
            f"| {names[m]} | {r['seconds']:.1f} | ~{r['seconds'] * scale:.0f} "
            f"(extrapolated) | {r['seconds'] / small['ours_faiss']['seconds']:.2f} |")
    lines += [
        "",
        "scikit-learn's `KMeans` is Euclidean; on unit rows its assignment is "
        "the cosine one, its centroids are means (normalised here for the "
        "cosine).  faiss direct uses faiss's defaults besides `niter` and "
        f"`spherical` (`max_points_per_centroid=256`: {k:,} x 256 >= {n:,}, "
        "so it sub-samples nothing).", "",
    ]
    search = [r for r in rows if r["task"] == "search"]
    knn = next(r for r in search if r["method"] == "knn_brute")
    lines += [
        f"## 2. Classification search, {n:,} training rows", "",
        "| method | centroids / index | queries | queries/s | x brute kNN "
        "| accuracy | balanced acc. | fit (s) | peak / data | extra / data |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| `KNeighborsClassifier(algorithm=\"brute\")` | {n:,} rows | "
        f"{knn['n_queries']:,} | {knn['qps']:,.0f} | 1 | {knn['accuracy']:.4f} | "
        f"{knn['balanced_accuracy']:.4f} | {knn['fit_s']:.1f} | "
        f"{knn['peak_x_data']:.2f} | {knn['extra_x_data']:.2f} |",
    ]
    for r in search:
        if r["method"] == "knn_brute":
            continue
        index = r["index"]
        if "ivf_nprobe" in r:
            index += (f" (IVF calibration: nprobe {r['ivf_nprobe']} of "
                      f"{r['ivf_nlist']} lists for recall {r['ivf_recall']:.3f})")
        forced = (", IVF forced (`IVF_MAX_PROBE_SHARE = 1`)"
                  if r["method"] == "knc_faiss_ivf_forced" else "")
        lines.append(
            f"| `KNearestClusterClassifier(algorithm=\"faiss\", cluster_size="
            f"{r['cluster_size']})`{forced} | {r['n_centroids']:,}, {index} | "
            f"{r['n_queries']:,} | {r['qps']:,.0f} | {r['qps'] / knn['qps']:,.0f} | "
            f"{r['accuracy']:.4f} | {r['balanced_accuracy']:.4f} | {r['fit_s']:.1f} | "
            f"{r['peak_x_data']:.2f} | {r['extra_x_data']:.2f} |")
        if "brute_predict_s" in r:
            qps = r["n_queries"] / r["brute_predict_s"]
            lines.append(
                f"| same, numpy brute search over its centroids | {r['n_centroids']:,} "
                f"| {r['n_queries']:,} | {qps:,.0f} | {qps / knn['qps']:,.0f} | "
                f"(predictions agree with faiss's on "
                f"{100 * r['agree_with_brute_search']:.2f} %) | | | | |")
    lines += [
        "",
        "The classifier's fit (per-class equal-size clustering through "
        "`SphericalKMeans(algorithm=\"faiss\")`) is timed for information; "
        "queries per second are over `predict` (rule included).  From 10,000 "
        "centroids the classifier calibrates an IVF index (the smallest "
        "power-of-two `nprobe` giving 99 % recall of the 10 nearest centroids "
        "of 1,000 centroids) and keeps it only if that probes at most a "
        "quarter of its lists; the last row forces the IVF index to show what "
        "that rule avoids on this data, whose 8,192 random sub-centres leave "
        "a centroid's 10 nearest spread over many lists.", "",
        "## 3. Memory", "",
        "Each method runs in its own fresh process, which builds its data "
        "first, then resets the kernel's peak-RSS mark (`/proc/self/clear_refs`, "
        "value 5) and reads `VmHWM` from `/proc/self/status` after the method. "
        "*peak / data*: that peak (the process: data, Python, numpy, faiss) "
        "over the training data's size "
        f"({n:,} x {D} float32 = {n * D * 4 / 2**20:.0f} MiB; "
        f"{sub * D * 4 / 2**20:.0f} MiB for the subsample); *extra / data*: "
        "the peak minus the resident memory just before the method, over the "
        "data's size.  The search processes also hold their queries "
        f"({n_q:,} x {D} float32) before the method starts.  `tracemalloc` "
        "cannot be used: faiss allocates in C++.", "",
    ]
    (OUT / f"{stem(quick)}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
