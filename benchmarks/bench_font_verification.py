"""Open-set verification at the paper's scale: thousands of long-tailed
identities rendered from Debian's font packages, scored on every pair.

The paper's face task (Huang et al., Section 5: LFW/YTF, an embedding trained
on ~10,000 long-tailed identities) on the many-identity image data that
installs offline here, ``sklearn_clmle.datasets.load_font_glyphs``::

    sh benchmarks/face/install_fonts.sh cjk            # root: apt-get install
    python benchmarks/bench_font_verification.py --task characters
    # fonts extracted without root (install_fonts.sh cjk DIR):
    python benchmarks/bench_font_verification.py --font-dirs DIR/usr/share/fonts

- ``characters``: identity = a CJK character, samples = that character drawn
  by different type designs (the small CJK packages of ``CJK_PACKAGES``);
- ``fonts``: identity = a type design, samples = different characters of
  A-Z a-z 0-9 drawn in it (``LATIN_PACKAGES``).

Protocol (each seed: its own identities, split and initialisation): identity
sizes follow a power law (``n_max`` down to ``n_max / imbalance_ratio``
samples); the identities are split into a training set A and a disjoint test
set B.  Every method trains on A, on the same small CNN backbone and the same
budget (``EPOCHS`` passes over A's images; the cluster sampler gets the steps
that see as many samples), with every setting passed explicitly (weight
decay included), so the tuning fits and the main fits differ only in their
data.  On B, every pair of images is scored (cosine; the classifiers'
features are the penultimate layer): TAR at FAR 1e-2, 1e-3 and 1e-4 and ROC
AUC over all pairs; the 10-fold verification accuracy on identity-disjoint
folds (as LFW's View 2; ``benchmarks/face/protocol.py``); identification
rank-1/5/10 with a gallery of one image per identity.

Tuning: every method gets a grid of ``GRID_SIZE`` settings (``GRIDS``:
CosFace's and ArcFace's margin and scale, CLMLE's margin levels, CE's
learning rate), scored on ``n_val`` identities held out of seed 0's A (the
model trains on the rest of A), never on B; the setting with the best
validation accuracy + TAR@FAR 1e-3 is used for every seed.  Then CLMLE's
ablation (the paper's Table 7 rows) on the same seeds.  Paired differences
(per seed) are reported as mean, 95% t interval and paired t-test p-value.

Results: ``benchmarks/results/face/font_verification_<task>.{md,csv,png}``,
written as rows come in; a run resumes from its CSV (rows already there for
a (part, method, seed) are kept and not re-fitted) unless ``--fresh``.
"""

import argparse
import csv
import functools
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks.common import mean_std, results_dir, steps_per_round  # noqa: E402
from benchmarks.face.fonts import CJK_PACKAGES, LATIN_PACKAGES  # noqa: E402,F401
from benchmarks.face.protocol import (  # noqa: E402
    all_pairs,
    fold_accuracy,
    identity_folds,
    paired_difference,
)
from benchmarks.face.report import plot_roc  # noqa: E402
from sklearn_clmle import CLMLEEmbedder  # noqa: E402
from sklearn_clmle.datasets import load_font_glyphs  # noqa: E402
from sklearn_clmle.embedding import LongTailNetClassifier  # noqa: E402
from sklearn_clmle.metrics import cmc_curve, tar_at_far  # noqa: E402

IMAGE_SIZE = 16
HIDDEN = 128  # backbone features (the classifiers' penultimate layer)
EMBEDDING_DIM = 64
EPOCHS = 7  # budget: passes over A's images, for every method
WARMUP = 2  # softmax warm-up epochs of CLMLE (inside the budget)
N_ROUNDS = 3
BATCH = 128  # every method's batch; CLMLE's cluster batches are M x K = 128
M, K = 32, 4  # clusters per batch, samples per cluster
CLUSTER_SIZE = 4  # identities of 8+ images (31% of them) get 2+ clusters
WEIGHT_DECAY = 0.0  # every method, tuning and main fits alike
LEARNING_RATE = 1e-3
FARS = (1e-2, 1e-3, 1e-4)
N_FOLDS = 10
CMC_RANKS = (1, 5, 10)
N_ENROL = 3  # gallery draws for identification
DEFAULT_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")

