"""What every benchmark script shares: where results go, how rows are
written, the training budget every method gets, and the one-at-a-time lock
that keeps two timings from sharing this machine's cores.

Results live in one sub-folder of ``benchmarks/results/`` per benchmark
(``results_dir("suite")``, ``results_dir("face")``, ...).
"""

import contextlib
import csv
import fcntl
import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
LOCK = Path("/tmp/clmle-bench.lock")


def results_dir(name):
    """``benchmarks/results/<name>/``, created if missing."""
    path = RESULTS / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(rows, path, append=False):
    """``rows`` (dicts with the same keys) to the CSV at ``path``; with
    ``append`` the rows go after those already there (header written once)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not (append and path.exists())
    with path.open("a" if append else "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)


def mean_std(values, scale=100.0):
    """``"m ± s"`` of ``scale * values`` with two decimals."""
    v = scale * np.asarray(values, dtype=float)
    return f"{v.mean():.2f} ± {v.std():.2f}"


def steps_per_round(n, epochs, warmup_epochs, n_rounds, batch):
    """The training budget: optimiser steps per round of CLMLE (or of a
    P x K metric loss) so that warm-up and rounds together see ``epochs * n``
    samples, as many as every cross-entropy rival sees in ``epochs`` epochs."""
    return max(1, round((epochs - warmup_epochs) * n / (n_rounds * batch)))


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (imported lazily)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def exclusive_run(what, lock=LOCK):
    """Hold the benchmark lock while the block runs: a second benchmark
    (another script, or the same one) waits for it, so two timings never
    share the cores.  ``flock`` is released by the kernel when the process
    ends, however it ends, so a killed run never leaves a stale lock; a
    ``SIGTERM`` (``timeout``, ``kill``) ends the run through ``finally``.
    Other tools can take the same lock: ``flock -x /tmp/clmle-bench.lock cmd``.
    """
    lock = Path(lock)
    with lock.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {lock} (another benchmark runs)",
                  file=sys.stderr, flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        fh.seek(0)
        fh.truncate()
        fh.write(f"{what} pid {os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)
            fcntl.flock(fh, fcntl.LOCK_UN)


def traced_peak(make, X):
    """Peak of Python-visible allocations (numpy buffers included) while a
    fresh ``make()`` fits ``X``, in bytes (untimed)."""
    est = make()
    tracemalloc.start()
    try:
        est.fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def timed_fits(makers, X, threads, measure):
    """Fit every ``makers[name]()`` on ``X`` at each thread count (BLAS and
    OpenMP held there): one row per fit with ``threads``, ``method``,
    ``fit_s``, ``n_iter`` and what ``measure(est)`` returns; printed as it
    comes."""
    from threadpoolctl import threadpool_limits

    rows = []
    for n_threads in threads:
        with threadpool_limits(limits=n_threads):
            for name, make in makers.items():
                est = make()
                t0 = time.perf_counter()
                est.fit(X)
                seconds = time.perf_counter() - t0
                rows.append(dict(threads=n_threads, method=name, fit_s=seconds,
                                 n_iter=int(est.n_iter_), **measure(est)))
                print(rows[-1], flush=True)
    return rows
