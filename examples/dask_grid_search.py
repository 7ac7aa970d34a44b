"""
Search the margins on a dask.distributed cluster
=================================================

``GridSearchCV`` over ``CLMLEEmbedder``'s margins and the classifier's
neighbours, with joblib's dask backend: every fit runs on a worker of a
``dask.distributed`` cluster.  Without an address a ``LocalCluster`` of two
worker processes is started on this machine; ``--scheduler tcp://host:8786``
sends the same search to a running scheduler (its workers need
sklearn-clmle installed: ``pip install sklearn-clmle[dask]``).

Run: ``python examples/dask_grid_search.py [--scheduler ADDRESS]``
"""

# %%
import argparse

import numpy as np
from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier
from sklearn_clmle.datasets import make_long_tailed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--scheduler", help="address of a running dask scheduler")
    args = parser.parse_args(argv)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError(
            "This example needs dask.distributed: pip install sklearn-clmle[dask]"
        ) from exc

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y,
                                                        random_state=0)
    X_train, y_train = make_long_tailed(X_train, y_train, imbalance_ratio=10,
                                        random_state=0)
    pipe = make_pipeline(CLMLEEmbedder(epochs=30, device="cpu", random_state=0),
                         KNearestClusterClassifier(random_state=0))
    grid = {"clmleembedder__margin_between": [0.1, 0.3],
            "clmleembedder__margin_within": [0.0, 0.05],
            "knearestclusterclassifier__n_neighbors": [5, 10]}
    search = GridSearchCV(pipe, grid, cv=3, scoring="balanced_accuracy", n_jobs=-1)

    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    try:
        print("workers:", len(client.scheduler_info()["workers"]))
        with parallel_backend("dask"):
            search.fit(X_train, y_train)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    print("best:", search.best_params_,
          f"cross-validated balanced accuracy {search.best_score_:.3f}")
    print(f"test balanced accuracy {search.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    main()
