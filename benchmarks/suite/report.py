"""Metrics, tables and plots of the suite.

Rows (one per data set, seed and method) go to ``suite_<data>.csv``; the
per-class recalls to ``suite_<data>_per_class.csv``.  The Markdown tables
(``suite_<data>.md``, ``suite_summary.md``) and the plots are rebuilt from
those CSV files, so they always describe what is on disk.
"""

import csv
from pathlib import Path

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

from ..common import pyplot

FIELDS = ["dataset", "seed", "method", "group", "balanced_accuracy", "macro_f1",
          "g_mean", "recall_many", "recall_medium", "recall_few", "fit_seconds",
          "predict_seconds", "skipped"]
METRICS = [("balanced_accuracy", "balanced acc."), ("macro_f1", "macro F1"),
           ("g_mean", "G-mean"), ("recall_many", "many"),
           ("recall_medium", "medium"), ("recall_few", "few")]


def shot_groups(counts):
    """Many / medium / few-shot classes: terciles of the training counts.

    Classes sorted by decreasing training count are cut into three groups as
    equal as possible (``np.array_split``); with the usual fixed thresholds
    (100 / 20 images) the small sets here would leave groups empty.
    """
    order = np.argsort(-np.asarray(counts), kind="stable")
    return [np.sort(g) for g in np.array_split(order, 3)]


def score(y_true, y_pred, counts):
    """The metrics of one prediction; per-class recall as a second value."""
    labels = np.arange(len(counts))
    recall = recall_score(y_true, y_pred, labels=labels, average=None,
                          zero_division=0)
    present = np.isin(labels, y_true)
    many, medium, few = (recall[g[present[g]]].mean() for g in shot_groups(counts))
    return {
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, average="macro"),
        "g_mean": geometric_mean_score(y_true, y_pred, average="multiclass"),
        "recall_many": many, "recall_medium": medium, "recall_few": few,
    }, recall


RUN_KEY = ("dataset", "seed", "method")


def store_rows(path, rows, fields):
    """Write ``rows`` to the CSV at ``path``, replacing the rows of the same
    runs (``RUN_KEY``) already there, so that re-runs do not pile up."""
    path = Path(path)
    keys = {tuple(str(r[k]) for k in RUN_KEY) for r in rows}
    kept = [r for r in (read_csv(path) if path.exists() else [])
            if tuple(r[k] for k in RUN_KEY) not in keys]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept + list(rows))


def read_csv(path):
    with Path(path).open(newline="") as fh:
        return list(csv.DictReader(fh))


def latest(rows):
    """Keep the last row of every (dataset, seed, method): re-runs replace."""
    out = {}
    for row in rows:
        out[(row["dataset"], row["seed"], row["method"])] = row
    return list(out.values())


def _summaries(rows, method_order):
    """method -> {metric: (mean, std, n_seeds)} over the non-skipped rows."""
    by_method = {}
    for row in rows:
        if row["skipped"]:
            continue
        by_method.setdefault(row["method"], []).append(row)
    out = {}
    for method in [m for m in method_order if m in by_method] + sorted(
            set(by_method) - set(method_order)):
        group = by_method[method]
        stats = {}
        for key in [k for k, _ in METRICS] + ["fit_seconds"]:
            values = np.array([float(r[key]) for r in group])
            stats[key] = (values.mean(), values.std(), len(values))
        out[method] = stats
    return out


