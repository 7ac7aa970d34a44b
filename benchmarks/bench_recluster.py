"""The clustering step of a data-parallel re-clustering (issue 25, item 3).

``PerClassClustering`` of 100,000 unit-norm float32 rows (64 dimensions, 10
classes, long-tailed with imbalance ratio 10, each class's rows around its
own direction), ``cluster_size=50`` (1,995 equal-size clusters): in one
process, against two ``gloo`` processes (``torch.multiprocessing.spawn``,
the loopback) that share the classes with ``DataParallel.map_tasks`` and
gather the labels and centroids on both ranks, as the re-clustering of a
data-parallel ``CLMLEEmbedder`` / ``MetricEmbedder`` fit does.  Every
process runs torch and BLAS on one thread.  The 1-process clustering runs
``--repeats`` times, then the 2-process one as often; the table gives the
fastest of each, each rank's seconds inside its own classes, and checks
that both give the same clustering, bit for bit.

::

    flock -x /tmp/clmle-timing.lock python benchmarks/bench_recluster.py

Results: ``benchmarks/results/scaling/recluster.md``.
"""

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_busy_argument, check_quiet  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "scaling"
CLUSTER_SIZE = 50


def data(n=100_000, d=64, n_classes=10, ratio=10.0, seed=0):
    rng = np.random.default_rng(seed)
    profile = ratio ** (-np.arange(n_classes) / (n_classes - 1))
    y = np.repeat(np.arange(n_classes), np.round(n * profile / profile.sum()).astype(int))
    F = rng.normal(size=(len(y), d)).astype(np.float32)
    F += 3 * np.eye(n_classes, d, dtype=np.float32)[y]
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    return F, y


def cluster(map_tasks):
    """Seconds of one clustering, and the clustering."""
    from sklearn_clmle.cluster._per_class import PerClassClustering

    F, y = data()
    rng = np.random.RandomState(0)
    tic = time.perf_counter()
    out = PerClassClustering(CLUSTER_SIZE)(F, y, rng, map_tasks=map_tasks)
    return time.perf_counter() - tic, out


def _worker(rank, port, repeats, outfile):
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    import torch.distributed as dist
    from threadpoolctl import threadpool_limits

    from sklearn_clmle.embedding.training.distributed import data_parallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=2)
    dp = data_parallel("auto", "cpu")
    own = []

    def timed_map(fn, tasks, costs):
        def run(task):
            tic = time.perf_counter()
            result = fn(task)
            own[-1] += time.perf_counter() - tic
            return result
        return dp.map_tasks(run, tasks, costs)

    runs = []
    with threadpool_limits(1):
        for _ in range(repeats):
            own.append(0.0)
            dist.barrier()
            seconds, out = cluster(timed_map)
            runs.append(seconds)
    mine = np.array(own)
    every = [None, None]
    dist.all_gather_object(every, mine)
    if rank == 0:
        np.savez(outfile, seconds=np.array(runs), own=np.array(every),
                 cluster_of=out[0], classes=out[1], centroids=out[2])
    dist.barrier()
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    add_busy_argument(parser)
    args = parser.parse_args()
    machine = check_quiet(args.allow_busy, "bench_recluster.py")
    import torch
    import torch.multiprocessing as mp
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    with threadpool_limits(1):
        single = [cluster(None) for _ in range(args.repeats)]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        outfile = str(Path(tmp) / "ranks.npz")
        mp.spawn(_worker, args=(port, args.repeats, outfile), nprocs=2)
        two = dict(np.load(outfile))
    ref = single[0][1]
    same = all(np.array_equal(two[k], r) for k, r in
               zip(("cluster_of", "classes", "centroids"), ref))
    one_s = min(s for s, _ in single)
    two_s = float(two["seconds"].min())
    best = int(two["seconds"].argmin())
    lines = [
        "# Re-clustering in a data-parallel fit: the clustering step on 2 ranks",
        "",
        f"`PerClassClustering({CLUSTER_SIZE})` of 100,000 x 64 unit-norm float32 "
        f"rows, 10 long-tailed classes (imbalance ratio 10), {len(ref[1]):,} "
        "clusters; 1 process against 2 gloo processes sharing the classes "
        "(`DataParallel.map_tasks`, results gathered on both ranks); torch and "
        f"BLAS on one thread a process; {os.cpu_count()} CPU cores, load average "
        f"{load_before:.2f} before the runs (the machine is shared).  Fastest of "
        f"{args.repeats} runs each.",
        "",
        "| processes | clustering (s) | vs 1 process | seconds in its own classes, "
        "rank 0 / rank 1 | same clustering as 1 process |",
        "| --- | ---: | ---: | --- | --- |",
        f"| 1 | {one_s:.2f} | 1.00x | {one_s:.2f} | |",
        f"| 2 | {two_s:.2f} | {one_s / two_s:.2f}x | "
        f"{two['own'][0][best]:.2f} / {two['own'][1][best]:.2f} | "
        f"{'yes, bit for bit' if same else 'NO'} |",
        "",
        "Command:",
        "",
        "```",
        " ".join(["flock -x /tmp/clmle-timing.lock python "
                  "benchmarks/bench_recluster.py", *sys.argv[1:]]),
        "```",
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    lines[1:1] = ["", machine.summary()]
    (OUT / "recluster.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if not same:
        sys.exit("the 2-process clustering differs from the 1-process one")


if __name__ == "__main__":
    main()
