"""CLMLE's levers, each on and off, on the suite's data sets and test splits.

One command writes ``benchmarks/results/clmle/ablation.md`` and ``.csv``::

    python benchmarks/bench_clmle_ablation.py            # about 30 minutes
    python benchmarks/bench_clmle_ablation.py --datasets digits-ir50 --seeds 0

Rows (same backbone, budget and splits as the suite, ``benchmarks/suite/``):

- ``paper loss``: Eq. 9 alone in the rounds after a class-balanced softmax
  warm-up, one between-class margin for all classes (the paper's training,
  with the suite's scale); ``+ LA softmax``: the logit-adjusted softmax
  warm-up kept as an auxiliary term (``softmax_weight=1``) next to Eq. 9;
  ``+ class margins``: per-class between-class margins (``margin_power=0.25``,
  LDAM's exponent); the last two are the defaults now;
- ``tuned rule``: the suite's ``KNearestClusterClassifier`` settings (chosen
  on validation splits earlier); ``auto rule``: its ``"auto"`` settings;
- ``+ head``: the classifier's ``"auto"`` decoupled head beside the rule (a
  logit-adjusted logistic regression, alone or with the rule, chosen on a
  hold-out split of the training side); ``no head``: the rule alone;
- ``defaults``: ``Pipeline([CLMLEEmbedder(random_state=s),
  KNearestClusterClassifier(random_state=s)])`` (the suite's
  "CLMLE (defaults)" row); ``defaults, equal margins``: the same with
  ``margin_power=0``; ``defaults, cluster loss alone``: the same with
  ``softmax_weight=0`` (Eq. 9 alone in the rounds after the warm-up; its
  converse, the softmax term alone, is the logit-adjusted CE row);
- ``logit-adjusted CE``: the strongest deep rival, for reference.

The first row is the suite's CLMLE row before issue 13; the fifth is that
row before the class margins, the eighth the suite's "CLMLE + k-nearest
clusters" row now.

The levers were chosen on validation splits (never these test splits): the
long-tailed Fashion-MNIST sets on balanced validation images from the
training pool the long-tailed subset left out, digits on development seeds
100-102, KEEL tables on a stratified 30 % split of the training side.
"""

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suite import datasets as ds  # noqa: E402
from benchmarks.suite.methods import (  # noqa: E402
    Context, _net, clmle, clmle_defaults, config_for,
)
from sklearn_clmle import KNearestClusterClassifier  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "clmle"
DATASETS = ["fmnist-ir100", "fmnist-ir10", "digits-ir50", "keel-page-blocks",
            "keel-yeast"]
PAPER_LOSS = dict(softmax_weight=0.0, warmup_class_weight="balanced",
                  margin_power=0.0)
LA_SOFTMAX = dict(softmax_weight=1.0, warmup_class_weight="logit_adjusted",
                  margin_power=0.0)
CLASS_MARGINS = dict(LA_SOFTMAX, margin_power=0.25)
ROWS = ["paper loss + tuned rule, no head", "paper loss + tuned rule + head",
        "paper loss + auto rule + head",
        "+ LA softmax + tuned rule, no head", "+ LA softmax + tuned rule + head",
        "+ LA softmax + auto rule, no head", "+ LA softmax + auto rule + head",
        "+ LA softmax + class margins + tuned rule + head",
        "defaults", "defaults, equal margins", "defaults, cluster loss alone",
        "logit-adjusted CE"]


def _bacc(y, pred):
    return 100 * balanced_accuracy_score(y, pred)


