"""The yardstick: ``LongTailNetClassifier()`` with its defaults against a
hand-written logit-adjusted MLP on the validation corpus::

    python benchmarks/bench_yardstick.py                     # every set, seeds 0-2
    python benchmarks/bench_yardstick.py --datasets car,ecoli --seeds 0
    python benchmarks/bench_yardstick.py --report            # tables from the CSV

The hand MLP is forty lines of plain torch, the baseline a practitioner
writes without the library (issue 29): a 256-128 ReLU MLP and a linear
output, cross-entropy of ``logits + log(n_c / n)`` (Menon et al.'s logit
adjustment, plain logits at prediction), Adam at 1e-3, shuffled batches of
128, ``clip(40000 / ceil(n / 128) / 10, 15, 200)`` epochs, nothing else (no
weight decay, no early stopping, no hold-out).  The library's estimator must
be at least as good on every set.

Validation splits only (``benchmarks/corpus.py``): nothing here reads a test
split.  Rows are appended to ``benchmarks/results/clmle/yardstick.csv`` as
they finish (``--fresh`` starts over); ``yardstick.md`` holds balanced
accuracy (%) mean +- std per set and the paired difference of each method
to the hand MLP.
"""

import csv
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import (  # noqa: E402
    CORPUS, append_row, corpus_main, load, paired_cell,
)
from sklearn_clmle import LongTailNetClassifier  # noqa: E402

HAND = "hand MLP (LA-CE)"
LIBRARY = "LongTailNetClassifier()"
METHODS = (HAND, LIBRARY)
FIELDS = ["dataset", "seed", "method", "balanced_accuracy", "fit_seconds",
          "n_train", "detail"]


def hand_epochs(n):
    """``clip(40000 / ceil(n / 128) / 10, 15, 200)``."""
    return int(min(200, max(15, round(40000 / math.ceil(n / 128) / 10))))


class HandMLP:
    """The practitioner's logit-adjusted MLP (see the module docstring)."""

    def __init__(self, seed):
        self.seed = seed

    def fit(self, X, y):
        gen = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        X = torch.as_tensor(X.reshape(len(X), -1), dtype=torch.float32)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        y = torch.as_tensor(y_idx)
        prior = np.bincount(y_idx) / len(y_idx)
        adjust = torch.as_tensor(np.log(prior), dtype=torch.float32)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], 256), torch.nn.ReLU(),
            torch.nn.Linear(256, 128), torch.nn.ReLU(),
            torch.nn.Linear(128, len(self.classes_)))
        opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.epochs_ = hand_epochs(len(X))
        for _ in range(self.epochs_):
            order = torch.randperm(len(X), generator=gen)
            for start in range(0, len(X), 128):
                idx = order[start:start + 128]
                loss = torch.nn.functional.cross_entropy(
                    self.net(X[idx]) + adjust, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return self

    def predict(self, X):
        with torch.no_grad():
            logits = self.net(torch.as_tensor(X.reshape(len(X), -1),
                                              dtype=torch.float32))
        return self.classes_[logits.argmax(1).numpy()]


def fit_method(method, split, seed):
    if method == HAND:
        model = HandMLP(seed).fit(split.X_train, split.y_train)
        return model, f"epochs={model.epochs_}"
    model = LongTailNetClassifier(random_state=seed).fit(split.X_train, split.y_train)
    return model, f"epochs={model.epochs_}"


def run(datasets, seeds, methods, out):
    done = set()
    if out.exists():
        with out.open() as fh:
            done = {(r["dataset"], int(r["seed"]), r["method"])
                    for r in csv.DictReader(fh)}
    for name in datasets:
        for seed in seeds:
            split = load(name, seed)
            for method in methods:
                if (name, seed, method) in done:
                    continue
                tic = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model, detail = fit_method(method, split, seed)
                    pred = model.predict(split.X_test)
                seconds = time.perf_counter() - tic
                score = 100 * balanced_accuracy_score(split.y_test, pred)
                row = dict(dataset=name, seed=seed, method=method,
                           balanced_accuracy=f"{score:.3f}",
                           fit_seconds=f"{seconds:.1f}",
                           n_train=split.X_train.shape[0], detail=detail)
                append_row(out, FIELDS, row)
                print(f"{name} seed {seed} {method}: {score:.2f} ({seconds:.0f} s) "
                      f"{detail}", flush=True)


def report(out, md, command):
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    table, detail = {}, {}
    for r in rows:
        table.setdefault((r["dataset"], r["method"]), {})[int(r["seed"])] = \
            float(r["balanced_accuracy"])
        detail.setdefault((r["dataset"], r["method"]), []).append(
            r["detail"].replace("epochs=", ""))
    datasets = [d for d in CORPUS if any(k[0] == d for k in table)]
    present = {r["method"] for r in rows}
    methods = [m for m in METHODS if m in present]
    others = [m for m in methods if m != HAND]
    lines = ["# The LA-CE yardstick on the validation corpus (balanced accuracy, %)\n",
             f"Command: `{command}`; validation splits only "
             "(`benchmarks/corpus.py`), mean ± std over seeds (epochs of each "
             "seed in brackets); Δ: minus the hand MLP, paired by seed, ± "
             "standard error.\n",
             "| set | rows | " + " | ".join(methods)
             + "".join(f" | Δ {m}" for m in others) + " |",
             "| --- | ---: | " + " | ".join("---" for _ in methods)
             + " | ---" * len(others) + " |"]
    deltas = {m: [] for m in others}
    for d in datasets:
        meta = next(r for r in rows if r["dataset"] == d)
        cells = []
        for m in methods:
            v = list(table.get((d, m), {}).values())
            cells.append(f"{np.mean(v):.1f} ± {np.std(v):.1f} "
                         f"[{','.join(detail[(d, m)])}]" if v else "—")
        hand = table.get((d, HAND), {})
        for m in others:
            mean, cell = paired_cell(table.get((d, m), {}), hand)
            if mean is not None:
                deltas[m].append(mean)
            cells.append(cell)
        lines.append(f"| {d} | {meta['n_train']} | " + " | ".join(cells) + " |")
    for m, ds in deltas.items():
        if ds:
            lines.append(f"\n{m} minus the hand MLP: mean Δ over {len(ds)} sets "
                         f"{np.mean(ds):+.2f}, worst {min(ds):+.2f}, at or above "
                         f"on {sum(x >= 0 for x in ds)} of {len(ds)}.")
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None):
    corpus_main("bench_yardstick.py", "yardstick", METHODS, run, report, argv, __doc__)


if __name__ == "__main__":
    main()
