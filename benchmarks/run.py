"""Run the long-tail benchmark suite: CLMLE against imbalanced-learn and the
deep long-tail baselines, on the same backbone, budget and data.

::

    python -m benchmarks.run --quick                 # digits, IR 10, 3 seeds (~4 min)
    python -m benchmarks.run                         # every data set (about an hour)
    python -m benchmarks.run --datasets fmnist-ir100 --methods CE,CLMLE --seeds 0
    python -m benchmarks.run --list                  # data sets and methods

Results go to ``local_results/suite/`` at the repository root, which git
ignores, so that a run leaves the checkout clean (``--results`` to choose
another folder); ``--refresh-committed`` writes them to the committed
``benchmarks/results/suite/`` instead.  The files: ``suite_<data>.csv``
(one row per seed and method: balanced accuracy, macro F1, G-mean, many /
medium / few-shot recall, fit and predict seconds),
``suite_<data>_per_class.csv``, ``suite_<data>.md`` (mean ± std over seeds),
``suite_<data>_recall.png`` (per-class recall against class frequency),
``suite_summary.md`` and ``suite_bacc_vs_ir.png`` (balanced accuracy against
imbalance ratio).  A re-run of a (data set, seed, method) replaces its row.
See ``benchmarks/suite/methods.py`` for the protocol.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from benchmarks import common
from benchmarks.suite import datasets as ds
from benchmarks.suite import report
from benchmarks.suite.methods import METHODS, Context, Skip, build, config_for

# the committed results (--refresh-committed), and where a run writes by
# default: a folder git ignores (.gitignore), so that `make demo` leaves a
# fresh clone clean
RESULTS = common.RESULTS / "suite"
LOCAL_RESULTS = Path(__file__).resolve().parents[1] / "local_results" / "suite"
QUICK = ["digits-ir10"]


def _select(requested, known, what):
    if not requested:
        return list(known)
    chosen = []
    for item in (s.strip() for s in requested.split(",")):
        if item in known:
            hits = [item]
        else:
            hits = [k for k in known if item.lower() in k.lower()]
        if not hits:
            sys.exit(f"unknown {what} {item!r}; known: {', '.join(known)}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"only {', '.join(QUICK)} (the `make demo` run)")
    parser.add_argument("--datasets", help="comma-separated names or substrings")
    parser.add_argument("--methods", help="comma-separated names or substrings")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated ints")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--results", type=Path, default=LOCAL_RESULTS,
                       help="folder of the tables and plots (default: "
                            "local_results/suite/, ignored by git)")
    where.add_argument("--refresh-committed", action="store_const", dest="results",
                       const=RESULTS,
                       help="write to the committed benchmarks/results/suite/")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch / BLAS threads (default 1: the committed "
                             "results; robust when the CPU is shared)")
    parser.add_argument("--list", action="store_true", help="list and exit")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild tables and plots from the CSV files")
    return parser.parse_args(argv)


def run_one(split, method, seed):
    """Fit and score one method on one split; a CSV row and per-class rows."""
    counts = split.counts
    row = {"dataset": split.name, "seed": seed, "method": method,
           "group": METHODS[method][0], "skipped": ""}
    try:
        est = build(method, Context(seed, split.y_train, config_for(split.name)))
    except Skip as why:
        row.update({k: "" for k in report.FIELDS if k not in row})
        row["skipped"] = str(why)
        return row, []
    with warnings.catch_warnings():
        # ConvergenceWarning of the logistic regressions, RuntimeWarnings of
        # tiny clusters: the scores say what matters.
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        try:
            est.fit(split.X_train, split.y_train)
        except (ValueError, RuntimeError) as err:
            # e.g. ADASYN refusing a class without neighbours of another
            # class: recorded in the table, never scored as zero.
            row.update({k: "" for k in report.FIELDS if k not in row})
            row["skipped"] = f"fit failed: {type(err).__name__}: {err}"
            return row, []
        t1 = time.perf_counter()
        pred = est.predict(split.X_test)
        t2 = time.perf_counter()
    metrics, recall = report.score(split.y_test, pred, counts)
    row.update({k: f"{v:.6f}" for k, v in metrics.items()})
    row.update(fit_seconds=f"{t1 - t0:.3f}", predict_seconds=f"{t2 - t1:.3f}")
    per_class = [{"dataset": split.name, "seed": seed, "method": method,
                  "class": c, "train_count": int(counts[c]),
                  "recall": f"{recall[c]:.6f}"} for c in range(len(counts))]
    return row, per_class


def rebuild(results, datasets, methods_order):
    """Rewrite the Markdown tables and plots from the CSV files on disk."""
    all_rows = {}
    for path in sorted(results.glob("suite_*.csv")):
        if path.name.endswith("_per_class.csv"):
            continue
        rows = report.latest(report.read_csv(path))
        if rows:
            all_rows[rows[0]["dataset"]] = rows
    groups = {m: g for m, (g, _) in METHODS.items()}
    for name in datasets:
        if name not in all_rows:
            continue
        rows = all_rows[name]
        seeds = sorted({int(r["seed"]) for r in rows})
        test = ("stratified 30 % test split, as imbalanced as the table"
                if name.startswith("keel") else "balanced test set")
        text = [f"# {name}: {test}, seeds {seeds}\n",
                "Mean ± std over seeds, in %. Command: "
                f"`python -m benchmarks.run --datasets {name}`. Protocol: "
                "`benchmarks/suite/methods.py`; many / medium / few: terciles "
                "of classes by training count.\n",
                report.dataset_table(rows, methods_order, groups)]
        (results / f"suite_{name}.md").write_text("\n".join(text))
        per_class_path = results / f"suite_{name}_per_class.csv"
        if per_class_path.exists():
            per_class = list({(r["seed"], r["method"], r["class"]): r for r in
                              report.read_csv(per_class_path)}.values())
            report.plot_recall(per_class, methods_order,
                               results / f"suite_{name}_recall.png",
                               f"{name}: recall from head to tail")
    ordered = {d: all_rows[d] for d in ds.LOADERS if d in all_rows}
    (results / "suite_summary.md").write_text(
        "# Balanced accuracy (%) on the balanced test sets, mean ± std over seeds\n\n"
        + report.summary_table(ordered, methods_order))
    report.plot_bacc_vs_ir(ordered, methods_order, results / "suite_bacc_vs_ir.png")


def main(argv=None):
    args = parse_args(argv)
    datasets = QUICK if args.quick else _select(args.datasets, ds.LOADERS, "data set")
    methods = _select(args.methods, METHODS, "method")
    if args.list:
        print("data sets:", ", ".join(ds.LOADERS))
        print("methods:\n  " + "\n  ".join(f"{m} ({METHODS[m][0]})" for m in METHODS))
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    results = args.results
    results.mkdir(parents=True, exist_ok=True)
    print(f"results go to {results}", flush=True)
    if not args.report_only:
        _set_threads(args.threads)
        bar = tqdm(total=len(datasets) * len(seeds) * len(methods), unit="fit",
                   dynamic_ncols=True, file=sys.stdout)
        for name in datasets:
            for seed in seeds:
                split = ds.load(name, seed)
                for method in methods:
                    bar.set_postfix_str(f"{name} seed {seed}: {method}")
                    row, per_class = run_one(split, method, seed)
                    report.store_rows(results / f"suite_{name}.csv", [row],
                                      report.FIELDS)
                    if per_class:
                        report.store_rows(results / f"suite_{name}_per_class.csv",
                                          per_class, list(per_class[0]))
                    bar.update()
                    if row["skipped"]:
                        bar.write(f"{name} seed {seed} {method}: skipped ({row['skipped']})")
                    else:
                        bar.write(f"{name} seed {seed} {method:<28} balanced acc "
                                  f"{100 * float(row['balanced_accuracy']):5.1f}  "
                                  f"fit {float(row['fit_seconds']):6.1f} s")
        bar.close()
    rebuild(results, datasets, list(METHODS))
    for name in datasets:
        path = results / f"suite_{name}.md"
        if path.exists():
            print("\n" + path.read_text())
    print(f"results in {results}")


def _set_threads(n):
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)


if __name__ == "__main__":
    main()