TASKS = {
    "characters": dict(
        loader=dict(task="characters", n_max=30, imbalance_ratio=10),
        n_train=2000, n_val=300, n_test=300, fonts="cjk"),
    "fonts": dict(
        loader=dict(task="fonts", n_max=30, imbalance_ratio=10),
        n_train=560, n_val=100, n_test=240, fonts="all"),
}

# the same number of settings for every method (GRID_SIZE), on the levers
# each method is known by: the margin and scale of CosFace and ArcFace,
# CLMLE's margin levels (a1, a2 in cosine units: medium, large and zero; the
# "auto" rule is not a level here, the levels are explicit), CE's learning
# rate.  The third level of each grid extends it the way the two-level run's
# validation pointed (the rivals chose their smaller margin and scale, CE its
# larger learning rate; CLMLE's margins off scored above both levels on the
# same validation split).
GRIDS = {
    "CE": [dict(learning_rate=1e-3), dict(learning_rate=3e-3),
           dict(learning_rate=1e-2)],
    "CosFace": [dict(angular_margin=0.35, angular_scale=30.0),
                dict(angular_margin=0.2, angular_scale=16.0),
                dict(angular_margin=0.1, angular_scale=16.0)],
    "ArcFace": [dict(angular_margin=0.5, angular_scale=30.0),
                dict(angular_margin=0.3, angular_scale=16.0),
                dict(angular_margin=0.15, angular_scale=16.0)],
    "CLMLE": [dict(margin_between=0.15, margin_within=0.05),
              dict(margin_between=0.35, margin_within=0.15),
              dict(margin_between=0.0, margin_within=0.0)],
}
GRID_SIZE = 3
RIVALS = ("CE", "CosFace", "ArcFace")

# Table 7 rows: one change each to the CLMLE setting validation chose
# (``ablation_jobs``); the margins row switches them off, or, when the
# chosen level is margins off, on at the best non-zero level on validation
ABLATION = {
    # the library's default rule (a twentieth of the geometric bound in the
    # embedding's dimensions: about 0.036/0.032 here), not a grid level
    'margins "auto" (library default)': dict(margin_between="auto",
                                             margin_within="auto"),
    "uniform query": dict(query="uniform"),
    "cost-sensitive off": dict(cost_sensitive=False),
    "one cluster per identity": dict(cluster_size=30),
    "softmax_weight=0 (cluster loss alone)": dict(softmax_weight=0.0),
    # the converse: the same network (backbone, embedding head, softmax
    # classifier) trained by the warm-up's logit-adjusted cross-entropy for
    # the whole budget, no cluster step
    "softmax term only (logit-adjusted CE)": dict(
        warmup_epochs=EPOCHS, n_rounds=1, steps_per_round=0),
}
MARGINS = ("margin_between", "margin_within")
FULL = "CLMLE (full)"


def make_method(name, n, seed, params):
    """Unfitted estimator ``name`` for ``n`` training images (flat rows);
    every setting explicit, so a fit on any ``n`` uses the same ones."""
    common = dict(input_shape=(IMAGE_SIZE, IMAGE_SIZE), hidden_units=(HIDDEN,),
                  random_state=seed, device="cpu", weight_decay=WEIGHT_DECAY,
                  learning_rate=LEARNING_RATE, batch_size=BATCH,
                  optimizer="adam")
    if name in RIVALS:
        return LongTailNetClassifier(loss=name.lower(), epochs=EPOCHS,
                                     **dict(common, **params))
    if name == "CLMLE":
        steps = steps_per_round(n, EPOCHS, WARMUP, N_ROUNDS, M * K)
        return CLMLEEmbedder(**dict(dict(
            common, embedding_dim=EMBEDDING_DIM, cluster_size=CLUSTER_SIZE,
            n_clusters_per_batch=M, n_samples_per_cluster=K,
            margin_power=0.25, scale=64.0, query="hardest",
            cost_sensitive=True, softmax_weight=1.0,
            warmup_class_weight="logit_adjusted", warmup_batch_size=BATCH,
            warmup_epochs=WARMUP, n_rounds=N_ROUNDS, steps_per_round=steps,
            epochs=EPOCHS), **params))
    raise ValueError(name)