def dataset_table(rows, method_order, groups):
    """Markdown: one row per method, mean ± std over seeds, best in bold."""
    summary = _summaries(rows, method_order)
    if not summary:
        return "(no results)\n"
    best = {k: max(s[k][0] for s in summary.values()) for k, _ in METRICS}
    head = ["method", "group"] + [label for _, label in METRICS] + ["fit (s)", "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    ranked = sorted(summary, key=lambda m: -summary[m]["balanced_accuracy"][0])
    for method in ranked:
        stats = summary[method]
        cells = [method, groups.get(method, "")]
        for key, _ in METRICS:
            mean, std, _ = stats[key]
            text = f"{100 * mean:.1f} ± {100 * std:.1f}"
            cells.append(f"**{text}**" if np.isclose(mean, best[key]) else text)
        cells += [f"{stats['fit_seconds'][0]:.1f}", str(stats["fit_seconds"][2])]
        lines.append("| " + " | ".join(cells) + " |")
    skipped = sorted({(r["method"], r["skipped"]) for r in rows if r["skipped"]})
    for method, why in skipped:
        lines.append(f"\n*{method}* not run: {why}")
    return "\n".join(lines) + "\n"


def summary_table(rows_by_dataset, method_order):
    """Markdown: balanced accuracy of every method on every data set."""
    datasets = list(rows_by_dataset)
    summaries = {d: _summaries(r, method_order) for d, r in rows_by_dataset.items()}
    methods = [m for m in method_order if any(m in s for s in summaries.values())]
    lines = ["| method | " + " | ".join(datasets) + " |",
             "|" + " --- |" * (len(datasets) + 1)]
    best = {d: max((s["balanced_accuracy"][0] for s in summaries[d].values()),
                   default=np.nan) for d in datasets}
    for method in methods:
        cells = [method]
        for d in datasets:
            if method not in summaries[d]:
                cells.append("—")
                continue
            mean, std, _ = summaries[d][method]["balanced_accuracy"]
            text = f"{100 * mean:.1f} ± {100 * std:.1f}"
            cells.append(f"**{text}**" if np.isclose(mean, best[d]) else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_recall(per_class_rows, methods, path, title):
    """Per-class recall (mean over seeds) against training count."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for method in methods:
        sel = [r for r in per_class_rows if r["method"] == method]
        if not sel:
            continue
        classes = sorted({int(r["class"]) for r in sel})
        count = [np.mean([float(r["train_count"]) for r in sel if int(r["class"]) == c])
                 for c in classes]
        rec = [np.mean([float(r["recall"]) for r in sel if int(r["class"]) == c])
               for c in classes]
        order = np.argsort(count)[::-1]
        ax.plot(np.array(count)[order], np.array(rec)[order], marker="o",
                markersize=3, label=method,
                linewidth=2.5 if method.startswith("CLMLE") else 1)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("training samples of the class (log scale; head to tail)")
    ax.set_ylabel("test recall (mean over seeds)")
    ax.set_title(title)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _mean_bacc(rows, method):
    vals = [float(r["balanced_accuracy"]) for r in rows
            if r["method"] == method and not r["skipped"]]
    return 100 * np.mean(vals) if vals else None, 100 * np.std(vals) if vals else None


def plot_bacc_vs_ir(rows_by_dataset, methods, path):
    """Balanced accuracy against imbalance ratio, one panel per image family.

    The CLMLE rows and the best rival of the panel (highest mean over its
    data sets, among the methods scored on all of them) are drawn in colour; every other method in light grey behind
    them, so that the comparison that matters can be read."""
    plt = pyplot()
    families = sorted({d.split("-ir")[0] for d in rows_by_dataset if "-ir" in d})
    if not families:
        return False
    fig, axes = plt.subplots(1, len(families), figsize=(6 * len(families), 4.5),
                             squeeze=False)
    ours = [m for m in methods if m.startswith("CLMLE")]
    colours = ["tab:red", "tab:orange"]
    for ax, family in zip(axes[0], families):
        sets = sorted((int(d.split("-ir")[1]), d) for d in rows_by_dataset
                      if d.startswith(family + "-ir"))
        curves = {}
        for method in methods:
            points = [(ratio,) + _mean_bacc(rows_by_dataset[d], method)
                      for ratio, d in sets]
            points = [p for p in points if p[1] is not None]
            if points:
                curves[method] = np.array(points)
        # the best rival is judged on the panel's every data set
        rivals = [m for m in curves if m not in ours and len(curves[m]) == len(sets)]
        best = max(rivals, key=lambda m: curves[m][:, 1].mean()) if rivals else None
        for method, pts in curves.items():
            if method in ours:
                style = dict(color=colours[ours.index(method) % 2], linewidth=2.5,
                             zorder=3, label=method)
            elif method == best:
                style = dict(color="tab:blue", linewidth=2, zorder=2,
                             label=f"{method} (best rival)")
            else:
                style = dict(color="0.8", linewidth=1, zorder=1)
            ax.errorbar(pts[:, 0], pts[:, 1], yerr=pts[:, 2], marker="o",
                        markersize=3, capsize=2, **style)
        ax.plot([], [], color="0.8", label="other methods")
        ax.set_xscale("log")
        ax.set_xlabel("imbalance ratio of the training set")
        ax.set_ylabel("balanced accuracy (%)")
        ax.set_title(family)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
