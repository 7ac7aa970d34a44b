"""Open-set verification at the paper's scale: a thousand identities or more,
long-tailed, rendered from Debian's font packages.

The paper's face task (Huang et al., Section 5: LFW/YTF, an embedding trained
on ~10,000 long-tailed identities) on the many-identity image data that
installs offline here, ``sklearn_clmle.datasets.load_font_glyphs``::

    sh benchmarks/face/install_fonts.sh                # root: apt-get install
    python benchmarks/bench_font_verification.py --task characters
    python benchmarks/bench_font_verification.py --task fonts

- ``characters``: identity = a CJK character, samples = that character drawn
  by different type designs (the small CJK packages of ``CJK_PACKAGES``);
- ``fonts``: identity = a type design, samples = different characters of
  A-Z a-z 0-9 drawn in it (``LATIN_PACKAGES``).

Protocol (each seed: its own identities, split, pairs and initialisation):
identity sizes follow a power law (``n_max`` down to ``n_max /
imbalance_ratio`` samples); the identities are split into a training set A
and a disjoint test set B.  Every method trains on A, on the same small CNN
backbone (``SmallCNN``, two conv blocks, ``HIDDEN`` features) and the same
budget (``EPOCHS`` passes over A's images: the P x K and cluster samplers get
the steps that see as many samples).  On B: 10-fold verification accuracy on
balanced pairs, ROC AUC, TAR at FAR 1e-2 and 1e-3 (cosine scores;
classifier features are the penultimate layer), and identification rank-1 /
CMC with a gallery of one image per identity and the other images as probes.

Tuning: every method gets the same validation budget, ``GRIDS`` (two
settings each), scored on a held-out slice of A's identities (``n_val``
identities of seed 0's A; the model trains on the rest of A), never on B; the
setting with the best validation verification accuracy is used for the three
seeds.  Then CLMLE's ablation (the paper's Table 7 rows): uniform against
hardest query cluster, margins off, cost-sensitive weights off, cluster size.

Results: ``benchmarks/results/face/font_verification_<task>.{md,csv,png}``
(main table, ablation, tuning, ROC), written as rows come in.
"""

import argparse
import functools
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
from sklearn.metrics import roc_curve  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks.common import mean_std, results_dir, steps_per_round  # noqa: E402
from benchmarks.face.fonts import CJK_PACKAGES, LATIN_PACKAGES  # noqa: E402,F401
from benchmarks.face.report import plot_roc  # noqa: E402
from sklearn_clmle import CLMLEEmbedder, MetricEmbedder  # noqa: E402
from sklearn_clmle.datasets import load_font_glyphs  # noqa: E402
from sklearn_clmle.embedding import LongTailNetClassifier  # noqa: E402
from sklearn_clmle.metrics import (  # noqa: E402
    cmc_curve,
    make_pairs,
    pair_scores,
    verification_report,
)

# Debian packages the tasks render (benchmarks/face/fonts.py; installed by
# benchmarks/face/install_fonts.sh): CJK_PACKAGES, LATIN_PACKAGES.

IMAGE_SIZE = 24
HIDDEN = 128  # SmallCNN's output features (the classifiers' penultimate layer)
EMBEDDING_DIM = 64
EPOCHS = 16  # budget: passes over A's images, for every method
WARMUP = 4  # softmax warm-up epochs of the embedders (inside the budget)
N_ROUNDS = 4
BATCH = 128  # cross-entropy batch; the samplers' batches are M x K = 128
M, K = 16, 8  # clusters (classes) per batch, samples per cluster (class)
CLUSTER_SIZE = 8  # identities of 16+ images get 2+ clusters
N_PAIRS = 20000
FARS = (1e-2, 1e-3)
CMC_RANKS = (1, 5, 10)
N_ENROL = 3  # gallery draws for identification

TASKS = {
    "characters": dict(
        loader=dict(task="characters", n_max=30, imbalance_ratio=15),
        n_train=1000, n_val=150, n_test=400),
    "fonts": dict(
        loader=dict(task="fonts", n_max=30, imbalance_ratio=15),
        n_train=560, n_val=100, n_test=240),
}

# the same validation budget for every method: two settings, the default and
# a 3x larger Adam learning rate (the budget is short: 16 epochs)
GRIDS = {name: [{}, dict(learning_rate=3e-3)]
         for name in ("CE", "CosFace", "ArcFace", "triplet", "LMLE", "CLMLE")}

ABLATION = {
    "uniform query": dict(query="uniform"),
    "margins off": dict(margin_between=0.0, margin_within=0.0),
    "cost-sensitive off": dict(cost_sensitive=False),
    "cluster size 4": dict(cluster_size=4),
    "cluster size 30 (one cluster per identity)": dict(cluster_size=30),
}


