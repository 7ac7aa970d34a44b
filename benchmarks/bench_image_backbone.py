"""Benchmark: image input (the default CNN) against the same pixels flat (the default MLP).

``CLMLEClassifier(random_state=seed)`` as a new user fits it, on the suite's
image sets: once with ``X`` as ``(n, H, W)`` images, which selects the default
backbone ``SmallCNN``, once with the same pixels flattened to
``(n, H * W)``, which selects the default MLP.  Balanced accuracy on the
suite's validation split by default (``--split validation``: held-out
training-pool images for Fashion-MNIST, development seeds for digits; see
``benchmarks/suite/datasets.py``) or its reported test split (``--split
test``), and the wall seconds of ``fit``.

The seconds are a timing: on a busy machine (load average above 1 per core)
the script runs only with ``--allow-busy``, and the table then says the
column is wall seconds under load, not a timing claim.

Run ``python benchmarks/bench_image_backbone.py`` (``--datasets``,
``--seeds``; ``--quick``: digits only, 300 training rows).  Results:
``benchmarks/results/clmle/image_backbone{,_quick}.{md,csv}``.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    add_busy_argument,
    check_quiet,
    exclusive_run,
    results_dir,
    write_csv,
)
from benchmarks.suite.datasets import load, load_validation  # noqa: E402

INPUTS = ("flat pixels (default MLP)", "images (default CNN)")


def fit_one(split, layout, seed, n_train=None):
    from sklearn.metrics import balanced_accuracy_score

    from sklearn_clmle import CLMLEClassifier

    X_tr, y_tr = split.X_train, split.y_train
    if n_train is not None:
        X_tr, y_tr = X_tr[:n_train], y_tr[:n_train]
    shape = split.input_shape
    if layout.startswith("images"):
        X_tr = X_tr.reshape(len(X_tr), *shape)
        X_ev = split.X_test.reshape(len(split.X_test), *shape)
    else:
        X_tr = X_tr.reshape(len(X_tr), -1)
        X_ev = split.X_test.reshape(len(split.X_test), -1)
    clf = CLMLEClassifier(random_state=seed)
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the image-input warning, known here
        clf.fit(X_tr, y_tr)
    seconds = time.perf_counter() - tic
    score = balanced_accuracy_score(split.y_test, clf.predict(X_ev))
    return dict(data=split.name, seed=seed, input=layout,
                backbone=type(clf.embedder_.module_.backbone).__name__,
                n_train=len(y_tr), balanced_acc=round(score, 4),
                fit_s=round(seconds, 1), selected=clf.selected_)


def write(rows, args, machine):
    stem = "image_backbone_quick" if args.quick else "image_backbone"
    out = results_dir("clmle")
    for row in rows:
        row.update(machine.fields())
    write_csv(rows, out / f"{stem}.csv")
    seconds = ("wall seconds under load, not a timing claim" if machine.busy
               else "fit (wall s)")
    cmd = "python benchmarks/bench_image_backbone.py " + " ".join(sys.argv[1:])
    lines = [
        "# Image input: the default CNN against the same pixels flat (default MLP)",
        "",
        f"Command: `{cmd.strip()}`.",
        "",
        machine.summary(),
        "",
        f"`CLMLEClassifier(random_state=seed)` on the suite's {args.split} "
        "split; balanced accuracy on its evaluation images.",
        "",
        f"| data | seed | input | backbone | training rows | balanced acc. "
        f"| {seconds} | selected |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {r['data']} | {r['seed']} | {r['input']} | {r['backbone']} | "
              f"{r['n_train']:,} | {r['balanced_acc']:.3f} | {r['fit_s']:.1f} | "
              f"{r['selected']} |" for r in rows]
    for data in dict.fromkeys(r["data"] for r in rows):
        means = {inp: [r for r in rows if r["data"] == data and r["input"] == inp]
                 for inp in INPUTS}
        if all(means.values()):
            acc = {k: np.mean([r["balanced_acc"] for r in v]) for k, v in means.items()}
            sec = {k: np.mean([r["fit_s"] for r in v]) for k, v in means.items()}
            lines.append(
                f"| {data} | mean | CNN - MLP | | | "
                f"{acc[INPUTS[1]] - acc[INPUTS[0]]:+.3f} | "
                f"x{sec[INPUTS[1]] / sec[INPUTS[0]]:.1f} | |")
    text = "\n".join(lines) + "\n"
    (out / f"{stem}.md").write_text(text)
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+",
                        default=["digits-ir10", "fmnist-ir10", "fmnist-ir100"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--split", choices=["validation", "test"],
                        default="validation")
    parser.add_argument("--quick", action="store_true",
                        help="digits-ir10, 300 training rows (a smoke run)")
    add_busy_argument(parser)
    args = parser.parse_args()
    n_train = None
    if args.quick:
        args.datasets, args.seeds, n_train = ["digits-ir10"], [0], 300
    machine = check_quiet(args.allow_busy, "bench_image_backbone.py")
    loader = load_validation if args.split == "validation" else load
    rows = []
    with exclusive_run("bench_image_backbone.py"):
        for data in args.datasets:
            for seed in args.seeds:
                split = loader(data, seed)
                for layout in INPUTS:
                    rows.append(fit_one(split, layout, seed, n_train))
                    print(rows[-1], flush=True)
    write(rows, args, machine)


if __name__ == "__main__":
    main()
