"""Worker of ``test_distributed.py``: fits the torch estimators in 2 (or more)
processes joined by a gloo process group on the loopback, and saves what
each rank ends with.

Run as ``python ddp_worker.py OUTDIR PORT [WORLD_SIZE]``; ``cases()`` is also
what the test fits in one process, for the reference.  Rank ``r`` writes
``OUTDIR/rank{r}.npz``: per case, the transform (or decision function) of
the training set, the flattened parameters, ``world_size_``, and for the
cases expected to fail the error message.
"""

import os
import sys

import numpy as np


def data():
    """400 digits (8 x 8, scaled to [0, 1]), long-tailed by a cut of two classes."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    keep = np.flatnonzero((y < 8) | (np.arange(len(y)) % 4 == 0))[:400]
    return X[keep], y[keep]


def cases():
    """``name -> (estimator, X, y, output method)``; odd batch sizes give
    uneven slices, ``lt_empty_slice``'s last batch has one row (an empty
    slice on rank 0)."""
    from sklearn_clmle import CLMLEEmbedder, MetricEmbedder
    from sklearn_clmle.embedding import LongTailNetClassifier

    X, y = data()
    Y = np.c_[y % 2, y < 3]
    common = dict(device="cpu", random_state=0)
    small = dict(hidden_units=(32,), embedding_dim=8, n_rounds=2, warmup_epochs=1)
    return {
        "clmle_mlp": (CLMLEEmbedder(**small, steps_per_round=8, cluster_size=10,
                                    n_clusters_per_batch=5, n_samples_per_cluster=5,
                                    **common), X, y, "transform"),
        "clmle_cnn": (CLMLEEmbedder(
            input_shape=(8, 8), hidden_units=(16,), embedding_dim=8, n_rounds=2,
            warmup_epochs=1, steps_per_round=4, n_clusters_per_batch=3,
            n_samples_per_cluster=7, margin_between=0.1, margin_within=0.01,
            **common), X, y, "transform"),
        "clmle_multilabel": (CLMLEEmbedder(**small, steps_per_round=5,
                                           softmax_weight=0.0, **common),
                             X, Y, "transform"),
        "lt_weighted_ce": (LongTailNetClassifier(
            hidden_units=(32,), loss="weighted_ce", epochs=3, batch_size=37,
            learning_rate=1e-2, **common), X, y, "decision_function"),
        "lt_empty_slice": (LongTailNetClassifier(
            hidden_units=(32,), loss="ldam_drw", epochs=3, batch_size=57,
            learning_rate=1e-2, **common), X, y, "decision_function"),
        "metric_lmle": (MetricEmbedder(
            loss="lmle", **small, steps_per_round=5, cluster_size=20,
            n_clusters_per_batch=4, n_samples_per_cluster=5, **common),
            X, y, "transform"),
        "metric_triplet": (MetricEmbedder(
            loss="triplet", **small, steps_per_round=5, n_classes_per_batch=3,
            n_samples_per_class=5, **common), X, y, "transform"),
    }


def flat_params(est):
    return np.concatenate([p.detach().numpy().ravel()
                           for p in est.module_.state_dict().values()])


def step_losses(est):
    return np.concatenate([np.ravel(row["step_loss"]) for row in est.history_])


def run_case(est, X, y, method):
    """Fit; the outputs on ``X``, the parameters, ``world_size_`` and the
    loss of every step."""
    est.fit(X, y)
    return (getattr(est, method)(X), flat_params(est), est.world_size_,
            step_losses(est))


def _worker(rank, world_size, outdir, port):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=world_size)
    from sklearn_clmle import CLMLEEmbedder

    out = {}

    def record(name, est, X, y, method):
        for key, value in zip(("out", "params", "world", "losses"),
                              run_case(est, X, y, method)):
            out[f"{name}/{key}"] = value

    for name, case in cases().items():
        record(name, *case)
    # the opt-out: an independent plain fit on each rank
    est, X, y, method = cases()["clmle_mlp"]
    record("optout", est.set_params(distributed=False), X, y, method)
    # random_state=None: rank 0's seed for all
    est, X, y, method = cases()["clmle_mlp"]
    record("noseed", est.set_params(random_state=None), X, y, method)
    # refusals, on every rank
    tiny = dict(hidden_units=(8,), n_rounds=1, steps_per_round=1, warmup_epochs=1,
                device="cpu", random_state=0)
    errors = {}
    try:
        CLMLEEmbedder(**tiny).fit(X + rank, y)
    except ValueError as exc:
        errors["different_data"] = str(exc)
    bn = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8),
                             torch.nn.BatchNorm1d(8))
    try:
        CLMLEEmbedder(bn, **tiny).fit(X, y)
    except ValueError as exc:
        errors["batchnorm"] = str(exc)
    # embeddings checked on rank 0 only: its error reaches rank 1
    class NaNModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(64, 8)

        def forward(self, x):
            return self.linear(x.reshape(len(x), -1)) * float("nan")

    try:
        CLMLEEmbedder(NaNModule(), **dict(tiny, warmup_epochs=0)).fit(X, y)
    except FloatingPointError as exc:
        errors["nan_embeddings"] = " | ".join([str(exc), *getattr(exc, "__notes__", [])])
    # the clusterings' tasks, shared among the ranks and gathered on each
    from sklearn_clmle.embedding.training.distributed import data_parallel

    dp = data_parallel("auto", "cpu")
    ran = []

    def square(t):
        ran.append(t)
        return t * t, rank

    out["share/results"] = np.array(dp.map_tasks(square, list(range(5)),
                                                 [5, 1, 4, 2, 3]))
    out["share/ran"] = np.array(ran)

    def failing(t):
        if t in (3, 4):
            raise ValueError(f"task {t} failed on rank {rank}")
        return t

    try:
        dp.map_tasks(failing, list(range(5)), [5, 1, 4, 2, 3])
    except ValueError as exc:
        errors["task"] = " | ".join([str(exc), *getattr(exc, "__notes__", [])])
    for key, msg in errors.items():
        out["error/" + key] = np.array(msg)
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **out)
    dist.barrier()  # no rank tears the group down while another still talks
    dist.destroy_process_group()


if __name__ == "__main__":
    import torch.multiprocessing as mp

    outdir, port = sys.argv[1], int(sys.argv[2])
    world_size = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    mp.spawn(_worker, args=(world_size, outdir, port), nprocs=world_size)