def run_split(split, seed, only=None):
    """Balanced accuracy (%) and fit seconds of every row (or of the rows
    in ``only``) on one split."""
    ctx = Context(seed, split.y_train, config_for(split.name))
    out = {}
    for loss, rows in ((PAPER_LOSS, ROWS[:3]), (LA_SOFTMAX, ROWS[3:7]),
                       (CLASS_MARGINS, ROWS[7:8])):
        rows = [r for r in rows if only is None or r in only]
        if not rows:
            continue
        pipe = clmle(ctx, embedder=dict(loss))
        t = time.perf_counter()
        emb = pipe[0].fit(split.X_train, split.y_train)
        fit_s = time.perf_counter() - t
        Z_train, Z_test = emb.transform(split.X_train), emb.transform(split.X_test)
        tuned = pipe[1].get_params()
        classifiers = {
            "tuned rule, no head": dict(tuned, head="none"),
            "tuned rule + head": dict(tuned, head="auto"),
            "auto rule, no head": dict(random_state=seed, head="none"),
            "auto rule + head": dict(random_state=seed),
        }
        for row in rows:
            rule = (row.removeprefix("paper loss + ").removeprefix("+ LA softmax + ")
                    .removeprefix("class margins + "))
            clf = KNearestClusterClassifier(**classifiers[rule])
            t = time.perf_counter()
            pred = clf.fit(Z_train, split.y_train).predict(Z_test)
            out[row] = (_bacc(split.y_test, pred), fit_s + time.perf_counter() - t)
    equal = clmle_defaults(ctx).set_params(clmleembedder__margin_power=0.0)
    alone = clmle_defaults(ctx).set_params(clmleembedder__softmax_weight=0.0)
    for row, est in (("defaults", clmle_defaults(ctx)),
                     ("defaults, equal margins", equal),
                     ("defaults, cluster loss alone", alone),
                     ("logit-adjusted CE", _net(ctx, "logit_adjusted"))):
        if only is not None and row not in only:
            continue
        t = time.perf_counter()
        est.fit(split.X_train, split.y_train)
        out[row] = (_bacc(split.y_test, est.predict(split.X_test)),
                    time.perf_counter() - t)
    return out


def write(rows, datasets, command="python benchmarks/bench_clmle_ablation.py"):
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "ablation.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["dataset", "seed", "row", "balanced_accuracy",
                                     "fit_seconds"])
        writer.writeheader()
        writer.writerows(rows)
    lines = ["# CLMLE ablation: balanced accuracy (%) on the suite's test splits\n",
             "Mean ± std over seeds "
             f"{sorted({int(r['seed']) for r in rows})}; command: "
             f"`{command}`.  Same backbone, "
             "budget and splits as `benchmarks/run.py`; the levers were chosen "
             "on validation splits (see the script's docstring).  Bold: best "
             "row of each data set.\n",
             "| row | " + " | ".join(datasets) + " |",
             "| --- |" + " --- |" * len(datasets)]
    means = {(r, d): [float(x["balanced_accuracy"]) for x in rows
                      if x["row"] == r and x["dataset"] == d]
             for r in ROWS for d in datasets}
    best = {d: max((np.mean(means[r, d]) for r in ROWS if means[r, d]),
                   default=np.nan)
            for d in datasets}
    for r in ROWS:
        cells = []
        for d in datasets:
            v = means[r, d]
            if not v:
                cells.append("—")
                continue
            text = f"{np.mean(v):.1f} ± {np.std(v):.1f}"
            cells.append(f"**{text}**" if np.isclose(np.mean(v), best[d]) else text)
        lines.append(f"| {r} | " + " | ".join(cells) + " |")
    (OUT / "ablation.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rows", help="';'-separated rows to (re-)run, the "
                        "committed CSV's other rows kept (default: every row, "
                        "a new CSV)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    threadpool_limits(1)
    datasets = args.datasets.split(",")
    only = None if args.rows is None else [r.strip() for r in args.rows.split(";")]
    unknown = sorted(set(only or ()) - set(ROWS))
    if unknown:
        parser.error(f"--rows: unknown rows {unknown}; the rows are {ROWS}")
    rows, command = [], "python benchmarks/bench_clmle_ablation.py"
    if only is not None:
        command += f"`, then `{command} --rows '{args.rows}'"
    if only is not None and (OUT / "ablation.csv").exists():
        with (OUT / "ablation.csv").open() as fh:
            rows = [r for r in csv.DictReader(fh) if r["row"] not in only]
    for name in datasets:
        for seed in (int(s) for s in args.seeds.split(",")):
            split = ds.load(name, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = run_split(split, seed, only)
            for row, (bacc, fit_s) in scores.items():
                rows.append(dict(dataset=name, seed=seed, row=row,
                                 balanced_accuracy=f"{bacc:.4f}",
                                 fit_seconds=f"{fit_s:.2f}"))
                print(f"{name} seed {seed} {row:<28} {bacc:5.1f}  ({fit_s:.1f} s)",
                      flush=True)
            write(rows, datasets, command)
    print(write(rows, datasets, command))


if __name__ == "__main__":
    main()
