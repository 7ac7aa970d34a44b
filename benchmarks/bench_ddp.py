"""Data-parallel training on this machine's CPUs (issue 15, item 1).

Whole-fit samples per second of ``CLMLEEmbedder`` with the default CNN on
Fashion-MNIST images (the first ``--n`` training images, pixels in [0, 1],
read from the Debian package's copy under /usr/share/datasets), in three
configurations:

(a) 1 process, 1 torch thread;
(b) 2 processes (``torch.multiprocessing.spawn``, a ``gloo`` process group on
    the loopback), 1 torch thread each: ``distributed="auto"`` trains one model
    data-parallel;
(c) 1 process, 2 torch threads.

Samples per second = passes over the training set (``epochs_``, warm-up
included) x ``n`` / wall time of ``fit`` (on rank 0, the ranks started after a
barrier, after an untimed fit of a few steps that does the lazy imports and
kernel set-up).  The same global batches in every configuration; the per-phase
times come from ``history_``.  The 5-NN balanced accuracy on the first 2,000
test images of each fitted embedding shows the models are of one quality (not
bit-identical: rounding differences grow over the steps, as between 1 and 2
threads).  Each configuration runs ``--repeats`` times, interleaved; the table
gives the medians, the CSV every run.

::

    flock -x /tmp/clmle-timing.lock python benchmarks/bench_ddp.py   # ~9 min

Results: ``benchmarks/results/scaling/ddp.md`` and ``ddp.csv`` (``--out``
to change the stem; ``--configs a,b`` runs (a) and (b) only).
"""

import argparse
import csv
import os
import platform
import socket
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_busy_argument, check_quiet  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "scaling"
COMMAND = "flock -x /tmp/clmle-timing.lock python benchmarks/bench_ddp.py"


def load(n, n_test=2000):
    from sklearn_clmle.datasets import load_fashion_mnist

    X, y = load_fashion_mnist(return_X_y=True)
    Xt, yt = load_fashion_mnist(subset="test", return_X_y=True)

    def images(a):
        return (np.asarray(a, dtype=np.float32) / 255).reshape(-1, 28, 28)

    return images(X[:n]), y[:n], images(Xt[:n_test]), yt[:n_test]


def _run(rank, world_size, threads, n, port, outfile):
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch
    import torch.distributed as dist
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.neighbors import KNeighborsClassifier

    from sklearn_clmle import CLMLEEmbedder

    torch.set_num_threads(threads)
    X, y, Xt, yt = load(n)
    if world_size > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                                rank=rank, world_size=world_size)
    # untimed: a fit of a few steps (lazy imports, oneDNN's kernel set-up)
    CLMLEEmbedder(device="cpu", random_state=0, warmup_epochs=1, n_rounds=1,
                  steps_per_round=2).fit(X[:480], y[:480])
    est = CLMLEEmbedder(device="cpu", random_state=0)
    if world_size > 1:
        dist.barrier()
    tic = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - tic
    if world_size > 1:
        dist.barrier()
        dist.destroy_process_group()
    if rank != 0:
        return
    h = est.history_
    warm = sum(r["dur"] for r in h if r["phase"] == "warmup")
    rounds = sum(r["dur"] for r in h if r["phase"] == "cluster")
    clustering = sum(r["clustering_dur"] for r in h if r["phase"] == "cluster")
    knn = KNeighborsClassifier(5).fit(est.transform(X), y)
    bacc = balanced_accuracy_score(yt, knn.predict(est.transform(Xt)))
    np.save(outfile, np.array([
        seconds, est.epochs_ * n / seconds, warm, rounds, clustering, bacc,
        est.world_size_, est.epochs_, est.steps_per_round_,
    ]))