def make_method(name, n, seed, params):
    """Unfitted embedder ``name`` for ``n`` training images (flat rows)."""
    common = dict(input_shape=(IMAGE_SIZE, IMAGE_SIZE), hidden_units=(HIDDEN,),
                  random_state=seed, device="cpu")
    steps = steps_per_round(n, EPOCHS, WARMUP, N_ROUNDS, M * K)
    if name in ("CE", "CosFace", "ArcFace"):
        return LongTailNetClassifier(loss=name.lower(), epochs=EPOCHS,
                                     batch_size=BATCH, **common, **params)
    if name == "triplet":
        return MetricEmbedder(loss="triplet", embedding_dim=EMBEDDING_DIM,
                              n_classes_per_batch=M, n_samples_per_class=K,
                              warmup_epochs=WARMUP, n_rounds=N_ROUNDS,
                              steps_per_round=steps, **common, **params)
    if name == "LMLE":
        return MetricEmbedder(loss="lmle", embedding_dim=EMBEDDING_DIM,
                              cluster_size=CLUSTER_SIZE, n_clusters_per_batch=M,
                              n_samples_per_cluster=K, warmup_epochs=WARMUP,
                              n_rounds=N_ROUNDS, steps_per_round=steps,
                              **common, **params)
    if name == "CLMLE":
        return CLMLEEmbedder(embedding_dim=EMBEDDING_DIM,
                             **dict(dict(cluster_size=CLUSTER_SIZE,
                                         n_clusters_per_batch=M,
                                         n_samples_per_cluster=K), **params),
                             warmup_epochs=WARMUP, n_rounds=N_ROUNDS,
                             steps_per_round=steps, **common)
    raise ValueError(name)


