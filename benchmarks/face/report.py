"""Scores, tables and plots of the face tasks: verification and
identification on the unseen classes, balanced accuracy per attribute."""

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_curve

from sklearn_clmle.metrics import (
    make_pairs,
    pair_scores,
    rank_k_accuracy,
    verification_report,
)

from ..common import mean_std, pyplot

FARS = (1e-2, 1e-3)


def verification_scores(Z, y, n_pairs, seed):
    """Cosine scores and ``is_same`` of balanced pairs drawn from ``y``."""
    a, b, same = make_pairs(y, n_pairs=n_pairs, random_state=seed)
    return pair_scores(Z[a], Z[b]), same


def identification_rank1(Z, y, Z_distract, n_enrol, seed):
    """Mean rank-1 over ``n_enrol`` draws of one enrolled image per class;
    the other images are probes, the gallery holds the enrolled images and
    the distractors."""
    rng = np.random.RandomState(seed)
    accs = []
    for _ in range(n_enrol):
        enrol = np.array([rng.choice(np.flatnonzero(y == c)) for c in np.unique(y)])
        probe = np.setdiff1d(np.arange(len(y)), enrol)
        gallery = np.concatenate([Z[enrol], Z_distract])
        labels = np.concatenate([y[enrol], np.full(len(Z_distract), -1)])
        accs.append(rank_k_accuracy(Z[probe], y[probe], gallery, labels, k=1))
    return float(np.mean(accs))


def evaluate_open_set(Z_eval, y_eval, Z_distract, cfg, seed):
    """Verification report + identification rank-1; also the ROC points."""
    scores, same = verification_scores(Z_eval, y_eval, cfg.n_pairs, seed)
    rep = verification_report(scores, same, fars=FARS, n_folds=10)
    rng = np.random.RandomState(seed)
    take = rng.choice(len(Z_distract), min(cfg.n_distractors, len(Z_distract)),
                      replace=False)
    rep["rank1"] = identification_rank1(Z_eval, y_eval, Z_distract[take],
                                        cfg.n_enrol, seed)
    fpr, tpr, _ = roc_curve(same, scores)
    return rep, (fpr, tpr)


def per_attribute_bacc(Y_true, Y_pred):
    return np.array([balanced_accuracy_score(Y_true[:, j], Y_pred[:, j])
                     for j in range(Y_true.shape[1])])



VERIFY_COLUMNS = [("accuracy", "verification acc."), ("auc", "ROC AUC"),
                  ("tar@far=0.01", "TAR @ FAR 1e-2"),
                  ("tar@far=0.001", "TAR @ FAR 1e-3"), ("rank1", "rank-1")]


def verify_markdown(rows, cfg, seeds, header):
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [header, "",
             "| method | " + " | ".join(c for _, c in VERIFY_COLUMNS) + " | fit (s) |",
             "| --- |" + " --- |" * (len(VERIFY_COLUMNS) + 1)]
    for m in methods:
        mr = [r for r in rows if r["method"] == m]
        cells = [mean_std([r[k] for r in mr]) for k, _ in VERIFY_COLUMNS]
        fit = np.mean([r["fit_s"] for r in mr])
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {fit:.1f} |")
    unseen = {r["seed"]: r.get("unseen", "") for r in rows}
    lines += ["", "Per seed (verification accuracy / AUC / TAR@1e-3, %); the "
              "unseen classes differ from seed to seed, and so does how hard "
              "they are:", "", "| method | " + " | ".join(
                  f"seed {s} (unseen {unseen[s]})" for s in seeds) + " |",
              "| --- |" + " --- |" * len(seeds)]
    for m in methods:
        cells = []
        for s in seeds:
            r = next(r for r in rows if r["method"] == m and r["seed"] == s)
            cells.append(f"{100 * r['accuracy']:.1f} / {100 * r['auc']:.1f} / "
                         f"{100 * r['tar@far=0.001']:.1f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_roc(curves, path, title):
    """One panel per seed: ``curves[seed][method] = (fpr, tpr)``."""
    plt = pyplot()
    seeds = list(curves)
    fig, axes = plt.subplots(1, len(seeds), figsize=(4.2 * len(seeds) + 0.8, 4.2),
                             sharey=True, squeeze=False)
    for ax, seed in zip(axes[0], seeds):
        for name, (fpr, tpr) in curves[seed].items():
            keep = fpr > 0
            ax.plot(fpr[keep], tpr[keep], label=name)
        ax.set_xscale("log")
        ax.set_xlabel("false accept rate (log scale)")
        ax.set_title(f"seed {seed}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("true accept rate")
    axes[0, -1].legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def attributes_markdown(rows, rates, header):
    """``rows``: one per (method, seed) with ``bacc`` an array per attribute."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [header, "", "| method | mean balanced accuracy (%) | fit (s) |",
             "| --- | --- | --- |"]
    for m in methods:
        mr = [r for r in rows if r["method"] == m]
        lines.append(f"| {m} | {mean_std([r['bacc'].mean() for r in mr])} | "
                     f"{np.mean([r['fit_s'] for r in mr]):.1f} |")
    order = np.argsort(-rates)
    lines += ["", "Per attribute (sorted by training positive rate; balanced "
              "accuracy %, mean ± std over seeds; attribute = rank of its rate, "
              "the class behind it varies with the seed):", "",
              "| attribute | positive rate (%) | " + " | ".join(methods) + " |",
              "| --- | --- |" + " --- |" * len(methods)]
    for rank, j in enumerate(order):
        cells = [mean_std([r["bacc"][j] for r in rows if r["method"] == m])
                 for m in methods]
        lines.append(f"| {rank + 1} | {100 * rates[j]:.1f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_attributes(rows, rates, path, title):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    order = np.argsort(-rates)
    for m in dict.fromkeys(r["method"] for r in rows):
        b = np.mean([r["bacc"] for r in rows if r["method"] == m], axis=0)
        ax.plot(100 * rates[order], 100 * b[order], marker="o", label=m)
    ax.set_xscale("log")
    ax.set_xticks([2, 5, 10, 20, 50], labels=["2", "5", "10", "20", "50"])
    ax.minorticks_off()
    ax.invert_xaxis()
    ax.set_xlabel("attribute positive rate in training (%, log scale)")
    ax.set_ylabel("balanced accuracy (%, mean over seeds)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- modes -------------------------------------------------------------------
