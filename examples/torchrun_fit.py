"""
Train CLMLEEmbedder data-parallel under torchrun
================================================

Launch one process per CPU core or GPU::

    torchrun --nproc_per_node=2 examples/torchrun_fit.py [--output model.joblib]

and on several machines (the same command on each, ``--node_rank`` 0 and 1)::

    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=4 \\
        --rdzv_backend=c10d --rdzv_endpoint=HOST0:29500 examples/torchrun_fit.py

The script initialises the default process group (``nccl`` on GPUs, with
``device=f"cuda:{local_rank}"``; ``gloo`` on CPUs, one torch thread a
process), then calls ``fit`` with the same ``X, y`` on every rank:
``CLMLEEmbedder`` sees the process group and trains one model data-parallel
(``distributed="auto"``), each rank on its slice of every batch.  Every rank
returns from ``fit`` with the same model; rank 0 scores it on held-out
images and saves it.  Run without torchrun (``python
examples/torchrun_fit.py``) it is a plain 1-process fit of the same model.
With ``--classifier`` the script fits ``CLMLEClassifier`` instead: every
rank draws rank 0's hold-out, and each of its embedders trains
data-parallel.
"""

# %%
import argparse
import os

import joblib
import numpy as np
import torch
import torch.distributed as dist
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from sklearn_clmle import CLMLEClassifier, CLMLEEmbedder, KNearestClusterClassifier
from sklearn_clmle.datasets import make_long_tailed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--output", help="where rank 0 saves the fitted model")
    parser.add_argument("--classifier", action="store_true",
                        help="fit CLMLEClassifier (embedder and classifier chosen "
                             "on held-out rows) instead")
    args = parser.parse_args(argv)

    # torchrun sets these; without it, one process and no process group
    launched = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device, backend = f"cuda:{local_rank}", "nccl"
    else:
        device, backend = "cpu", "gloo"
        # one core per process
        local_size = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_size))
    if launched:
        dist.init_process_group(backend)  # address, rank, size from torchrun
    rank = dist.get_rank() if launched else 0

    # the same full training set on every rank (the estimator slices batches)
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32).reshape(-1, 8, 8)  # 8 x 8 images: the CNN
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y,
                                                        random_state=0)
    X_train, y_train = make_long_tailed(X_train, y_train, imbalance_ratio=10,
                                        random_state=0)

    emb = CLMLEEmbedder(epochs=30, device=device, random_state=0)
    if args.classifier:  # its embedders train data-parallel, on every rank
        model = CLMLEClassifier(emb, random_state=0).fit(X_train, y_train)
        emb = model.embedder_
    else:
        emb.fit(X_train, y_train)  # data-parallel when launched with torchrun

    if rank == 0:
        if args.classifier:
            pred = model.predict(X_test)
        else:
            clf = KNearestClusterClassifier(random_state=0)
            clf.fit(emb.transform(X_train), y_train)
            pred = clf.predict(emb.transform(X_test))
        bacc = balanced_accuracy_score(y_test, pred)
        how = f"{backend}, {device}" if launched else f"no process group, {device}"
        print(f"trained by {emb.world_size_} process(es) ({how}); "
              f"{len(y_train)} long-tailed training images; test balanced "
              f"accuracy {bacc:.3f}")
        if args.output:  # the modules are stored on the CPU
            joblib.dump(model if args.classifier else emb, args.output)
            print(f"saved to {args.output}")
    if launched:
        dist.barrier()  # every rank done before the group is torn down
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