def ablation_jobs(base, tuning):
    """Table 7 rows ``(label, params)`` around CLMLE's chosen setting
    ``base``: the margins row switches them off, or, when ``base`` has them
    off, on at the non-zero level that scored best on validation
    (``tuning``: the tuning rows)."""
    jobs = {}
    if any(base.get(k, 0.0) for k in MARGINS):
        jobs["margins off (a1 = a2 = 0)"] = dict(base, **dict.fromkeys(MARGINS, 0.0))
    else:
        levels = [r for r in tuning if r["method"] == "CLMLE"
                  and any(parse_setting(r["setting"]).get(k) for k in MARGINS)]
        if not levels:
            raise ValueError("ablation_jobs: the chosen CLMLE setting has its "
                             "margins off and no non-zero level was scored "
                             "on validation to turn them on at.")
        on = parse_setting(max(levels, key=score)["setting"])
        jobs["margins on (a1/a2 = {:g}/{:g})".format(*(on[k] for k in MARGINS))] = \
            dict(base, **on)
    for label, change in ABLATION.items():
        jobs[label] = dict(base, **change)
    return jobs


def score(row):
    """The tuning criterion: validation accuracy + TAR@FAR 1e-3."""
    return row["accuracy"] + row["tar@far=0.001"]


def chosen_settings(state):
    """Each method's setting marked chosen among ``state``'s tuning rows."""
    return {r["method"]: parse_setting(r["setting"])
            for r in state["tuning"] if r.get("chosen")}


def keep_current(state, chosen, ablation):
    """Drop the rows no longer asked for: main rows of a setting that is not
    (or no longer) the chosen one, ablation rows that are not among
    ``ablation`` (label -> params) or ``FULL`` at the chosen setting."""
    want = {m: setting_name(p) for m, p in chosen.items()}
    want_ab = {label: setting_name(p) for label, p in ablation.items()}
    if "CLMLE" in chosen:
        want_ab[FULL] = want["CLMLE"]
    state["main"] = [r for r in state["main"]
                     if want.get(r["method"]) == r.get("setting")]
    state["ablation"] = [r for r in state["ablation"]
                         if want_ab.get(r["row"]) == r.get("setting")]


# -- data --------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def load_split(task, seed, font_dirs=DEFAULT_FONT_DIRS):
    """Seed ``seed``'s identities split into A (training) and B (test)."""
    spec = TASKS[task]
    loader = dict(spec["loader"])
    loader.setdefault("font_paths", list(font_dirs))
    data = load_font_glyphs(**loader, image_size=IMAGE_SIZE, padding=1,
                            n_identities=spec["n_train"] + spec["n_test"],
                            random_state=seed)
    ids = np.random.RandomState(seed).permutation(spec["n_train"] + spec["n_test"])
    train_ids, test_ids = ids[:spec["n_train"]], ids[spec["n_train"]:]
    X = data.data
    tr, te = np.isin(data.target, train_ids), np.isin(data.target, test_ids)
    return X[tr], data.target[tr], X[te], data.target[te], data


def validation_split(X, y, n_val, seed):
    """Hold ``n_val`` of A's identities out (the validation "unseen" ones)."""
    ids = np.unique(y)
    val = np.random.RandomState(1000 + seed).choice(ids, n_val, replace=False)
    v = np.isin(y, val)
    return X[~v], y[~v], X[v], y[v]


def relabel(y):
    return np.unique(y, return_inverse=True)[1]


# -- scores ------------------------------------------------------------------


