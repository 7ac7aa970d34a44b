"""CLMLEClassifier's defaults on the validation corpus (``benchmarks/corpus.py``),
against the paper's form (``Pipeline([CLMLEEmbedder(), KNearestClusterClassifier()])``)
and logit-adjusted cross-entropy on the same backbone and budget rule::

    python benchmarks/bench_corpus.py                       # every set, seeds 0-2
    python benchmarks/bench_corpus.py --datasets car,ecoli --seeds 0
    python benchmarks/bench_corpus.py --report              # tables from the CSV

Validation splits only: nothing here reads a test split.  The same budget
rule for every deep method: a held-out stratified share of the training rows
gives a validation curve, training stops when it stops improving (under
``clip(3 * 60000 / n, 30, 300)`` passes), and the model is refitted on all
rows with the budget found.  For ``CLMLEClassifier`` that is its own
cross-fitting; for logit-adjusted CE a stratified 20 % hold-out (every class of two or more rows
gives one at least) with skorch's
``EarlyStopping`` (patience 10 epochs), then a refit for the best epoch
count; the Pipeline keeps the embedder's formula budget (what it had).
The MLP width of the CE network is the embedder's ``hidden_units="auto"``.

Rows are appended to ``benchmarks/results/clmle/corpus.csv`` as they finish
(a rerun of a (set, seed, method) replaces nothing: use --fresh to start
over); ``corpus.md`` holds balanced accuracy (%) mean +- std per set and the
paired differences: CLMLEClassifier minus the strong yardstick
(``LongTailNetClassifier()`` with its defaults, a 256-128 MLP trained for
4,000 steps, at least as long as the hand-written MLP of
``bench_yardstick.py``), minus the softmax term alone (logit-adjusted CE on
the embedder's width and budget rule), and Eq. 9 on its own (the cluster
loss alone) minus the softmax term alone.
"""

import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import (  # noqa: E402
    CORPUS, append_row, corpus_main, load, paired_cell,
)
from sklearn_clmle import (  # noqa: E402
    CLMLEClassifier,
    CLMLEEmbedder,
    KNearestClusterClassifier,
    LongTailNetClassifier,
)
from sklearn_clmle.classifier._crossfit import COMPARED_LEVELS  # noqa: E402
from sklearn_clmle.embedding._auto import curve_cap, hidden_units  # noqa: E402

OURS = "CLMLEClassifier (defaults)"
PIPELINE = "Pipeline (paper's form)"
REFERENCE = "logit-adjusted CE"
# the strong yardstick (issue 29): the library's LA-CE network, defaults only
STRONG = "LongTailNetClassifier()"
# ablation rows (run with --methods): each part of CLMLEClassifier removed
NO_SOFTMAX = "CLMLEClassifier, no softmax head"
FORMULA = "CLMLEClassifier, formula budget"
# Eq. 9 on its own: the rounds train the cluster loss alone after the
# warm-up (softmax_weight=0, no softmax candidate); its converse, the softmax
# term alone on the same width and budget rule, is REFERENCE.
CLUSTER_ONLY = "CLMLEClassifier, cluster loss alone"
# the former default (issue 29): the embedder's "auto" margins compared with
# a quarter and a half of the bound on the held-out rows, three fits of
# every part instead of one
THREE_LEVELS = "CLMLEClassifier, three margin levels"
# the default before the curve cap followed the 4,000-step rule as well
# (``embedding._budget.curve_cap(n, batch)``): report-only rows, kept from
# that code's run (this script can no longer fit it)
FORMER_CAP = "CLMLEClassifier, former curve cap"
# the default before the selection kept the product of the experts unless
# clearly beaten (``classifier._candidates.selected_index``): the best pooled
# held-out score won; report-only rows of the code before that change (its
# embedders are the current ones', fitted alike)
FORMER_SELECTION = "CLMLEClassifier, best-score selection"
# two levers tried on car and nursery, where the yardstick leads: the
# yardstick's width (256, at most the power of two at or below the rows;
# 256-128 is LongTailNetClassifier's) and its weight decay (0, against the
# embedder's 1e-3 below 5,000 rows)
WIDE = "CLMLEClassifier, width 256"
NO_DECAY = "CLMLEClassifier, no weight decay"
FIELDS = ["dataset", "seed", "method", "balanced_accuracy", "fit_seconds",
          "n_train", "n_features", "n_classes", "detail"]


