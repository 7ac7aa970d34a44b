"""CLMLE levers on validation splits only: the default pipeline with one
setting changed at a time, against logit-adjusted cross-entropy.

This is how defaults are chosen without the reported test splits::

    python benchmarks/bench_clmle_levers.py --variants "margin_power=0" \\
        "margin_power=0.25" "margin_power=0.5"
    python benchmarks/bench_clmle_levers.py --datasets digits-ir50 --seeds 0,1

Each variant is ``Pipeline([CLMLEEmbedder(random_state=s, **variant),
KNearestClusterClassifier(random_state=s)])`` (the suite's "CLMLE
(defaults)" row with the variant's settings); the reference row is the
suite's logit-adjusted CE.  Validation splits (``benchmarks.suite.datasets.
load_validation``): Fashion-MNIST on balanced images of the training pool
that the long-tailed subset left out; KEEL tables on a stratified 30 % of
the training side; digits on development seeds 100+ (splits drawn
independently of the reported seeds 0-2).

Writes ``benchmarks/results/clmle/levers.md`` and ``.csv``: balanced
accuracy (%) mean ± std over seeds, and each variant's mean paired
difference to the first one ± its standard error (seeds pair the splits
and the initialisations).
"""

import argparse
import csv
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import results_dir  # noqa: E402
from benchmarks.suite.datasets import load_validation  # noqa: E402
from benchmarks.suite.methods import Context, _net, config_for  # noqa: E402
from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier  # noqa: E402

DATASETS = ["digits-ir10", "digits-ir50", "fmnist-ir10", "fmnist-ir100",
            "keel-page-blocks", "keel-yeast"]
REFERENCE = "logit-adjusted CE"


def parse_variant(text):
    """``"a=1, b='x'"`` -> ``{"a": 1, "b": "x"}`` (keyword syntax)."""
    return eval(f"dict({text})", {"__builtins__": {"dict": dict}})


def score(name, seed, variants):
    split = load_validation(name, seed)
    out = {}
    for label, params in variants.items():
        pipe = make_pipeline(CLMLEEmbedder(random_state=seed, **params),
                             KNearestClusterClassifier(random_state=seed))
        out[label] = _fit_score(pipe, split)
    ctx = Context(seed, split.y_train, config_for(name))
    out[REFERENCE] = _fit_score(_net(ctx, "logit_adjusted"), split)
    return out


def _fit_score(est, split):
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(split.X_train, split.y_train)
    pred = est.predict(split.X_test)
    return 100 * balanced_accuracy_score(split.y_test, pred), time.perf_counter() - tic


def markdown(rows, datasets, labels, command):
    table = {(r["variant"], r["dataset"], int(r["seed"])): float(r["balanced_accuracy"])
             for r in rows}
    lines = ["# CLMLE levers on validation splits (balanced accuracy, %)\n",
             f"Command: `{command}`.  Mean ± std over seeds; Δ: mean paired "
             f"difference to `{labels[0]}` ± its standard error.  Validation "
             "splits only (see the script's docstring); the reported test "
             "splits are never used.\n",
             "| variant | " + " | ".join(datasets) + " | mean |",
             "| --- |" + " --- |" * (len(datasets) + 1)]
    for label in labels + [REFERENCE]:
        cells, means = [], []
        for d in datasets:
            seeds = sorted(s for (v, dd, s) in table if v == label and dd == d)
            if not seeds:
                cells.append("—")
                continue
            v = np.array([table[label, d, s] for s in seeds])
            means.append(v.mean())
            text = f"{v.mean():.2f} ± {v.std():.2f}"
            if label != labels[0]:
                base = np.array([table.get((labels[0], d, s), np.nan) for s in seeds])
                diff = v - base
                if np.isfinite(diff).all() and len(diff) > 1:
                    text += (f" (Δ {diff.mean():+.2f} ± "
                             f"{diff.std(ddof=1) / np.sqrt(len(diff)):.2f})")
            cells.append(text)
        mean = f"{np.mean(means):.2f}" if len(means) == len(datasets) else "—"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {mean} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2,3,4,5")
    parser.add_argument("--variants", nargs="+", default=["margin_power=0",
                                                           "margin_power=0.25"],
                        help="CLMLEEmbedder keyword settings, one variant each")
    parser.add_argument("--out", default="levers")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    threadpool_limits(1)
    variants = {v: parse_variant(v) for v in args.variants}
    datasets = args.datasets.split(",")
    command = "python benchmarks/bench_clmle_levers.py " + shlex.join(
        argv if argv is not None else sys.argv[1:])
    out = results_dir("clmle") / args.out
    rows = []
    for name in datasets:
        for seed in (int(s) for s in args.seeds.split(",")):
            for label, (bacc, fit_s) in score(name, seed, variants).items():
                rows.append(dict(dataset=name, seed=seed, variant=label,
                                 balanced_accuracy=f"{bacc:.4f}",
                                 fit_seconds=f"{fit_s:.2f}"))
                print(f"{name} seed {seed} {label:<32} {bacc:6.2f} ({fit_s:.1f} s)",
                      flush=True)
            with out.with_suffix(".csv").open("w", newline="") as fh:
                writer = csv.DictWriter(fh, list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            out.with_suffix(".md").write_text(
                markdown(rows, datasets, list(variants), command))
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
