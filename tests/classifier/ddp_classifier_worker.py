"""Worker of ``test_clmle_classifier_distributed.py``: fits a tiny
``CLMLEClassifier`` in 2 processes joined by a gloo process group on the
loopback (as ``torchrun --nproc_per_node=2`` would), once with
``random_state=None``, and saves what each rank ends with.

Run as ``python ddp_classifier_worker.py OUTDIR PORT``; rank ``r`` writes
``OUTDIR/rank{r}.npz``.
"""

import os
import sys

import numpy as np


def data():
    """240 digits, three classes, long-tailed (120 / 80 / 40)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == c)[:n]
                           for c, n in ((0, 120), (1, 80), (2, 40))])
    return (X[keep] / 16).astype(np.float32), y[keep]


def classifier(**params):
    from sklearn_clmle import CLMLEClassifier, CLMLEEmbedder

    emb = CLMLEEmbedder(hidden_units=(16,), embedding_dim=8, cluster_size=10,
                        n_clusters_per_batch=4, n_samples_per_cluster=5,
                        warmup_epochs=2, n_rounds=2, steps_per_round=4,
                        device="cpu")
    return CLMLEClassifier(emb, candidates=["rule", "linear", "softmax"],
                           margin_levels=["auto"], **params)


def _worker(rank, world_size, outdir, port):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=world_size)
    X, y = data()
    out = {}
    for name, params in (("seeded", dict(random_state=0)),
                         ("noseed", dict(random_state=None)),
                         ("folds", dict(random_state=0, cv=2)),
                         ("verbose", dict(random_state=0, verbose=1))):
        clf = classifier(**params).fit(X, y)
        out[f"{name}/proba"] = clf.predict_proba(X)
        out[f"{name}/selected"] = np.array(clf.selected_)
        out[f"{name}/world"] = np.array(clf.embedder_.world_size_)
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **out)
    dist.barrier()  # no rank tears the group down while another still talks
    dist.destroy_process_group()


if __name__ == "__main__":
    import torch.multiprocessing as mp

    outdir, port = sys.argv[1], int(sys.argv[2])
    mp.spawn(_worker, args=(2, outdir, port), nprocs=2)