def la_ce(split, seed):
    """Logit-adjusted CE: budget from a 20 % hold-out's curve, then a refit."""
    from skorch.callbacks import EarlyStopping

    from sklearn_clmle.classifier._crossfit import holdout_split
    from sklearn_clmle.embedding._curve import FixedSplit

    n, d = split.X_train.shape[0], int(np.prod(split.X_train.shape[1:]))
    C = len(np.unique(split.y_train))
    params = dict(loss="logit_adjusted", hidden_units=hidden_units(d, C, n),
                  weight_decay=1e-3 if n < 5000 else 0.0, random_state=seed)
    probe = LongTailNetClassifier(
        epochs=curve_cap(n), **params,
        train_split=FixedSplit(*holdout_split(
            np.unique(split.y_train, return_inverse=True)[1], 0.2,
            np.random.RandomState(seed))[0]),
        callbacks=[EarlyStopping(monitor="valid_loss", patience=10,
                                 sink=lambda *a: None)],
    ).fit(split.X_train, split.y_train)
    losses = probe.history_[:, "valid_loss"]
    best = int(np.argmin(losses)) + 1
    final = LongTailNetClassifier(epochs=best, **params)
    return final.fit(split.X_train, split.y_train), f"epochs={best}"


def candidate_scores(clf, split):
    """Validation balanced accuracy (%) of every candidate on ``clf``'s
    refitted embedder (the parts fitted as ``fit`` fits the selected one):
    what the selection could have chosen."""
    from sklearn_clmle.classifier import _candidates
    from sklearn_clmle.neighbors import _head

    y_idx = np.searchsorted(clf.classes_, split.y_train)
    n_classes = len(clf.classes_)
    Z, Z_val = clf.embedder_.transform(split.X_train), clf.embedder_.transform(split.X_test)
    parts = {}
    if clf.rule_params_.get("scale") is not None:
        rule = KNearestClusterClassifier(random_state=0, head="none",
                                         **clf.rule_params_).fit(Z, y_idx)
        parts["rule"] = _candidates.rule_columns(rule, Z_val, n_classes)
    if clf.linear_C_ is not None:
        log_prior = np.log(np.bincount(y_idx, minlength=n_classes) / len(y_idx))
        parts["linear"] = _head.adjusted_log_proba(
            _head.fit(Z, y_idx, clf.linear_C_), Z_val, log_prior, n_classes)
    if hasattr(clf.embedder_, "head_log_proba"):
        parts["softmax"] = clf.embedder_.head_log_proba(split.X_test)
    out = {}
    for cand in _candidates.CANDIDATES:
        if all(p in parts for p in cand):
            pred = clf.classes_[_candidates.combine(parts, cand).argmax(1)]
            out[_candidates.name_of(cand)] = round(
                100 * balanced_accuracy_score(split.y_test, pred), 2)
    return out