def evaluate(Z, y, seed):
    """Every pair of ``Z``'s rows: TAR at FAR and AUC over all pairs, 10-fold
    accuracy over identity-disjoint folds; identification of the probes in a
    gallery of one image per identity.  Also a thinned ROC."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
    a, b, same = all_pairs(y)
    scores = np.clip(np.einsum("ij,ij->i", Z[a], Z[b]), -1.0, 1.0)
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    acc, folds = fold_accuracy(scores, a, b, same,
                               identity_folds(y, N_FOLDS, seed))
    out = dict(accuracy=acc, accuracy_fold_std=float(folds.std()),
               auc=float(roc_auc_score(same, scores)))
    for far in FARS:
        out[f"tar@far={far:g}"] = tar_at_far(scores, same, far)
    out.update(n_pos=n_pos, n_neg=n_neg,
               neg_above_1e3=int(np.floor(1e-3 * n_neg + 1e-9)))
    counts = np.bincount(relabel(y))
    rng = np.random.RandomState(seed)
    per = counts[relabel(y)]
    multi, single = np.flatnonzero(per >= 2), np.flatnonzero(per == 1)
    cmc = []
    for _ in range(N_ENROL):
        enrol = np.array([rng.choice(np.flatnonzero(y == c))
                          for c in np.unique(y[multi])])
        probe = np.setdiff1d(multi, enrol)
        gallery = np.concatenate([enrol, single])  # every identity of B
        cmc.append(cmc_curve(Z[probe], y[probe], Z[gallery], y[gallery],
                             max_rank=max(CMC_RANKS)))
    cmc = np.mean(cmc, axis=0)
    for r in CMC_RANKS:
        out[f"rank{r}"] = float(cmc[r - 1])
    fpr, tpr, _ = roc_curve(same, scores)
    grid = np.logspace(np.log10(max(1.0 / n_neg, 1e-6)), 0, 60)
    return out, (grid, np.interp(grid, fpr, tpr))


def fit_transform(est, X, y, *others):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tic = time.perf_counter()
        est.fit(X, y)
        dur = time.perf_counter() - tic
    return dur, [est.transform(Xo) for Xo in others]


# -- reports -----------------------------------------------------------------

COLUMNS = [("accuracy", "verif. acc."), ("tar@far=0.001", "TAR@FAR 1e-3"),
           ("tar@far=0.0001", "TAR@FAR 1e-4"), ("tar@far=0.01", "TAR@FAR 1e-2"),
           ("auc", "ROC AUC"), ("rank1", "rank-1"), ("rank5", "rank-5")]
PAIRED = [("accuracy", "verif. acc."), ("tar@far=0.001", "TAR@FAR 1e-3"),
          ("tar@far=0.0001", "TAR@FAR 1e-4"), ("auc", "ROC AUC")]


def table(rows, key="method"):
    names = list(dict.fromkeys(r[key] for r in rows))
    lines = ["| " + key + " | " + " | ".join(c for _, c in COLUMNS)
             + " | fit (s) | seeds |",
             "| --- |" + " --- |" * (len(COLUMNS) + 2)]
    for m in names:
        mr = [r for r in rows if r[key] == m]
        cells = [mean_std([r[k] for r in mr]) for k, _ in COLUMNS]
        lines.append(f"| {m} | " + " | ".join(cells)
                     + f" | {np.mean([r['fit_s'] for r in mr]):.0f} | {len(mr)} |")
    return lines


def paired(rows, key, name, ref):
    """``name - ref`` on the seeds both have, per column of ``PAIRED``."""
    by = {(r[key], r["seed"]): r for r in rows}
    seeds = sorted(s for (m, s) in by if m == name and (ref, s) in by)
    out = {}
    if len(seeds) < 2:
        return out, seeds
    for col, _ in PAIRED:
        out[col] = paired_difference([100 * by[name, s][col] for s in seeds],
                                     [100 * by[ref, s][col] for s in seeds])
    return out, seeds


def paired_lines(rows, key, pairs):
    lines = ["| difference | " + " | ".join(c for _, c in PAIRED) + " | seeds |",
             "| --- |" + " --- |" * (len(PAIRED) + 1)]
    for name, ref in pairs:
        diff, seeds = paired(rows, key, name, ref)
        if len(seeds) < 2:
            continue
        cells = [f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}] "
                 + ("p<0.001" if d["p"] < 1e-3 else f"p={d['p']:.3f}")
                 for d in (diff[c] for c, _ in PAIRED)]
        lines.append(f"| {name} − {ref} | " + " | ".join(cells)
                     + f" | {len(seeds)} |")
    return lines


def per_seed_lines(rows, key):
    """Verification accuracy / TAR@FAR 1e-3 of every row and seed."""
    seeds = sorted({r["seed"] for r in rows})
    lines = [f"| {key} | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             "| --- |" + " --- |" * len(seeds)]
    for m in dict.fromkeys(r[key] for r in rows):
        by = {r["seed"]: r for r in rows if r[key] == m}
        lines.append(f"| {m} | " + " | ".join(
            f"{100 * by[s]['accuracy']:.1f} / {100 * by[s]['tar@far=0.001']:.1f}"
            if s in by else "" for s in seeds) + " |")
    return lines


def best_rival(rows, col="accuracy"):
    means = {m: np.mean([r[col] for r in rows if r["method"] == m])
             for m in RIVALS if any(r["method"] == m for r in rows)}
    return max(means, key=means.get) if means else None


def write_csv(rows, path):
    from benchmarks.common import write_csv as _write

    keys = list(dict.fromkeys(k for r in rows for k in r))
    if rows:
        _write([{k: (round(r[k], 6) if isinstance(r.get(k), float)
                     else r.get(k, "")) for k in keys} for r in rows], path)


def read_rows(path):
    """The rows of an earlier run's CSV, by part (numbers back as floats)."""
    state = dict(tuning=[], main=[], ablation=[])
    if not Path(path).exists():
        return state
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            part = r.pop("part")
            row = {}
            for k, v in r.items():
                if v == "":
                    continue
                try:
                    row[k] = int(v) if k in ("seed", "n_train", "n_pos", "n_neg",
                                             "neg_above_1e3") else float(v)
                except ValueError:
                    row[k] = v
            if "chosen" in row:
                row["chosen"] = row["chosen"] == "True"
            state[part].append(row)
    return state


