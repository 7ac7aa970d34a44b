"""Benchmark CLMLEEmbedder: training throughput and long-tailed Fashion-MNIST.

Four modes (all on CPU, torch and BLAS held to 2 threads by default)::

    python benchmarks/bench_embedder.py throughput   # samples/s vs plain CE
    python benchmarks/bench_embedder.py tune         # validation split, seed 0
    python benchmarks/bench_embedder.py eval         # 3 seeds, balanced test set
    python benchmarks/bench_embedder.py schedule     # rounds: val. accuracy and samples/s

Data: the Fashion-MNIST training set made long-tailed with the exponential
profile from 5,000 down to 50 images a class (imbalance ratio 100, 12,406
images, each seed draws its own subset); the full balanced 10,000-image test
set; pixels scaled to [0, 1].  Backbone: MLP 784-256-128 for every method;
cross-entropy heads are 128 -> 10, CLMLE's head is 128 -> 64 (unit norm).
Budget: the same number of training samples seen by every method
(``EPOCHS`` epochs of the long-tailed set; CLMLE's warm-up epochs count).

``tune`` carves a stratified 20 % validation split out of the long-tailed
training set of seed 0 and never looks at the test set; ``eval`` uses the
settings picked there (``CLMLE_PARAMS`` / ``KNC_PARAMS`` below).  Results are
appended to ``benchmarks/results/embedder/embedder/embedder.csv``; ``embedder.md`` is written
by hand from them.
"""

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    add_busy_argument,
    check_quiet,
    exclusive_run,
    results_dir,
    steps_per_round,
    write_csv,
)
from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier  # noqa: E402
from sklearn_clmle.datasets import load_fashion_mnist, make_long_tailed  # noqa: E402
from sklearn_clmle.embedding.nn import MLP, SmallCNN  # noqa: E402

EPOCHS = 15
HIDDEN = (256, 128)
# Picked by `tune` on the validation split (see embedder.md).
WARMUP = 5
CLMLE_PARAMS = dict(scale=64.0, margin_between="auto", margin_within="auto")
KNC_PARAMS = dict(cluster_size=10, n_neighbors=10, aggregate="min",
                  prior_correction=1.0, scale=16.0)


def load(seed, imbalance_ratio=100):
    Xtr, ytr = load_fashion_mnist(subset="train", return_X_y=True)
    Xte, yte = load_fashion_mnist(subset="test", return_X_y=True)
    Xlt, ylt = make_long_tailed(Xtr, ytr, imbalance_ratio=imbalance_ratio,
                                n_max=5000, random_state=seed)
    scale = np.float32(1 / 255)
    return Xlt.astype(np.float32) * scale, ylt, Xte.astype(np.float32) * scale, yte


class _Images(nn.Module):
    """Flat 784-pixel rows to (n, 1, 28, 28) images for the CNN backbone."""

    def forward(self, x):
        return x.reshape(x.shape[0], 1, 28, 28)


def backbone(name):
    if name == "cnn":
        return nn.Sequential(_Images(), SmallCNN(1, HIDDEN[-1]))
    return MLP(28 * 28, HIDDEN)


