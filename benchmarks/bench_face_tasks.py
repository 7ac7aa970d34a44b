"""Benchmark the paper's two face tasks on real images that exist offline.

Two tasks (Huang et al., Section 5), each against deep baselines on the same
MLP backbone and the same training budget (samples seen)::

    python benchmarks/bench_face_tasks.py verify       # open-set verification
    python benchmarks/bench_face_tasks.py attributes   # multi-label attributes
    python benchmarks/bench_face_tasks.py tune-verify  --configs "scale=32" ...
    python benchmarks/bench_face_tasks.py tune-attributes --configs ...

``--quick`` uses scikit-learn's 8x8 digits instead of Fashion-MNIST;
``--seeds 0 1 2`` picks the seeds (each seed draws its own class split,
long-tailed subset, mosaics, pairs and initialisation).

**Open-set verification** (``verify``).  The classes are split into seen and
unseen ones (``split_seen_unseen``: 7 seen, 3 unseen).  The seen classes of
the training split are made long-tailed (``make_long_tailed``, exponential
profile, class order shuffled per seed) and every embedder is trained on
them.  On the *unseen* classes of the test split: balanced positive and
negative pairs (``make_pairs``), cosine scores (baseline features are the
penultimate layer, L2-normalised), verification accuracy with the 10-fold
threshold protocol, ROC AUC, TAR at FAR 1e-2 and 1e-3; and identification
rank-1 of probes against a gallery of one enrolled image per unseen class
plus distractors from the seen classes' test images (mean over enrolment
draws).

**Imbalanced multi-label attributes** (``attributes``).  ``make_mosaics`` of
2x2 real images (Fashion-MNIST items average-pooled to 14x14, or digits),
attribute ``j`` = "contains class j", positive rates spaced geometrically
from 50 % down to 2 %.  Training, validation and test mosaics are built from
disjoint image pools.  Methods: ``CLMLEEmbedder`` on the indicator matrix
(one head per attribute) + ``KNearestClusterClassifier`` per attribute on
that attribute's block of the embedding; ``LongTailNetClassifier`` with
per-attribute class-balanced binary cross-entropy (``loss="weighted_ce"``)
and plain binary cross-entropy (``loss="ce"``).  Mean balanced accuracy over
attributes and balanced accuracy per attribute.

Settings are chosen by the ``tune-*`` modes on validation data from the
training side only (``tune-verify``: 2 of the 7 seen classes held out as
validation "unseen" classes, the embedder trained on the other 5;
``tune-attributes``: validation mosaics from held-out training images).
Results go to ``benchmarks/results/face/``: Markdown tables, CSV rows, PNG
plots.  Torch and BLAS are held to ``--threads`` threads (default 2).

The protocol lives in ``benchmarks/face/`` (``datasets``: splits and mosaics;
``methods``: configurations and method factories; ``report``: scores,
tables, plots); this script runs its modes.
"""

import argparse
import os
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

# torch's OpenMP threads busy-wait between parallel regions by default; when
# the cores are shared with other processes that made small-batch training up
# to 40x slower here.  Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks.common import exclusive_run, results_dir, write_csv  # noqa: E402
from benchmarks.face.datasets import (  # noqa: E402
    load_images,
    mosaic_split,
    open_set_split,
    validation_open_set,
)
from benchmarks.face.methods import (  # noqa: E402
    CONFIGS,
    attribute_methods,
    has_triplet,
    knc_grid_scores,
    make_clmle,
    make_net,
    verify_methods,
)
from benchmarks.face.report import (  # noqa: E402
    attributes_markdown,
    evaluate_open_set,
    per_attribute_bacc,
    plot_attributes,
    plot_roc,
    verify_markdown,
)



def fit_embed(est, X, y, *others):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tic = time.perf_counter()
        est.fit(X, y)
        dur = time.perf_counter() - tic
    return dur, [est.transform(Xo) for Xo in others]



# -- modes -------------------------------------------------------------------