def fit_method(method, split, seed):
    if method == OURS:
        clf = CLMLEClassifier(random_state=seed).fit(split.X_train, split.y_train)
        return clf, (f"selected={clf.selected_}; margin_level={clf.margin_level_}; "
                     f"budget={clf.budget_}; "
                     f"candidates={candidate_scores(clf, split)}")
    if method == NO_SOFTMAX:
        clf = CLMLEClassifier(candidates=["rule", "rule + linear", "linear"],
                              random_state=seed).fit(split.X_train, split.y_train)
        return clf, f"selected={clf.selected_}"
    if method == CLUSTER_ONLY:
        clf = CLMLEClassifier(CLMLEEmbedder(softmax_weight=0.0),
                              candidates=["rule", "rule + linear", "linear"],
                              random_state=seed).fit(split.X_train, split.y_train)
        return clf, (f"selected={clf.selected_}; margin_level={clf.margin_level_}; "
                     f"budget={clf.budget_}")
    if method in (FORMER_CAP, FORMER_SELECTION):
        raise ValueError(f"{method!r} rows are report-only: the code that "
                         "fitted them is gone (see bench_corpus.py)")
    if method == THREE_LEVELS:  # committed rows: fitted under the former cap
        clf = CLMLEClassifier(margin_levels=list(COMPARED_LEVELS), random_state=seed)
        clf.fit(split.X_train, split.y_train)
        return clf, (f"selected={clf.selected_}; margin_level={clf.margin_level_}; "
                     f"budget={clf.budget_}")
    if method == FORMULA:  # an explicit n_rounds: no curve, clip(60000/n) passes
        clf = CLMLEClassifier(CLMLEEmbedder(n_rounds=5), random_state=seed)
        clf.fit(split.X_train, split.y_train)
        return clf, f"selected={clf.selected_}"
    if method in (WIDE, NO_DECAY):
        n = len(split.y_train)
        width = min(256, 2 ** int(np.floor(np.log2(n))))
        params = ({"hidden_units": (width, width // 2)} if method == WIDE
                  else {"weight_decay": 0.0})
        clf = CLMLEClassifier(CLMLEEmbedder(**params), random_state=seed)
        clf.fit(split.X_train, split.y_train)
        return clf, (f"selected={clf.selected_}; params={params}; "
                     f"budget={clf.budget_}")
    if method == STRONG:
        model = LongTailNetClassifier(random_state=seed)
        model.fit(split.X_train, split.y_train)
        return model, f"epochs={model.epochs_}"
    if method == PIPELINE:
        pipe = make_pipeline(CLMLEEmbedder(random_state=seed),
                             KNearestClusterClassifier(random_state=seed))
        return pipe.fit(split.X_train, split.y_train), ""
    return la_ce(split, seed)


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
                torch.manual_seed(seed)
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
                           n_train=split.X_train.shape[0],
                           n_features=int(np.prod(split.X_train.shape[1:])),
                           n_classes=len(np.unique(split.y_train)), detail=detail)
                append_row(out, FIELDS, row)
                print(f"{name} seed {seed} {method}: {score:.2f} ({seconds:.0f} s) "
                      f"{detail}", flush=True)


def report(out, md, command):
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    table = {}
    for r in rows:
        table.setdefault((r["dataset"], r["method"]), {})[int(r["seed"])] = \
            float(r["balanced_accuracy"])
    datasets = [d for d in CORPUS if any(k[0] == d for k in table)]
    present = {r["method"] for r in rows}
    methods = [m for m in (OURS, STRONG, PIPELINE, REFERENCE, NO_SOFTMAX, FORMULA,
                          CLUSTER_ONLY, WIDE, NO_DECAY, FORMER_SELECTION, FORMER_CAP,
                          THREE_LEVELS)
               if m in present]
    diffs = [(f"{a} − {b}", label, a, b) for label, a, b in (
        ("Δ vs strong LA-CE", OURS, STRONG), ("Δ vs LA-CE", OURS, REFERENCE),
        ("cluster − softmax", CLUSTER_ONLY, REFERENCE),
        ("width 256 − defaults", WIDE, OURS), ("no decay − defaults", NO_DECAY, OURS),
        ("SE rule − best score", OURS, FORMER_SELECTION),
        ("4,000-step cap − former", FORMER_SELECTION, FORMER_CAP),
        ("one level − three", FORMER_CAP, THREE_LEVELS)) if a in present and b in present]
    lines = ["# CLMLEClassifier on the validation corpus (balanced accuracy, %)\n",
             f"Command: `{command}`; validation splits only "
             "(`benchmarks/corpus.py`), mean ± std over seeds; Δ columns "
             "paired by seed, ± standard error: "
             + "; ".join(f"{label}: {what}" for what, label, _, _ in diffs) + ".\n",
             "| set | rows | features | classes | " + " | ".join(methods)
             + "".join(f" | {label}" for _, label, _, _ in diffs) + " |",
             "| --- | ---: | ---: | ---: | " + " | ".join("---" for _ in methods)
             + " | ---" * len(diffs) + " |"]
    deltas = {label: [] for _, label, _, _ in diffs}
    for d in datasets:
        meta = next(r for r in rows if r["dataset"] == d)
        cells = []
        for m in methods:
            v = list(table.get((d, m), {}).values())
            cells.append(f"{np.mean(v):.1f} ± {np.std(v):.1f}" if v else "—")
        for _, label, a, b in diffs:
            mean, cell = paired_cell(table.get((d, a), {}), table.get((d, b), {}))
            if mean is not None:
                deltas[label].append(mean)
            cells.append(cell)
        lines.append(f"| {d} | {meta['n_train']} | {meta['n_features']} | "
                     f"{meta['n_classes']} | " + " | ".join(cells) + " |")
    for what, label, _, _ in diffs:
        ds = deltas[label]
        if ds:
            lines.append(f"\n{label} ({what}): mean over {len(ds)} sets "
                         f"{np.mean(ds):+.2f}; worst {min(ds):+.2f}; ahead on "
                         f"{sum(x > 0 for x in ds)} of {len(ds)}.")
    selected = {}
    for r in rows:
        if r["method"] == OURS and "selected=" in r["detail"]:
            name = r["detail"].split(";")[0].split("=")[1]
            selected[name] = selected.get(name, 0) + 1
    if selected:
        lines.append("\nCandidates selected: " + ", ".join(
            f"{k} {v}" for k, v in sorted(selected.items(), key=lambda kv: -kv[1])) + ".")
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None):
    corpus_main("bench_corpus.py", "corpus", [OURS, STRONG, PIPELINE, REFERENCE], run, report, argv, __doc__)


if __name__ == "__main__":
    main()
