"""Benchmark: thread settings of a torch fit, on the README's CLMLEClassifier block.

The README block's data (scikit-learn's digits / 16, float32, a stratified
split with random_state=0, the training part made long-tailed, imbalance
ratio 10) and ``CLMLEClassifier(random_state=0).fit``, timed (wall seconds)
under each setting, every run in a fresh Python process:

- ``1 thread``: ``OMP_NUM_THREADS=1`` (and OpenBLAS/MKL) in the environment;
- ``defaults``: nothing set, the policy off (torch's and BLAS's own defaults);
- ``defaults, OMP_WAIT_POLICY=PASSIVE``: idle OpenMP threads sleep;
- ``physical cores, BLAS 1``: ``torch.set_num_threads(physical cores)``, numpy's
  BLAS held to one thread with threadpoolctl, the policy off;
- ``policy``: nothing set, the fit's own thread policy
  (``sklearn_clmle/embedding/_threads.py``), what a user gets.

The settings alternate (A B C D E, then E D C B A, ...) so that a drift of
the machine's load spreads over all of them; the table gives the fastest and
the median run of each, the balanced accuracy on the test part and the
refit's ``n_rounds``.  Timings are refused on a busy machine (load average
above 1 per core) unless ``--allow-busy``, which marks them as measured
under load.

Run ``python benchmarks/bench_threads.py`` (``--repeats 3`` by default;
``--quick``: 300 training rows, one repeat, a smoke run).  Results:
``benchmarks/results/clmle/threads{,_quick}.{md,csv}``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    add_busy_argument,
    check_quiet,
    exclusive_run,
    results_dir,
    write_csv,
)

ONE = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
SETTINGS = {
    "1 thread": dict(env=ONE, policy=False),
    "defaults": dict(env={}, policy=False),
    "defaults, OMP_WAIT_POLICY=PASSIVE": dict(env={"OMP_WAIT_POLICY": "PASSIVE"},
                                              policy=False),
    "physical cores, BLAS 1": dict(env={}, policy=False, physical=True),
    "policy": dict(env={}, policy=True),
}
CLEARED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "OMP_WAIT_POLICY")


def readme_data(n_train=None):
    """The README block's training and test parts."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from sklearn_clmle.datasets import make_long_tailed

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y,
                                                        random_state=0)
    X_train, y_train = make_long_tailed(X_train, y_train, imbalance_ratio=10,
                                        random_state=0)
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, X_test, y_train, y_test


def worker(name, n_train):
    """One timed fit under the setting ``name`` (its environment already
    set by the parent); prints one JSON line."""
    import torch
    from sklearn.metrics import balanced_accuracy_score
    from threadpoolctl import threadpool_limits

    from benchmarks.common import thread_settings
    from sklearn_clmle import CLMLEClassifier
    from sklearn_clmle.embedding import _threads

    setting = SETTINGS[name]
    _threads.ENABLED = setting["policy"]
    X_train, X_test, y_train, y_test = readme_data(n_train)
    clf = CLMLEClassifier(random_state=0)
    limits = None
    if setting.get("physical"):
        torch.set_num_threads(_threads.physical_cores())
        limits = threadpool_limits(limits=1, user_api="blas")
    threads = thread_settings()
    tic = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - tic
    if limits is not None:
        limits.restore_original_limits()
    score = balanced_accuracy_score(y_test, clf.predict(X_test))
    print(json.dumps(dict(setting=name, fit_s=round(seconds, 2),
                          balanced_acc=round(score, 4),
                          n_rounds=clf.budget_["n_rounds"] if clf.budget_ else None,
                          threads_at_start=threads)))


def run(name, n_train):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(SETTINGS[name]["env"])
    cmd = [sys.executable, __file__, "--worker", name]
    if n_train is not None:
        cmd += ["--n-train", str(n_train)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(row, flush=True)
    return row


def write(rows, args, machine):
    import numpy as np

    stem = "threads_quick" if args.quick else "threads"
    out = results_dir("clmle")
    for row in rows:
        row.update(machine.fields())
    write_csv(rows, out / f"{stem}.csv")
    cmd = "python benchmarks/bench_threads.py " + " ".join(sys.argv[1:])
    lines = [
        "# Thread settings of a torch fit: the README's CLMLEClassifier block",
        "",
        f"Command: `{cmd.strip()}`.",
        "",
        machine.summary(),
        "",
        "`CLMLEClassifier(random_state=0).fit` on the README block's data "
        f"({rows[0].get('n_train', 'all')} training rows), each run in a fresh "
        "process, the settings alternating; wall seconds of the fit.",
        "",
        "| setting | runs | fastest fit (s) | median fit (s) | balanced acc. "
        "| refit n_rounds | threads at the start |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in SETTINGS:
        sel = [r for r in rows if r["setting"] == name]
        secs = [r["fit_s"] for r in sel]
        scores = ", ".join(sorted({f"{r['balanced_acc']:.3f}" for r in sel}))
        rounds = ", ".join(sorted({str(r["n_rounds"]) for r in sel}))
        lines.append(
            f"| {name} | {len(sel)} | {min(secs):.1f} | {np.median(secs):.1f} | "
            f"{scores} | {rounds} | {sel[0]['threads_at_start']} |")
    text = "\n".join(lines) + "\n"
    (out / f"{stem}.md").write_text(text)
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="300 training rows, one repeat (a smoke run)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--n-train", type=int, help=argparse.SUPPRESS)
    add_busy_argument(parser)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.n_train)
    if args.quick:
        args.repeats, n_train = 1, 300
    else:
        n_train = None
    machine = check_quiet(args.allow_busy, "bench_threads.py")
    names = list(SETTINGS)
    rows = []
    with exclusive_run("bench_threads.py"):
        for rep in range(args.repeats):
            for name in names if rep % 2 == 0 else names[::-1]:
                row = run(name, n_train)
                row.update(rep=rep, n_train=n_train or "all")
                rows.append(row)
    write(rows, args, machine)


if __name__ == "__main__":
    main()