def train_ce(X, y, *, epochs, batch_size=128, weighted=False, seed=0, lr=1e-3,
             net="mlp"):
    """Plain (or class-weighted) cross-entropy, backbone + 128-10 head, Adam."""
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    n_classes = int(y.max()) + 1
    net = nn.Sequential(backbone(net), nn.Linear(HIDDEN[-1], n_classes))
    counts = np.bincount(y, minlength=n_classes)
    w = counts.sum() / (n_classes * counts) if weighted else np.ones(n_classes)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(len(y)))
        for start in range(0, len(y), batch_size):
            idx = perm[start:start + batch_size]
            loss = loss_fn(net(X_t[idx]), y_t[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def predict_ce(net, X):
    return np.concatenate([net(torch.from_numpy(X[i:i + 4096])).argmax(1).numpy()
                           for i in range(0, len(X), 4096)])


def make_embedder(n, seed, *, epochs=EPOCHS, warmup=WARMUP, **params):
    n_rounds = params.pop("n_rounds", 5)
    batch = params.get("n_clusters_per_batch", 12) * params.get("n_samples_per_cluster", 20)
    return CLMLEEmbedder(
        hidden_units=HIDDEN, embedding_dim=64, warmup_epochs=warmup,
        n_rounds=n_rounds,
        steps_per_round=steps_per_round(n, epochs, warmup, n_rounds, batch),
        random_state=seed, **params,
    )


def write_rows(rows, name="embedder.csv"):
    write_csv(rows, results_dir("embedder") / name, append=True)


# -- modes -------------------------------------------------------------------

def throughput(args):
    """Samples seen per second over a whole fit, CLMLE vs plain CE, batch 240."""
    machine = check_quiet(args.allow_busy, "bench_embedder.py throughput")
    with exclusive_run("bench_embedder.py throughput"):
        X, y, _, _ = load(0)
        n, epochs, rows = len(y), args.epochs, []
        # torch.optim imports torch._dynamo (seconds) on first use: not training
        torch.optim.Adam(nn.Linear(1, 1).parameters())
        warmup = args.warmup
        extra = {} if args.backbone == "mlp" else dict(input_shape=(28, 28))
        for rep in range(args.repeats):
            tic = time.perf_counter()
            train_ce(X, y, epochs=epochs, batch_size=240, seed=rep, net=args.backbone)
            ce = epochs * n / (time.perf_counter() - tic)
            emb = make_embedder(n, rep, epochs=epochs, warmup=warmup, **extra,
                                **CLMLE_PARAMS)
            tic = time.perf_counter()
            emb.fit(X, y)
            dur = time.perf_counter() - tic
            seen = emb.warmup_epochs * n + emb.n_rounds * emb.steps_per_round * 240
            cl = seen / dur
            clus = sum(r.get("clustering_dur", 0) for r in emb.history_)
            rows.append(dict(mode="throughput", backbone=args.backbone,
                             threads=args.threads, rep=rep, epochs=epochs, warmup=warmup,
                             ce_samples_per_s=round(ce), clmle_samples_per_s=round(cl),
                             ratio=round(cl / ce, 3),
                             clmle_extract_and_cluster_s=round(clus, 2),
                             **machine.fields()))
            print(rows[-1], flush=True)
        write_rows(rows, "embedder_throughput.csv")


KNC_GRID = dict(
    cluster_size=(10, 50, 200),
    n_neighbors=(5, 10, 30),
    aggregate=("min", "max"),
    prior_correction=(0.0, 1.0, 2.0, 4.0),
)


def evaluate_embedding(emb, Xtr, ytr, Xev, yev):
    """Validation balanced accuracy of KNearestClusterClassifier over KNC_GRID
    (scale: 16 and the embedder's); one clustering per cluster_size."""
    Ztr, Zev = emb.transform(Xtr), emb.transform(Xev)
    out = {}
    for size in KNC_GRID["cluster_size"]:
        clf = KNearestClusterClassifier(cluster_size=size, random_state=0).fit(Ztr, ytr)
        for nb, sc, agg, tau in itertools.product(
            KNC_GRID["n_neighbors"], sorted({16.0, emb.scale}), KNC_GRID["aggregate"],
            KNC_GRID["prior_correction"],
        ):
            clf.set_params(n_neighbors=nb, scale=sc, aggregate=agg, prior_correction=tau)
            key = (("aggregate", agg), ("cluster_size", size), ("n_neighbors", nb),
                   ("prior_correction", tau), ("scale", sc))
            out[key] = balanced_accuracy_score(yev, clf.predict(Zev))
    return out


def tune(args):
    X, y, _, _ = load(0)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, stratify=y,
                                          random_state=0)
    rows = []
    for name, weighted in (("CE", False), ("weighted CE", True)):
        net = train_ce(Xtr, ytr, epochs=args.epochs, weighted=weighted)
        rows.append(dict(mode="tune", method=name, config="",
                         val_bacc=balanced_accuracy_score(yva, predict_ce(net, Xva))))
        print(rows[-1], flush=True)
    configs = [dict(CLMLE_PARAMS)]
    for extra in args.configs:
        configs.append({**CLMLE_PARAMS, **eval(f"dict({extra})")})
    for params in configs:
        params = dict(params)
        warmup = params.pop("warmup", WARMUP)
        tic = time.perf_counter()
        emb = make_embedder(len(ytr), 0, epochs=args.epochs, warmup=warmup,
                            **params).fit(Xtr, ytr)
        dur = time.perf_counter() - tic
        scores = evaluate_embedding(emb, Xtr, ytr, Xva, yva)
        best = max(scores, key=scores.get)
        cfg = f"warmup={warmup}, " + ", ".join(f"{k}={v}" for k, v in params.items())
        for knc, acc in scores.items():
            rows.append(dict(mode="tune", method="CLMLE+KNC", config=f"{cfg}; {dict(knc)}",
                             val_bacc=acc))
        print(f"{cfg} fit {dur:.0f}s best {dict(best)} {scores[best]:.4f} "
              f"last-round loss {emb.history_[-1, 'train_loss']:.3f}", flush=True)
    write_rows(rows)


def evaluate(args):
    rows = []
    for seed in args.seeds:
        X, y, Xte, yte = load(seed)
        res = {}
        for name, weighted in (("CE", False), ("weighted CE", True)):
            net = train_ce(X, y, epochs=args.epochs, weighted=weighted, seed=seed)
            res[name] = balanced_accuracy_score(yte, predict_ce(net, Xte))
        params = dict(CLMLE_PARAMS)
        pipe = Pipeline([
            ("embed", make_embedder(len(y), seed, epochs=args.epochs, **params)),
            ("clf", KNearestClusterClassifier(random_state=0, **KNC_PARAMS)),
        ]).fit(X, y)
        res["CLMLE + KNearestCluster"] = balanced_accuracy_score(yte, pipe.predict(Xte))
        for name, acc in res.items():
            rows.append(dict(mode="eval", method=name, seed=seed, epochs=args.epochs,
                             test_bacc=round(100 * acc, 2)))
            print(rows[-1], flush=True)
    write_rows(rows)


def schedule(args):
    """Re-clustering interval: validation accuracy and whole-fit throughput.

    For each ``n_rounds`` (same budget, so fewer rounds re-cluster less
    often) and each seed: plain CE and CLMLE fit on the seed's 80 % training
    split, alternating, timed; CLMLE + KNearestClusterClassifier(KNC_PARAMS)
    scored on the 20 % validation split.  The test set is not used.
    """
    machine = check_quiet(args.allow_busy, "bench_embedder.py schedule")
    with exclusive_run("bench_embedder.py schedule"):
        torch.optim.Adam(nn.Linear(1, 1).parameters())  # imports torch._dynamo
        rows = []
        for n_rounds in args.rounds:
            for seed in args.seeds:
                X, y, _, _ = load(seed)
                Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, stratify=y,
                                                      random_state=seed)
                n = len(ytr)
                tic = time.perf_counter()
                train_ce(Xtr, ytr, epochs=args.epochs, batch_size=240, seed=seed)
                ce = args.epochs * n / (time.perf_counter() - tic)
                emb = make_embedder(n, seed, epochs=args.epochs, n_rounds=n_rounds,
                                    **CLMLE_PARAMS)
                tic = time.perf_counter()
                emb.fit(Xtr, ytr)
                dur = time.perf_counter() - tic
                seen = emb.warmup_epochs * n + emb.n_rounds * emb.steps_per_round * 240
                clus = sum(r.get("clustering_dur", 0) for r in emb.history_)
                clf = KNearestClusterClassifier(random_state=0, **KNC_PARAMS)
                clf.fit(emb.transform(Xtr), ytr)
                acc = balanced_accuracy_score(yva, clf.predict(emb.transform(Xva)))
                rows.append(dict(mode="schedule", threads=args.threads, epochs=args.epochs,
                                 n_rounds=n_rounds, steps_per_round=emb.steps_per_round,
                                 seed=seed, val_bacc=round(100 * acc, 2),
                                 ce_samples_per_s=round(ce),
                                 clmle_samples_per_s=round(seen / dur),
                                 ratio=round(seen / dur / ce, 3),
                                 clmle_extract_and_cluster_s=round(clus, 2),
                             **machine.fields()))
                print(rows[-1], flush=True)
        write_rows(rows, "embedder_schedule.csv")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["throughput", "tune", "eval", "schedule"])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backbone", choices=["mlp", "cnn"], default="mlp",
                        help="throughput: MLP 784-256-128 or the default SmallCNN")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch and BLAS threads (1 when the CPUs are shared)")
    parser.add_argument("--warmup", type=int, default=WARMUP,
                        help="throughput: CLMLE's warm-up epochs (part of --epochs)")
    parser.add_argument("--rounds", type=int, nargs="+", default=[1, 2, 3, 5, 10],
                        help="schedule: the n_rounds to compare (same budget)")
    parser.add_argument("--configs", nargs="*", default=[],
                        help='extra CLMLE settings for `tune`, e.g. "scale=32, warmup=3"')
    add_busy_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        {"throughput": throughput, "tune": tune, "eval": evaluate,
         "schedule": schedule}[args.mode](args)


if __name__ == "__main__":
    main()