def run_verify(args, cfg):
    X_tr, X_te, y_tr, y_te = load_images(cfg.name)
    rows, curves = [], {}
    for seed in args.seeds:
        split = open_set_split(X_tr, y_tr, X_te, y_te, cfg, seed)
        n = len(split.y_train)
        print(f"seed {seed}: {n} training images of {len(np.unique(split.y_train))} "
              f"seen classes ({np.bincount(split.y_train).tolist()}), unseen "
              f"{split.unseen_classes}", flush=True)
        n_classes = len(np.unique(split.y_train))
        for name, est in verify_methods(cfg, n, n_classes, seed).items():
            dur, (Z, Zd) = fit_embed(est, split.X_train, split.y_train,
                                     split.X_eval, split.X_distract)
            rep, roc = evaluate_open_set(Z, split.y_eval, Zd, cfg, seed)
            rows.append(dict(dataset=cfg.name, seed=seed, method=name, n_train=n,
                             unseen=" ".join(map(str, split.unseen_classes)),
                             **rep, fit_s=round(dur, 2)))
            curves.setdefault(seed, {})[name] = roc
            print({k: (round(v, 4) if isinstance(v, float) else v)
                   for k, v in rows[-1].items()}, flush=True)
    stem = results_dir("face") / f"face_verification_{cfg.name}"
    write_csv(rows, stem.with_suffix(".csv"))
    header = (f"# Open-set verification, {cfg.name}: "
              f"mean ± std over seeds {list(args.seeds)} (%)\n\n"
              f"Command: `python benchmarks/bench_face_tasks.py verify"
              f"{' --quick' if args.quick else ''} --seeds "
              f"{' '.join(map(str, args.seeds))}`. Seen classes: "
              f"{10 - cfg.n_unseen}, long-tailed (imbalance ratio "
              f"{cfg.imbalance_ratio:g}); unseen: {cfg.n_unseen} classes of the test "
              f"split, {cfg.n_pairs} balanced pairs; identification: 1 enrolled "
              f"image per unseen class + {cfg.n_distractors} distractors, mean "
              f"over {cfg.n_enrol} enrolments. Budget {cfg.epochs} epochs of the "
              f"seen training set for every method.")
    stem.with_suffix(".md").write_text(verify_markdown(rows, cfg, list(args.seeds),
                                                       header))
    plot_roc(curves, stem.with_suffix(".png"),
             f"{cfg.name}: ROC on the unseen classes (each seed its own split)")
    print("wrote", stem.with_suffix(".md"))


def run_attributes(args, cfg):
    X_tr, X_te, y_tr, y_te = load_images(cfg.name)
    rows, rates = [], []
    for seed in args.seeds:
        data = mosaic_split(X_tr, y_tr, X_te, y_te, cfg, seed)
        n = len(data.Y_train)
        rates.append(data.Y_train.mean(axis=0))
        print(f"seed {seed}: {n} training mosaics, {data.X_train.shape[1]} pixels, "
              f"positive rates {np.round(100 * rates[-1], 1).tolist()}", flush=True)
        for name, est in attribute_methods(cfg, n, seed).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                tic = time.perf_counter()
                est.fit(data.X_train, data.Y_train)
                dur = time.perf_counter() - tic
                bacc = per_attribute_bacc(data.Y_test, est.predict(data.X_test))
            rows.append(dict(method=name, seed=seed, bacc=bacc, fit_s=dur))
            print(f"  {name}: mean bacc {100 * bacc.mean():.2f} "
                  f"({np.round(100 * bacc, 1).tolist()}) fit {dur:.0f}s", flush=True)
    # make_mosaics' default rates fall with the column (50 % to 2 %): the
    # columns are already in the order of the rates, whatever the seed
    rates = np.mean(rates, axis=0)
    stem = results_dir("face") / f"face_attributes_{cfg.name}"
    csv_rows = [dict(dataset=cfg.name, seed=r["seed"], method=r["method"],
                     attribute_rank=j + 1, positive_rate=round(rates[j], 4),
                     balanced_accuracy=round(r["bacc"][j], 4),
                     fit_s=round(r["fit_s"], 2))
                for r in rows for j in range(len(rates))]
    write_csv(csv_rows, stem.with_suffix(".csv"))
    header = (f"# Imbalanced multi-label attributes, {cfg.name} mosaics: seeds "
              f"{list(args.seeds)}\n\nCommand: `python benchmarks/bench_face_tasks.py "
              f"attributes{' --quick' if args.quick else ''} --seeds "
              f"{' '.join(map(str, args.seeds))}`. 2x2 mosaics, "
              f"{cfg.n_mosaics[0]} training / {cfg.n_mosaics[2]} test, 10 "
              f"attributes; budget {cfg.ml_epochs} epochs for every method; "
              "balanced accuracy of each attribute, thresholds: logit > 0 for the "
              "BCE nets, the k-nearest-cluster rule for CLMLE.")
    stem.with_suffix(".md").write_text(attributes_markdown(rows, rates, header))
    plot_attributes(rows, rates, stem.with_suffix(".png"),
                    f"{cfg.name} mosaics: balanced accuracy per attribute")
    print("wrote", stem.with_suffix(".md"))


def _configs(args):
    """CLMLE settings to try: the current ones ("") unless skipped, + extras."""
    return ([] if args.skip_current else [""]) + list(args.configs)