def write_report(stem, state, header):
    lines = [header, ""]
    main = state["main"]
    if main:
        lines += ["## Main table (test identities B, all pairs; mean ± std "
                  "over seeds, %)", ""] + table(main) + [""]
        rival = best_rival(main)
        lines += [f"Paired differences (percentage points, per seed; mean "
                  f"[95% t interval] and paired t-test p); best rival on "
                  f"accuracy: {rival}", ""]
        lines += paired_lines(main, "method",
                              [("CLMLE", m) for m in RIVALS]) + [""]
        lines += ["Per seed (verification accuracy / TAR@FAR 1e-3, %)", ""]
        lines += per_seed_lines(main, "method") + [""]
    if state["ablation"]:
        lines += ["## CLMLE ablation (the paper's Table 7 rows; same seeds, %)",
                  ""] + table(state["ablation"], key="row") + [""]
        lines += ["Paired differences against full CLMLE (percentage points; "
                  "mean [95% t interval], paired t-test p)", ""]
        rows = [r for r in dict.fromkeys(a["row"] for a in state["ablation"])
                if r != FULL]
        lines += paired_lines(state["ablation"], "row",
                              [(r, FULL) for r in rows]) + [""]
        lines += ["Per seed (verification accuracy / TAR@FAR 1e-3, %)", ""]
        lines += per_seed_lines(state["ablation"], "row") + [""]
    if state["tuning"]:
        lines += ["Settings: " + "; ".join(
            f"{m}: {setting_name(p)}" for m, p in chosen_settings(state).items())
            + " (chosen on validation); ablation rows: "
            + "; ".join(f"{r}: {s}" for r, s in dict.fromkeys(
                (a["row"], a.get("setting", "")) for a in state["ablation"])), ""]
        lines += ["## Tuning (seed 0, validation identities held out of A, "
                  "all pairs; %)", "",
                  "| method | setting | verif. acc. | TAR@FAR 1e-3 | chosen |",
                  "| --- | --- | --- | --- | --- |"]
        for r in state["tuning"]:
            lines.append(f"| {r['method']} | {r['setting']} | "
                         f"{100 * r['accuracy']:.2f} | "
                         f"{100 * r['tar@far=0.001']:.2f} | "
                         f"{'yes' if r.get('chosen') else ''} |")
        lines += [""]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    write_csv([dict(part=p, **r) for p in ("tuning", "main", "ablation")
               for r in state[p]], stem.with_suffix(".csv"))


# -- phases ------------------------------------------------------------------


def setting_name(params):
    return ", ".join(f"{k}={v}" for k, v in params.items())