def run(world_size, threads, n, tmp):
    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outfile = str(Path(tmp) / f"ddp_{world_size}_{threads}.npy")
    mp.spawn(_run, args=(world_size, threads, n, port, outfile), nprocs=world_size)
    return np.load(outfile)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=15_000, help="training images")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs of each configuration, interleaved")
    parser.add_argument("--configs", default="a,b,c",
                        help="configurations to run, of a, b, c (default all)")
    parser.add_argument("--out", default="ddp",
                        help="results file stem under benchmarks/results/scaling/")
    add_busy_argument(parser)
    args = parser.parse_args()
    machine = check_quiet(args.allow_busy, "bench_ddp.py")
    import tempfile

    import torch

    configs = [("(a) 1 process x 1 thread", 1, 1),
               ("(b) 2 processes x 1 thread (gloo)", 2, 1),
               ("(c) 1 process x 2 threads", 1, 2)]
    chosen = {c.strip() for c in args.configs.split(",")}
    configs = [c for c in configs if c[0][1] in chosen]
    runs = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for label, world_size, threads in configs:
                r = run(world_size, threads, args.n, tmp)
                runs.append(dict(
                    config=label, repeat=repeat + 1, processes=world_size,
                    threads_per_process=threads, n_samples=args.n,
                    epochs=int(r[7]), steps_per_round=int(r[8]),
                    world_size_=int(r[6]), fit_s=round(float(r[0]), 2),
                    samples_per_s=round(float(r[1]), 1),
                    warmup_s=round(float(r[2]), 2), rounds_s=round(float(r[3]), 2),
                    clustering_s=round(float(r[4]), 2), knn_bacc=round(float(r[5]), 4),
                ))
                print(runs[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f"{args.out}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(runs[0]))
        writer.writeheader()
        writer.writerows(runs)
    # one row per configuration: the medians over the repeats
    rows = []
    for label, _, _ in configs:
        mine = [r for r in runs if r["config"] == label]
        row = dict(mine[0])
        for key in ("fit_s", "samples_per_s", "warmup_s", "rounds_s",
                    "clustering_s", "knn_bacc"):
            row[key] = float(np.median([r[key] for r in mine]))
        row["all_samples_per_s"] = " / ".join(f"{r['samples_per_s']:.0f}" for r in mine)
        rows.append(row)
    # (a) is the reference; without it (--configs b,c) the column says n/a
    base = rows[0]["samples_per_s"] if rows[0]["config"].startswith("(a)") else None
    for row in rows:
        row["ratio_vs_a"] = (f"{row['samples_per_s'] / base:.2f}x" if base
                             else "n/a")
        row["clustering_share"] = row["clustering_s"] / row["fit_s"]
    r = rows[0]
    lines = [
        "# Data-parallel training (DDP) on CPUs: whole-fit samples per second",
        "",
        f"`CLMLEEmbedder(device=\"cpu\", random_state=0)` (default CNN, default "
        f"settings: {r['epochs']} passes, 5 warm-up epochs, 5 rounds of "
        f"{r['steps_per_round']} steps of 240-sample batches) on the first "
        f"{args.n:,} Fashion-MNIST training images; torch {torch.__version__}, "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"gloo on the loopback for (b).  Medians of {args.repeats} runs of each "
        "configuration, interleaved (all runs in the CSV); load average "
        f"{load_before:.2f} before the first (the machine is shared).",
        "Samples/s = passes x images / wall time of `fit`; the phases from "
        "`history_` (rank 0): warm-up epochs, cluster rounds, and the "
        "re-clustering part of the rounds (embedding the training set and "
        "clustering).  kNN bacc: 5-NN balanced accuracy of the embeddings on "
        "2,000 test images.  The three fits draw the same batches, but float "
        "rounding (half batches in (b), two threads in (c)) grows over the "
        "steps as in any training run, so they end on different trajectories "
        "and score differently, within seed-to-seed noise.",
        "",
        "| configuration | fit (s) | samples/s | vs (a) | samples/s of each run "
        "| warm-up (s) | rounds (s) | of which re-clustering (s) "
        "| re-clustering share of fit | world_size_ | kNN bacc |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['config']} | {row['fit_s']:.1f} | {row['samples_per_s']:.0f} | "
            f"{row['ratio_vs_a']} | {row['all_samples_per_s']} "
            f"| {row['warmup_s']:.1f} | {row['rounds_s']:.1f} "
            f"| {row['clustering_s']:.1f} | {100 * row['clustering_share']:.1f} % "
            f"| {row['world_size_']} | {row['knn_bacc']:.3f} |"
        )
    command = " ".join([COMMAND, *sys.argv[1:]])
    lines += ["", "Command:", "", "```", command, "```"]
    lines[1:1] = ["", machine.summary()]
    (OUT / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
