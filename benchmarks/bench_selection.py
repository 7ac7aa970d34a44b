"""How ``CLMLEClassifier`` chooses among its candidates, on validation data::

    python benchmarks/bench_selection.py             # fit (cached), then the table
    python benchmarks/bench_selection.py --report    # the table from the cache

Every fit is ``CLMLEClassifier(random_state=seed)`` as a user fits it, on the
validation corpus (``benchmarks/corpus.py``, seeds 0-2) and on the suite's
validation splits (``benchmarks.suite.datasets.load_validation``, seeds 0-4);
nothing here reads a test split.  Each fit caches, for every candidate's
experts (rule, linear head, softmax head), the log-probabilities of the
parts' held-out rows (what the selection sees) and of the validation rows
under every ensemble member (what it is scored by), in
``local_results/selection_cache/`` (git ignores it).  Selection rules are
then compared on the same embedders, so only the rule differs:

* ``best score``: the best pooled held-out balanced accuracy (the former rule);
* ``SE rule (k)``: the product of the three experts unless a candidate beats
  it by more than ``k`` paired standard errors
  (``classifier._candidates.selected_index``; ``k = 2`` is the default);
* ``always the product``: no selection.

``benchmarks/results/clmle/selection.md``: validation balanced accuracy (%)
of each rule minus the best-score rule, per set (mean over seeds), and the
mean over the corpus and over the suite's sets.
"""

import argparse
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import results_dir  # noqa: E402
from benchmarks.corpus import CORPUS, load  # noqa: E402
from sklearn_clmle import CLMLEClassifier  # noqa: E402
from sklearn_clmle.classifier import _candidates  # noqa: E402
from sklearn_clmle.classifier import _clmle_classifier  # noqa: E402
from sklearn_clmle.neighbors import _head  # noqa: E402
from sklearn_clmle.utils._scores import balanced_accuracy  # noqa: E402

CACHE = Path(__file__).resolve().parents[1] / "local_results" / "selection_cache"
SUITE = ["digits-ir10", "digits-ir50", "fmnist-ir10", "fmnist-ir100",
         "keel-page-blocks", "keel-yeast"]
FULL = ("rule", "linear", "softmax")
RULES = {"best score": None, "SE rule (1)": 1.0, "SE rule (2), the default": 2.0,
         "SE rule (3)": 3.0, "always the product": float("inf")}


def fits():
    """``(key, loader)`` of every fit: the corpus's and the suite's."""
    from benchmarks.suite.datasets import load_validation

    out = [(f"{name}-{seed}", lambda n=name, s=seed: load(n, s))
           for name in CORPUS for seed in (0, 1, 2)]
    out += [(f"suite:{name}-{seed}", lambda n=name, s=seed: load_validation(n, s))
            for name in SUITE for seed in range(5)]
    return out


def fit_and_cache(key, split):
    """Fit ``CLMLEClassifier(random_state=seed)`` with every expert fitted on
    every member (``_fit_selected`` given the product of all three; the
    parts' held-out log-probabilities recorded as the selection sees them)."""
    seed = int(key.rsplit("-", 1)[1])
    seen = {}
    held_out, fit_selected = _candidates.held_out, CLMLEClassifier._fit_selected

    def recording_held_out(experts, parts, y_idx, *args, **kwargs):
        out = held_out(experts, parts, y_idx, *args, **kwargs)
        seen["held"] = {e: [lp.copy() for lp in v] for e, v in out[0].items()}
        seen["y_held"] = [y_idx[p.held] for p in parts]
        return out

    def every_expert(self, Z, y_idx, seed, log):
        chosen, self.selected_ = self.selected_, _candidates.name_of(FULL)
        fit_selected(self, Z, y_idx, seed, log)
        self.selected_ = chosen

    _clmle_classifier._candidates.held_out = recording_held_out
    CLMLEClassifier._fit_selected = every_expert
    try:
        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = CLMLEClassifier(random_state=seed).fit(split.X_train, split.y_train)
    finally:
        _clmle_classifier._candidates.held_out = held_out
        CLMLEClassifier._fit_selected = fit_selected
    n_classes = len(clf.classes_)
    members = []
    for emb, rule, linear in clf.ensemble_:
        Z = emb.transform(split.X_test)
        members.append({"rule": _candidates.rule_columns(rule, Z, n_classes),
                        "linear": _head.adjusted_log_proba(linear, Z, clf._log_prior,
                                                           n_classes),
                        "softmax": emb.head_log_proba(split.X_test)})
    record = dict(seen, members=members, y_val=np.searchsorted(clf.classes_, split.y_test))
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{key}.pkl").open("wb") as fh:
        pickle.dump(record, fh)