def parse_setting(text):
    params = {}
    for item in filter(None, text.split(", ")):
        key, value = item.split("=")
        try:
            params[key] = float(value)
        except ValueError:
            params[key] = value
    return params


def report_row(rep, **extra):
    return dict(extra, **{k: v for k, v in rep.items()})


def log(tag, row):
    print(tag, {k: (round(v, 4) if isinstance(v, float) else v)
                for k, v in row.items()}, flush=True)


def tune(task, state, save, font_dirs):
    spec = TASKS[task]
    X, y, _, _, _ = load_split(task, 0, font_dirs)
    Xa, ya, Xv, yv = validation_split(X, y, spec["n_val"], 0)
    ya = relabel(ya)
    done = {(r["method"], r["setting"]): r for r in state["tuning"]}
    chosen = {}
    for name, grid in GRIDS.items():
        for params in grid:
            if (name, setting_name(params)) in done:
                continue
            est = make_method(name, len(ya), 0, params)
            dur, (Zv,) = fit_transform(est, Xa, ya, Xv)
            rep, _ = evaluate(Zv, yv, 0)
            row = report_row(rep, method=name, setting=setting_name(params),
                             seed=0, n_train=len(ya), fit_s=dur)
            state["tuning"].append(row)
            done[name, row["setting"]] = row
            log("tune", row)
            save()
        rows = [done[name, setting_name(p)] for p in grid]
        best = max(rows, key=score)
        for r in rows:
            r["chosen"] = r is best
        chosen[name] = parse_setting(best["setting"])
        save()
    return chosen


def fit_rows(task, state, save, font_dirs, seeds, jobs, part, key, curves):
    """Fit every ``(label, method, params)`` of ``jobs`` on every seed, unless
    ``state[part]`` already has its row."""
    for seed in seeds:
        todo = [(label, name, params) for label, name, params in jobs
                if not any(r[key] == label and r["seed"] == seed
                           and r.get("setting") == setting_name(params)
                           for r in state[part])]
        if not todo:
            continue
        print(describe_split(task, seed, font_dirs), flush=True)
        Xtr, ytr, Xte, yte, data = load_split(task, seed, font_dirs)
        ytr = relabel(ytr)
        for label, name, params in todo:
            est = make_method(name, len(ytr), seed, params)
            dur, (Z,) = fit_transform(est, Xtr, ytr, Xte)
            rep, roc = evaluate(Z, yte, seed)
            row = report_row(rep, **{"method": name, key: label},
                             setting=setting_name(params), seed=seed,
                             n_train=len(ytr), fit_s=dur)
            state[part].append(row)
            if curves is not None:
                curves.setdefault(str(seed), {})[label] = [
                    roc[0].tolist(), roc[1].tolist()]
            log(part, row)
            save()


