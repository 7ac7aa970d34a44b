"""Prepared checks for a machine with a GPU: CUDA training, faiss-gpu
clustering and search, and a CUDA-trained pickle loaded on a CPU.

::

    python benchmarks/gpu_check.py                     # on a CUDA machine
    python benchmarks/gpu_check.py --device cpu --quick   # the same checks on CPU

Nothing here is downloaded: the images are scikit-learn's 8x8 digits,
repeated with pixel noise to ``--rows`` rows.  Each check prints one line
and adds one row to ``benchmarks/results/scaling/gpu_check.md`` (``.csv``);
a check that cannot run (no CUDA, no faiss, faiss without GPUs) is reported
as *skipped* with the reason, never as passed.

1. **CUDA training** -- ``CLMLEEmbedder(device=DEVICE)`` with the default
   CNN on the images: whole-fit samples/s; the fitted module is on the CPU.
2. **Pickle across devices** -- the fitted embedder is pickled and loaded in
   a fresh Python process with no visible GPU (``CUDA_VISIBLE_DEVICES=""``,
   ``device="cpu"``); its ``transform`` must equal the original's within
   1e-4 (float32 on two devices).
3. **faiss clustering** -- ``SphericalKMeans(algorithm="faiss")`` on
   ``--kmeans-rows`` x 128 unit-norm rows, k = ``--k``, 20 iterations,
   against ``faiss.Kmeans(spherical=True, gpu=...)`` called directly: fit
   seconds, their ratio, mean cosine to the centroid.  On GPU when faiss
   sees one (``faiss.get_num_gpus() > 0``).
4. **faiss search** -- ``KNearestClusterClassifier(algorithm="faiss")``
   fit on the clustered rows, predict queries/s.
5. **Data-parallel training** (two or more GPUs only) -- ``torchrun
   --nproc_per_node=2 examples/torchrun_fit.py`` with ``nccl``.
"""

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import results_dir, write_csv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def images(n_rows, seed=0):
    """Digits (8x8, in [0, 1]) repeated to ``n_rows`` with pixel noise."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(seed)
    take = rng.randint(0, len(y), n_rows)
    Xr = X[take] / 16.0 + rng.normal(0, 0.05, (n_rows, X.shape[1]))
    return Xr.astype(np.float32), y[take]


def unit_rows(n, d, k, seed=0):
    """``n`` unit-norm rows around ``k`` random directions (float32)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d), dtype=np.float32)
    X = centers[rng.integers(0, k, n)] + 0.5 * rng.standard_normal((n, d),
                                                                   dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def check_training(args, rows):
    import torch

    from sklearn_clmle import CLMLEEmbedder

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        rows.append(dict(check="CUDA training", status="skipped",
                         detail="torch.cuda.is_available() is False"))
        return None, None
    X, y = images(args.rows)
    emb = CLMLEEmbedder(input_shape=(8, 8), device=args.device, random_state=0,
                        epochs=args.epochs)
    tic = time.perf_counter()
    emb.fit(X, y)
    dur = time.perf_counter() - tic
    seen = args.epochs * len(y)
    on_cpu = all(p.device.type == "cpu" for p in emb.module_.parameters())
    name = (torch.cuda.get_device_name() if args.device.startswith("cuda")
            else "cpu")
    rows.append(dict(check="training", status="ok" if on_cpu else "FAILED",
                     detail=f"{name}: {len(y)} rows x {args.epochs} epochs in "
                            f"{dur:.1f} s ({seen / dur:,.0f} samples/s); fitted "
                            f"module on the CPU: {on_cpu}"))
    return emb, X[:2000]


_LOAD_ON_CPU = """
import pickle, sys
import numpy as np
emb = pickle.load(open(sys.argv[1], "rb"))
emb.set_params(device="cpu")
np.save(sys.argv[3], emb.transform(np.load(sys.argv[2])))
"""


def check_pickle(emb, X, rows):
    if emb is None:
        rows.append(dict(check="pickle across devices", status="skipped",
                         detail="no fitted embedder (training was skipped)"))
        return
    Z = emb.transform(X)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with open(tmp / "emb.pkl", "wb") as fh:
            pickle.dump(emb, fh)
        np.save(tmp / "X.npy", X)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="",
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        subprocess.run([sys.executable, "-c", _LOAD_ON_CPU, str(tmp / "emb.pkl"),
                        str(tmp / "X.npy"), str(tmp / "Z.npy")], env=env, check=True)
        Z_cpu = np.load(tmp / "Z.npy")
    err = float(np.abs(Z - Z_cpu).max())
    rows.append(dict(check="pickle across devices",
                     status="ok" if err < 1e-4 else "FAILED",
                     detail=f"transform on a process without GPU: max |diff| "
                            f"{err:.2e} (tolerance 1e-4)"))


def _import_faiss(rows, what):
    try:
        import faiss
    except ImportError as exc:
        rows.append(dict(check=what, status="skipped", detail=f"faiss: {exc}"))
        return None
    return faiss


def check_faiss(args, rows):
    faiss = _import_faiss(rows, "faiss clustering")
    if faiss is None:
        return
    from sklearn_clmle.cluster import SphericalKMeans

    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    if args.device.startswith("cuda") and gpus == 0:
        rows.append(dict(check="faiss clustering", status="skipped",
                         detail="faiss sees no GPU (install faiss-gpu)"))
        return
    X = unit_rows(args.kmeans_rows, 128, args.k)
    tic = time.perf_counter()
    direct = faiss.Kmeans(128, args.k, niter=20, spherical=True, seed=0,
                          gpu=gpus > 0, verbose=False)
    direct.train(X)
    t_direct = time.perf_counter() - tic
    _, assign = direct.index.search(X, 1)
    cos_direct = float(np.mean(np.sum(X * direct.centroids[assign[:, 0]], axis=1)))
    tic = time.perf_counter()
    # faiss.Kmeans's seeding (k random rows, one run), so that the two time
    # the same iterations
    ours = SphericalKMeans(n_clusters=args.k, init="random", n_init=1,
                           algorithm="faiss", max_iter=20, random_state=0).fit(X)
    t_ours = time.perf_counter() - tic
    cos_ours = float(np.mean(np.sum(X * ours.cluster_centers_[ours.labels_], axis=1)))
    rows.append(dict(check="faiss clustering",
                     status="ok" if t_ours <= 1.2 * t_direct else "slow",
                     detail=f"{args.kmeans_rows} x 128, k={args.k}, 20 iterations, "
                            f"{'GPU' if gpus else 'CPU'}: SphericalKMeans(algorithm="
                            f"'faiss') {t_ours:.1f} s, faiss.Kmeans {t_direct:.1f} s "
                            f"({t_ours / t_direct:.2f}x); mean cos {cos_ours:.4f} vs "
                            f"{cos_direct:.4f}"))
    from sklearn_clmle import KNearestClusterClassifier

    y = np.random.default_rng(0).integers(0, 10, len(X))
    clf = KNearestClusterClassifier(algorithm="faiss", cluster_size=200,
                                    random_state=0).fit(X, y)
    queries = X[:20000]
    tic = time.perf_counter()
    clf.predict(queries)
    qps = len(queries) / (time.perf_counter() - tic)
    rows.append(dict(check="faiss search", status="ok",
                     detail=f"KNearestClusterClassifier(algorithm='faiss'), "
                            f"{len(clf.cluster_centers_)} centroids: "
                            f"{qps:,.0f} queries/s"))


def check_ddp(args, rows):
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    example = ROOT / "examples" / "torchrun_fit.py"
    if n < 2 or not example.exists():
        rows.append(dict(check="DDP (nccl)", status="skipped",
                         detail=f"{n} GPU(s) visible; needs 2 and {example.name}"))
        return
    tic = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run",
                           "--nproc_per_node=2", str(example)],
                          capture_output=True, text=True)
    rows.append(dict(check="DDP (nccl)", status="ok" if proc.returncode == 0
                     else "FAILED", detail=f"torchrun --nproc_per_node=2 in "
                     f"{time.perf_counter() - tic:.0f} s; last line: "
                     f"{(proc.stdout or proc.stderr).strip().splitlines()[-1:]}"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (a dry run of every check, on CPU)")
    args = parser.parse_args(argv)
    args.rows, args.epochs = (3000, 3) if args.quick else (200000, 5)
    args.kmeans_rows, args.k = (20000, 64) if args.quick else (1000000, 4096)
    rows = []
    emb, X = check_training(args, rows)
    check_pickle(emb, X, rows)
    check_faiss(args, rows)
    check_ddp(args, rows)
    out = results_dir("scaling") / ("gpu_check_quick" if args.quick else "gpu_check")
    write_csv(rows, out.with_suffix(".csv"))
    cmd = "python benchmarks/gpu_check.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    lines = [f"# GPU check\n\nCommand: `{cmd}`.\n", "| check | status | detail |",
             "| --- | --- | --- |"]
    lines += [f"| {r['check']} | {r['status']} | {r['detail']} |" for r in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    for r in rows:
        print(f"{r['check']:<24} {r['status']:<8} {r['detail']}")
    return 1 if any(r["status"] == "FAILED" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