def choose(record, k):
    """The candidate rule ``k`` selects from a fit's held-out rows (``None``:
    the best pooled score, ties in the order of preference)."""
    if k is not None and np.isinf(k):
        return FULL
    y = np.concatenate(record["y_held"])
    names, hits, scores = [], [], []
    for cand in _candidates.CANDIDATES:
        lps = [_candidates.combine({e: record["held"][e][i] for e in cand}, cand)
               for i in range(len(record["y_held"]))]
        pred = np.concatenate([lp.argmax(1) for lp in lps])
        names.append(_candidates.name_of(cand))
        hits.append(pred == y)
        scores.append(balanced_accuracy(y, pred))
    results = {"candidate": np.array(names, dtype=object)}
    order = sorted(range(len(scores)), key=lambda i: (-round(scores[i], 12), i))
    if k is None:
        return _candidates.CANDIDATES[order[0]]
    ranks = np.empty(len(scores), dtype=np.int32)
    ranks[order] = np.arange(1, len(scores) + 1)
    results.update(pooled_test_score=np.array(scores), rank_test_score=ranks)
    results = _candidates.add_gains(results, hits, y)
    beats = results["pooled_test_gain"] > k * results["pooled_test_gain_se"]
    if not beats.any():
        return FULL
    rows = np.flatnonzero(beats)
    return _candidates.CANDIDATES[int(rows[np.argmin(ranks[rows])])]


def validation_score(record, cand):
    """Balanced accuracy (%) of the ensemble's mean probability under ``cand``."""
    members = [_candidates.combine({e: m[e] for e in cand}, cand)
               for m in record["members"]]
    log_proba = logsumexp(members, axis=0) - np.log(len(members))
    return 100 * balanced_accuracy(record["y_val"], log_proba.argmax(1))


def report(md):
    table = {}
    for path in sorted(CACHE.glob("*.pkl"), key=lambda p: (p.stem.startswith("suite:"), p.stem)):
        name = path.stem.rsplit("-", 1)[0]
        with path.open("rb") as fh:
            record = pickle.load(fh)
        for rule, k in RULES.items():
            table.setdefault(name, {}).setdefault(rule, []).append(
                validation_score(record, choose(record, k)))
    others = [r for r in RULES if r != "best score"]
    lines = ["# CLMLEClassifier's selection rules on validation data\n",
             "Command: `python benchmarks/bench_selection.py`; validation balanced "
             "accuracy (%) of each rule minus the best-score rule (the former "
             "default), on the same fitted embedders (mean over seeds: corpus "
             "0-2, the suite's validation splits 0-4).\n",
             "| set | best score | " + " | ".join(others) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in others) + " |"]
    groups = {"corpus": [], "suite": []}
    for name, per in table.items():
        base = np.mean(per["best score"])
        diffs = [np.mean(per[r]) - base for r in others]
        groups["suite" if name.startswith("suite:") else "corpus"].append(diffs)
        lines.append(f"| {name} | {base:.2f} | " + " | ".join(f"{d:+.2f}" for d in diffs)
                     + " |")
    for group, rows in groups.items():
        if rows:
            mean = np.mean(rows, axis=0)
            lines.append(f"| **mean, {group} ({len(rows)} sets)** | | "
                         + " | ".join(f"**{d:+.2f}**" for d in mean) + " |")
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true",
                        help="the table from the cached fits only")
    args = parser.parse_args(argv)
    if not args.report:
        torch.set_num_threads(1)
        for key, loader in fits():
            if not (CACHE / f"{key}.pkl").exists():
                fit_and_cache(key, loader())
                print("cached", key, flush=True)
    report(results_dir("clmle") / "selection.md")


if __name__ == "__main__":
    main()