# -- data --------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def load_split(task, seed):
    """Seed ``seed``'s identities split into A (training) and B (test)."""
    spec = TASKS[task]
    data = load_font_glyphs(**spec["loader"], image_size=IMAGE_SIZE, padding=1,
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
    """Verification on balanced pairs of B, identification of B's probes in a
    gallery of one image per identity; also the ROC points."""
    counts = np.bincount(relabel(y))
    n_pos = int((counts * (counts - 1) // 2).sum())
    # make_pairs draws the positive pairs identity by identity (uniformly),
    # so the pairs of the largest identities are reached slowly: ask for at
    # most 80 % of the positive pairs there are, fewer if it cannot draw them
    n_pairs = min(N_PAIRS, 2 * int(0.8 * n_pos))
    while True:
        try:
            a, b, same = make_pairs(y, n_pairs=n_pairs, random_state=seed)
            break
        except ValueError:
            n_pairs = int(0.8 * n_pairs)
    scores = pair_scores(Z[a], Z[b])
    rep = verification_report(scores, same, fars=FARS, n_folds=10)
    out = {k: rep[k] for k in ("accuracy", "auc", *(f"tar@far={f:g}" for f in FARS))}
    out["n_pairs"] = n_pairs
    rng = np.random.RandomState(seed)
    multi = np.flatnonzero(counts[relabel(y)] >= 2)
    cmc = []
    for _ in range(N_ENROL):
        enrol = np.array([rng.choice(np.flatnonzero(y == c))
                          for c in np.unique(y[multi])])
        probe = np.setdiff1d(multi, enrol)
        # the gallery holds every identity of B (singletons included)
        single = np.flatnonzero(counts[relabel(y)] == 1)
        gallery = np.concatenate([enrol, single])
        cmc.append(cmc_curve(Z[probe], y[probe], Z[gallery], y[gallery],
                             max_rank=max(CMC_RANKS)))
    cmc = np.mean(cmc, axis=0)
    for r in CMC_RANKS:
        out[f"rank{r}"] = float(cmc[r - 1])
    fpr, tpr, _ = roc_curve(same, scores)
    return out, (fpr, tpr)


def fit_transform(est, X, y, *others):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tic = time.perf_counter()
        est.fit(X, y)
        dur = time.perf_counter() - tic
    return dur, [est.transform(Xo) for Xo in others]


# -- reports -----------------------------------------------------------------

COLUMNS = [("accuracy", "verif. acc."), ("tar@far=0.001", "TAR@FAR 1e-3"),
           ("tar@far=0.01", "TAR@FAR 1e-2"), ("auc", "ROC AUC"),
           ("rank1", "rank-1"), ("rank5", "rank-5"), ("rank10", "rank-10")]


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


def write_csv(rows, path):
    from benchmarks.common import write_csv as _write

    keys = list(dict.fromkeys(k for r in rows for k in r))
    if rows:
        _write([{k: (round(r[k], 5) if isinstance(r.get(k), float)
                     else r.get(k, "")) for k in keys} for r in rows], path)


def write_report(task, stem, state, header):
    lines = [header, ""]
    if state["main"]:
        lines += ["## Main table (test identities B; mean ± std over seeds, %)", ""]
        lines += table(state["main"])
        lines += [""]
    if state["ablation"]:
        lines += ["## CLMLE ablation (the paper's Table 7 rows; same seeds, %)", ""]
        lines += table(state["ablation"], key="row")
        lines += [""]
    if state["tuning"]:
        lines += ["## Tuning (seed 0, validation identities held out of A; %)",
                  "", "| method | setting | verif. acc. | TAR@FAR 1e-3 | chosen |",
                  "| --- | --- | --- | --- | --- |"]
        for r in state["tuning"]:
            lines.append(f"| {r['method']} | {r['setting'] or 'default'} | "
                         f"{100 * r['accuracy']:.2f} | "
                         f"{100 * r['tar@far=0.001']:.2f} | "
                         f"{'yes' if r.get('chosen') else ''} |")
        lines += [""]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    write_csv([dict(part=p, **r) for p in ("tuning", "main", "ablation")
               for r in state[p]], stem.with_suffix(".csv"))


# -- phases ------------------------------------------------------------------


def tune(task, state, save):
    spec = TASKS[task]
    X, y, _, _, _ = load_split(task, 0)
    Xa, ya, Xv, yv = validation_split(X, y, spec["n_val"], 0)
    ya = relabel(ya)
    chosen = {}
    for name, grid in GRIDS.items():
        best = None
        for params in grid:
            est = make_method(name, len(ya), 0, params)
            dur, (Zv,) = fit_transform(est, Xa, ya, Xv)
            rep, _ = evaluate(Zv, yv, 0)
            row = dict(method=name, setting=", ".join(f"{k}={v}" for k, v in
                                                      params.items()),
                       seed=0, **rep, fit_s=dur)
            state["tuning"].append(row)
            print("tune", {k: (round(v, 4) if isinstance(v, float) else v)
                           for k, v in row.items()}, flush=True)
            key = (rep["accuracy"], rep["tar@far=0.001"])
            if best is None or key > best[0]:
                best = (key, params, row)
            save()
        best[2]["chosen"] = True
        chosen[name] = best[1]
        save()
    return chosen


def tuned_settings(csv_path, rows_out=None):
    """``{method: params}`` chosen by an earlier tuning (its CSV rows); the
    tuning rows are appended to ``rows_out``."""
    import csv

    with open(csv_path, newline="") as fh:
        tuning = [r for r in csv.DictReader(fh) if r["part"] == "tuning"]
    if rows_out is not None:
        for r in tuning:
            row = {k: v for k, v in r.items() if k not in ("part", "chosen")}
            for k in ("accuracy", "auc", "tar@far=0.01", "tar@far=0.001",
                      "rank1", "rank5", "rank10", "fit_s"):
                row[k] = float(row[k])
            row["chosen"] = r.get("chosen") == "True"
            rows_out.append(row)
    rows = [r for r in tuning if r.get("chosen") == "True"]
    chosen = {}
    for r in rows:
        params = {}
        for item in filter(None, r["setting"].split(", ")):
            key, value = item.split("=")
            params[key] = float(value)
        chosen[r["method"]] = params
    missing = set(GRIDS) - set(chosen)
    if missing:
        raise ValueError(f"{csv_path} has no chosen setting for {sorted(missing)}.")
    return chosen


def main_table(task, state, save, chosen, seeds, curves):
    for seed in seeds:
        Xtr, ytr, Xte, yte, data = load_split(task, seed)
        ytr = relabel(ytr)
        print(f"seed {seed}: A {len(ytr)} images of {ytr.max() + 1} identities "
              f"(sizes {np.bincount(ytr).max()} to {np.bincount(ytr).min()}), "
              f"B {len(yte)} images of {len(np.unique(yte))}; "
              f"{len(data.font_files)} designs", flush=True)
        for name in GRIDS:
            est = make_method(name, len(ytr), seed, chosen[name])
            dur, (Z,) = fit_transform(est, Xtr, ytr, Xte)
            rep, roc = evaluate(Z, yte, seed)
            state["main"].append(dict(method=name, seed=seed, n_train=len(ytr),
                                      **rep, fit_s=dur))
            curves.setdefault(seed, {})[name] = roc
            print("main", {k: (round(v, 4) if isinstance(v, float) else v)
                           for k, v in state["main"][-1].items()}, flush=True)
            save()


def ablation(task, state, save, chosen, seeds):
    base = chosen["CLMLE"]
    for seed in seeds:
        Xtr, ytr, Xte, yte, _ = load_split(task, seed)
        ytr = relabel(ytr)
        ref = next(r for r in state["main"]
                   if r["method"] == "CLMLE" and r["seed"] == seed)
        state["ablation"].append(dict(ref, row="CLMLE (hardest query, margins, "
                                      f"cost-sensitive, cluster size {CLUSTER_SIZE})"))
        for row, params in ABLATION.items():
            est = make_method("CLMLE", len(ytr), seed, dict(base, **params))
            dur, (Z,) = fit_transform(est, Xtr, ytr, Xte)
            rep, _ = evaluate(Z, yte, seed)
            state["ablation"].append(dict(row=row, method="CLMLE", seed=seed,
                                          n_train=len(ytr), **rep, fit_s=dur))
            print("ablation", row, {k: round(v, 4) for k, v in rep.items()},
                  f"{dur:.0f}s", flush=True)
            save()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=list(TASKS), default="characters")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--phases", nargs="+", default=["tune", "main", "ablation"],
                        choices=["tune", "main", "ablation"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reuse-tuning", choices=list(TASKS), default=None,
                        help="without the tune phase: the settings chosen by "
                             "this task's tuning (read from its CSV)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    spec = TASKS[args.task]
    stem = results_dir("face") / f"font_verification_{args.task}"
    state = dict(tuning=[], main=[], ablation=[])
    header = (
        f"# Open-set verification at scale: {args.task} as identities\n\n"
        f"Command: `python benchmarks/bench_font_verification.py --task "
        f"{args.task} --seeds {' '.join(map(str, args.seeds))}"
        + (f" --phases {' '.join(args.phases)}"
           if args.phases != ["tune", "main", "ablation"] else "")
        + (f" --reuse-tuning {args.reuse_tuning}" if args.reuse_tuning else "")
        + "` (fonts: "
        "`sh benchmarks/face/install_fonts.sh`). Identities: power-law sizes "
        f"{spec['loader']['n_max']} down to "
        f"{spec['loader']['n_max'] // spec['loader']['imbalance_ratio']} "
        f"samples; A = {spec['n_train']} training identities, B = "
        f"{spec['n_test']} disjoint test identities (each seed its own); "
        f"{IMAGE_SIZE}x{IMAGE_SIZE} images; SmallCNN backbone ({HIDDEN} "
        f"features), budget {EPOCHS} epochs of A for every method; CLMLE / LMLE "
        f"/ triplet: {WARMUP} warm-up epochs, {N_ROUNDS} rounds, batches of "
        f"{M} x {K}, cluster size {CLUSTER_SIZE}. Verification: up to "
        f"{N_PAIRS} balanced pairs of B, 10-fold accuracy; identification: one "
        f"gallery image per identity of B, the others probes (mean over "
        f"{N_ENROL} draws). Torch on {args.threads} thread(s); fit (s): wall "
        "seconds on a shared, loaded 2-core machine, not a timing claim.")

    def save():
        write_report(args.task, stem, state, header)

    curves = {}
    with threadpool_limits(args.threads):
        if "tune" in args.phases:
            chosen = tune(args.task, state, save)
        elif args.reuse_tuning:
            same = args.reuse_tuning == args.task
            chosen = tuned_settings(results_dir("face") / "font_verification_"
                                    f"{args.reuse_tuning}.csv",
                                    state["tuning"] if same else None)
        else:
            chosen = {m: g[0] for m, g in GRIDS.items()}
        if "tune" not in args.phases and args.reuse_tuning == args.task:
            header += ("\n\nTuning: the rows below come from an earlier "
                       "invocation of this script with the tune phase (same "
                       "protocol), read back from the CSV.")
        elif "tune" not in args.phases:
            header += ("\n\nSettings (not tuned on this task): "
                       + ("those chosen by the tuning of the "
                          f"`{args.reuse_tuning}` task, " if args.reuse_tuning
                          else "the defaults, ")
                       + "; ".join(f"{m}: {p or 'default'}"
                                   for m, p in chosen.items()) + ".")
        print("chosen", chosen, flush=True)
        if "main" in args.phases:
            main_table(args.task, state, save, chosen, args.seeds, curves)
            plot_roc(curves, stem.with_suffix(".png"),
                     f"{args.task} as identities: ROC on the test identities B")
        if "ablation" in args.phases and "main" in args.phases:
            ablation(args.task, state, save, chosen, args.seeds)
    save()
    print("wrote", stem.with_suffix(".md"), flush=True)


if __name__ == "__main__":
    main()