def describe_split(task, seed, font_dirs):
    Xtr, ytr, Xte, yte, data = load_split(task, seed, font_dirs)
    counts = np.bincount(relabel(ytr))
    two = counts >= 2 * CLUSTER_SIZE
    return (f"seed {seed}: A {len(ytr)} images of {len(counts)} identities "
            f"(sizes {counts.max()} to {counts.min()}; {two.mean():.0%} of "
            f"them, {counts[two].sum() / counts.sum():.0%} of the images, have "
            f"2+ clusters of {CLUSTER_SIZE}), B {len(yte)} images of "
            f"{len(np.unique(yte))} identities; {len(data.font_files)} designs")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=list(TASKS), default="characters")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--phases", nargs="+", default=["tune", "main", "ablation"],
                        choices=["tune", "main", "ablation"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--font-dirs", nargs="+", default=None, metavar="DIR",
                        help="font files or directories to render from "
                             f"(default: {' '.join(DEFAULT_FONT_DIRS)}); e.g. "
                             "DIR/usr/share/fonts after `sh benchmarks/face/"
                             "install_fonts.sh cjk DIR` (no root)")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the Markdown report from the CSV, no fit")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore the rows of an earlier run's CSV")
    parser.add_argument("--out", default=None,
                        help="results stem (default: benchmarks/results/face/"
                             "font_verification_<task>)")
    args = parser.parse_args(argv)
    if args.font_dirs is not None:
        missing = [d for d in args.font_dirs if not Path(d).exists()]
        if missing:
            parser.error(f"--font-dirs: {missing[0]} does not exist.")
    args.font_dirs = tuple(args.font_dirs or DEFAULT_FONT_DIRS)
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    spec = TASKS[args.task]
    stem = (Path(args.out) if args.out else
            results_dir("face") / f"font_verification_{args.task}")
    state = (dict(tuning=[], main=[], ablation=[]) if args.fresh
             else read_rows(stem.with_suffix(".csv")))
    roc_path = stem.parent / (stem.name + "_roc.json")
    curves = ({} if args.fresh or not roc_path.exists()
              else json.loads(roc_path.read_text()))
    lo = spec["loader"]
    header = (
        f"# Open-set verification at scale: {args.task} as identities\n\n"
        "Command: `python benchmarks/bench_font_verification.py --task "
        f"{args.task} --seeds {' '.join(map(str, args.seeds))}"
        + (" --font-dirs DIR/usr/share/fonts"
           if args.font_dirs != DEFAULT_FONT_DIRS else "")
        + f"` (fonts: `sh benchmarks/face/install_fonts.sh {spec['fonts']} [DIR]`). "
        f"Identities: power-law sizes {lo['n_max']} down to "
        f"{lo['n_max'] // lo['imbalance_ratio']} samples; A = "
        f"{spec['n_train']} training identities, B = {spec['n_test']} disjoint "
        f"test identities (each seed its own), every pair of B's images "
        f"scored; {IMAGE_SIZE}x{IMAGE_SIZE} images; backbone SmallCNN "
        f"({HIDDEN} features); budget {EPOCHS} epochs of A for every method, "
        f"Adam, learning rate {LEARNING_RATE:g} unless tuned, weight decay "
        f"{WEIGHT_DECAY:g}, batch {BATCH}; CLMLE: {WARMUP} warm-up epochs, "
        f"{N_ROUNDS} rounds, batches of {M} clusters x {K}, cluster size "
        f"{CLUSTER_SIZE}. Verification accuracy: {N_FOLDS} identity-disjoint "
        "folds (balanced accuracy of the pairs inside a fold, threshold from "
        "the other folds). Torch on 1 thread; fit (s): wall seconds on a "
        "shared, loaded 2-core machine, not a timing claim.")

    def save():
        write_report(stem, state, header)
        roc_path.write_text(json.dumps(curves))

    if args.report_only:
        write_report(stem, state, header)
        print("wrote", stem.with_suffix(".md"), flush=True)
        return
    with threadpool_limits(args.threads):
        if "tune" in args.phases:
            tune(args.task, state, save, args.font_dirs)
        chosen = chosen_settings(state)
        missing = [m for m in GRIDS if m not in chosen]
        if missing and {"main", "ablation"} & set(args.phases):
            raise SystemExit(f"no tuned setting for {missing}: run the tune "
                             "phase first")
        print("chosen", chosen, flush=True)
        ablation = (ablation_jobs(chosen["CLMLE"], state["tuning"])
                    if "CLMLE" in chosen else {})
        keep_current(state, chosen, ablation)
        if "main" in args.phases:
            fit_rows(args.task, state, save, args.font_dirs, args.seeds,
                     [(m, m, chosen[m]) for m in GRIDS], "main", "method",
                     curves)
            plot_roc({int(s): {m: tuple(map(np.asarray, c)) for m, c in v.items()}
                      for s, v in curves.items()}, stem.with_suffix(".png"),
                     f"{args.task} as identities: ROC on all pairs of the "
                     "test identities B")
        if "ablation" in args.phases:
            for r in state["main"]:
                if r["method"] == "CLMLE" and not any(
                        a["row"] == FULL and a["seed"] == r["seed"]
                        for a in state["ablation"]):
                    state["ablation"].append(dict(r, row=FULL))
            fit_rows(args.task, state, save, args.font_dirs, args.seeds,
                     [(row, "CLMLE", p) for row, p in ablation.items()],
                     "ablation", "row", None)
    save()
    print("wrote", stem.with_suffix(".md"), flush=True)


if __name__ == "__main__":
    main()
