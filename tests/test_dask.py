"""A hyper-parameter search on a dask.distributed cluster.

joblib's dask backend sends the fits of ``GridSearchCV`` to the workers of a
``LocalCluster`` (two worker processes on the loopback here; the same code
points at a real scheduler's address).  The search must give exactly what it
gives on one machine: the estimators are cloned, pickled to the workers and
fitted there with the same seeds.
"""

import pickle

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

distributed = pytest.importorskip("distributed")
pytest.importorskip("torch")

from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier  # noqa: E402


def small_problem():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [40, 15, 8])
    X = (rng.normal(size=(len(y), 6)) + 2.5 * np.eye(3, 6)[y]).astype(np.float32)
    return X, y


def search():
    embedder = CLMLEEmbedder(hidden_units=(16,), embedding_dim=4, cluster_size=5,
                             n_clusters_per_batch=3, n_samples_per_cluster=4,
                             n_rounds=1, steps_per_round=3, warmup_epochs=1,
                             device="cpu", random_state=0)
    pipe = make_pipeline(embedder, KNearestClusterClassifier(
        cluster_size=5, scale=16.0, prior_correction=1.0, aggregate="max",
        head="none", random_state=0))
    grid = {"clmleembedder__margin_between": [0.05, 0.3],
            "clmleembedder__margin_within": [0.0, 0.05]}
    return GridSearchCV(pipe, grid, cv=2, scoring="balanced_accuracy", n_jobs=-1)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_grid_search_on_a_dask_cluster_matches_one_machine(client):
    X, y = small_problem()
    local = search().fit(X, y)
    with parallel_backend("dask"):
        remote = search().fit(X, y)
    # the fits ran on the workers ...
    assert len(client.scheduler_info()["workers"]) == 2
    # ... and gave the same scores and the same choice
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))


def test_fitted_pipeline_pickles_to_a_worker_and_back(client):
    X, y = small_problem()
    fitted = search().set_params(n_jobs=1).fit(X, y).best_estimator_
    future = client.submit(lambda est, X: est.predict(X), fitted, X, pure=False)
    np.testing.assert_array_equal(future.result(timeout=60), fitted.predict(X))
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again[0].transform(X), fitted[0].transform(X))
