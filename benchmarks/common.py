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
    ``append`` the rows go after those already there (header written once;
    when the new rows bring new columns, the file is rewritten with every
    column, the older rows' new cells left empty)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(rows[0])
    if append and path.exists():
        with path.open(newline="") as fh:
            old = list(csv.DictReader(fh))
        known = list(old[0]) if old else fields
        if set(fields) - set(known):
            rows = old + list(rows)
            fields = known + [f for f in fields if f not in known]
            append = False
        else:
            fields = known
    new = not (append and path.exists())
    with path.open("a" if append else "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, restval="")
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


# Timings are committed only from a quiet machine: a 1-minute load average
# above this many runnable tasks per core, before the benchmark starts, means
# other work shares the cores.
MAX_LOAD_PER_CORE = 1.0

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "OMP_WAIT_POLICY", "ATEN_CPU_CAPABILITY")


def add_busy_argument(parser):
    """``--allow-busy`` on a timing benchmark's ``argparse`` parser."""
    parser.add_argument(
        "--allow-busy", action="store_true",
        help=f"run and write results although the load average exceeds "
             f"{MAX_LOAD_PER_CORE:g} per core; they are then marked as "
             "measured under load (not a timing claim)")
    return parser


def load_average():
    """The 1-, 5- and 15-minute load averages."""
    return os.getloadavg()


def thread_settings():
    """The thread settings a timing depends on, as text: the thread
    environment variables that are set, each thread-pool library's threads
    (threadpoolctl) and, when torch is imported, torch's intra- and
    inter-op threads."""
    from threadpoolctl import threadpool_info

    parts = [f"{k}={os.environ[k]}" for k in _THREAD_VARS if k in os.environ]
    parts += [f"{lib.get('internal_api', lib['user_api'])} {lib['num_threads']}"
              for lib in threadpool_info()]
    torch = sys.modules.get("torch")
    if torch is not None:
        parts.append(f"torch {torch.get_num_threads()} intra-op / "
                     f"{torch.get_num_interop_threads()} inter-op")
    return ", ".join(parts) or "library defaults"


class MachineState:
    """The load before a timing benchmark ran (``check_quiet``) and after.

    ``busy``: the load average before the run exceeded ``MAX_LOAD_PER_CORE``
    per core (the benchmark then runs only with ``--allow-busy``, and its
    results say so).
    """

    def __init__(self, before, cores, busy):
        self.before, self.cores, self.busy = before, cores, busy

    def summary(self):
        """One Markdown line for a results file: the load average before
        and after (after includes the benchmark itself), the cores and the
        thread settings read now; with a warning first when busy."""
        after = load_average()
        line = (f"Load average {self.before[0]:.2f} before the run, "
                f"{after[0]:.2f} after (1 min; the benchmark's own threads "
                f"included), {self.cores} cores; threads: {thread_settings()}.")
        if self.busy:
            line = ("**Measured under load (run with `--allow-busy`): not a "
                    "timing claim.** " + line)
        return line

    def fields(self):
        """The same as CSV columns."""
        return dict(load_before=round(self.before[0], 2),
                    load_after=round(load_average()[0], 2), cores=self.cores,
                    under_load=self.busy, threads=thread_settings())


def check_quiet(allow_busy, what="this benchmark"):
    """Refuse to time on a busy machine: exit with a message when the 1-minute
    load average exceeds ``MAX_LOAD_PER_CORE`` per core, unless
    ``allow_busy``, in which case the results are marked as measured under
    load.  Returns the ``MachineState`` for the results file."""
    before = load_average()
    cores = os.cpu_count() or 1
    busy = before[0] > MAX_LOAD_PER_CORE * cores
    if busy and not allow_busy:
        sys.exit(
            f"{what}: load average {before[0]:.2f} on {cores} cores is above "
            f"{MAX_LOAD_PER_CORE:g} per core; timings are not written on a busy "
            "machine. Wait for a quiet moment, or pass --allow-busy to write "
            "results marked as measured under load.")
    return MachineState(before, cores, busy)