def run_tune_verify(args, cfg):
    X_tr, _, y_tr, _ = load_images(cfg.name)
    rows = []
    for seed in args.seeds:
        split = validation_open_set(X_tr, y_tr, cfg, seed)
        n = len(split.y_train)
        print(f"tune seed {seed}: {n} training images, counts "
              f"{np.bincount(split.y_train).tolist()}, validation classes "
              f"{split.unseen_classes}", flush=True)
        vcfg = replace(cfg, n_pairs=min(cfg.n_pairs, 10000))
        todo = [("CLMLE", c) for c in _configs(args)]
        if args.baselines:
            todo = [(m, "") for m in ("CE", "weighted CE", "CosFace", "ArcFace")
                    + (("triplet",) if has_triplet() else ())] + todo
        for name, config in todo:
            overrides = eval(f"dict({config})") if config else {}
            if name == "CLMLE":
                est = make_clmle(cfg, n, seed, **overrides)
            else:
                est = verify_methods(cfg, n, len(np.unique(split.y_train)),
                                     seed)[name]
            dur, (Z, Zd) = fit_embed(est, split.X_train, split.y_train,
                                     split.X_eval, split.X_distract)
            rep, _ = evaluate_open_set(Z, split.y_eval, Zd, vcfg, seed)
            rows.append(dict(dataset=cfg.name, seed=seed, method=name,
                             config=config, **{k: round(v, 4) for k, v in rep.items()},
                             fit_s=round(dur, 1)))
            print(rows[-1], flush=True)
    write_csv(rows, results_dir("face") / "face_tuning_verify.csv", append=True)


def run_tune_attributes(args, cfg):
    X_tr, X_te, y_tr, y_te = load_images(cfg.name)
    rows = []
    for seed in args.seeds:
        data = mosaic_split(X_tr, y_tr, X_te, y_te, cfg, seed)
        n = len(data.Y_train)
        if args.baselines:
            for loss in ("weighted_ce", "ce"):
                est = make_net(cfg, seed, loss, multilabel=True)
                est.fit(data.X_train, data.Y_train)
                b = per_attribute_bacc(data.Y_val, est.predict(data.X_val)).mean()
                rows.append(dict(dataset=cfg.name, seed=seed, method=loss, config="",
                                 classifier="", val_bacc=round(b, 4)))
                print(rows[-1], flush=True)
        for config in _configs(args):
            overrides = eval(f"dict({config})") if config else {}
            emb = make_clmle(cfg, n, seed, multilabel=True, **overrides)
            dur, (Ztr, Zva) = fit_embed(emb, data.X_train, data.Y_train,
                                        data.X_train, data.X_val)
            scores = knc_grid_scores(Ztr, data.Y_train, Zva, data.Y_val,
                                     sorted({16.0, emb.scale}),
                                     cfg.knc_cluster_sizes, seed)
            best = max(scores, key=scores.get)
            for knc, acc in scores.items():
                rows.append(dict(dataset=cfg.name, seed=seed, method="CLMLE + KNC",
                                 config=config, classifier=str(dict(knc)),
                                 val_bacc=round(acc, 4)))
            # diagnostic: is the embedding or the rule the bottleneck?
            d = Ztr.shape[1] // data.Y_train.shape[1]
            logreg = np.column_stack([
                LogisticRegression(class_weight="balanced", max_iter=1000)
                .fit(Ztr[:, j * d:(j + 1) * d], data.Y_train[:, j])
                .predict(Zva[:, j * d:(j + 1) * d])
                for j in range(data.Y_train.shape[1])])
            lr_bacc = per_attribute_bacc(data.Y_val, logreg).mean()
            rows.append(dict(dataset=cfg.name, seed=seed, method="CLMLE + LogReg",
                             config=config, classifier="balanced, per block",
                             val_bacc=round(lr_bacc, 4)))
            print(f"CLMLE {config!r} fit {dur:.0f}s best {dict(best)} "
                  f"{scores[best]:.4f}; balanced LogReg per block {lr_bacc:.4f}",
                  flush=True)
    write_csv(rows, results_dir("face") / "face_tuning_attributes.csv", append=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["verify", "attributes", "tune-verify",
                                         "tune-attributes"])
    parser.add_argument("--quick", action="store_true",
                        help="scikit-learn's digits instead of Fashion-MNIST")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configs", nargs="*", default=[],
                        help='extra CLMLE settings for tune-*, e.g. "scale=32"')
    parser.add_argument("--skip-current", action="store_true",
                        help="tune-*: do not re-run the current CLMLE settings")
    parser.add_argument("--baselines", action="store_true",
                        help="tune-*: also score the baselines on validation")
    args = parser.parse_args(argv)
    cfg = CONFIGS["digits" if args.quick else "fmnist"]
    torch.set_num_threads(args.threads)
    mode = {"verify": run_verify, "attributes": run_attributes,
            "tune-verify": run_tune_verify,
            "tune-attributes": run_tune_attributes}[args.mode]
    with exclusive_run(f"bench_face_tasks.py {args.mode}"), \
            threadpool_limits(args.threads):
        mode(args, cfg)


if __name__ == "__main__":
    main()
