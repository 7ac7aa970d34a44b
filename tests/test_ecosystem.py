"""The estimators among scikit-learn's tools: pickling across versions,
interrupted fits, pandas output and feature names, grid searches."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from sklearn_clmle import (
    CLMLEEmbedder,
    KNearestClusterClassifier,
    MetricEmbedder,
    SphericalKMeans,
)
from sklearn_clmle.cluster import _spherical_kmeans_core
from sklearn_clmle.exceptions import InconsistentVersionWarning
from sklearn_clmle.utils import _persistence

TINY = dict(CLMLEEmbedder._test_params, random_state=0)


def blobs(n_per=(30, 12, 6), d=6, seed=0):
    rng = np.random.default_rng(seed)
    means = 3 * rng.normal(size=(len(n_per), d))
    y = np.repeat(np.arange(len(n_per)), n_per)
    return (means[y] + rng.normal(size=(len(y), d))).astype(np.float32), y


def fitted_estimators():
    X, y = blobs()
    return X, y, [
        SphericalKMeans(3, random_state=0).fit(X),
        KNearestClusterClassifier(cluster_size=5, random_state=0).fit(X, y),
        CLMLEEmbedder(**TINY).fit(X, y),
        MetricEmbedder(**MetricEmbedder._test_params, loss="lmle",
                       random_state=0).fit(X, y),
    ]


def test_pickle_round_trip_and_version_warning(monkeypatch):
    X, y, estimators = fitted_estimators()
    for est in estimators:
        blob = pickle.dumps(est)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            loaded = pickle.loads(blob)  # same version: no warning
        out = "transform" if hasattr(est, "transform") else "predict"
        assert_allclose(getattr(loaded, out)(X), getattr(est, out)(X))
        monkeypatch.setattr(_persistence, "__version__", "999.0")
        with pytest.warns(InconsistentVersionWarning, match=type(est).__name__):
            pickle.loads(blob)
        monkeypatch.undo()


def test_embedder_pickle_holds_the_module_on_cpu():
    X, y = blobs()
    emb = CLMLEEmbedder(**TINY).fit(X, y)
    state = emb.__getstate__()
    assert all(p.device.type == "cpu" for p in state["module_"].parameters())


class _Bomb(torch.nn.Module):
    """A backbone whose forward raises KeyboardInterrupt on call ``at``."""

    def __init__(self, at):
        super().__init__()
        self.at = at
        self.calls = 0
        self.linear = torch.nn.Linear(6, 8)

    def forward(self, x):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.linear(x)


@pytest.mark.parametrize("at", [3, 10])  # during warm-up, during round 1
def test_interrupted_embedder_fit_leaves_it_unfitted(at):
    X, y = blobs()
    emb = CLMLEEmbedder(module=_Bomb(at), **TINY)
    state = torch.random.get_rng_state()
    with pytest.raises(KeyboardInterrupt):
        emb.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(emb)
    assert not [k for k in vars(emb) if k.endswith("_")]
    assert torch.equal(torch.random.get_rng_state(), state)
    # and a fresh fit works afterwards
    emb.set_params(module=None).fit(X, y)
    assert emb.transform(X).shape == (len(X), TINY["embedding_dim"])


def test_interrupted_refit_of_spherical_kmeans_is_unfitted(monkeypatch):
    X, _ = blobs()
    km = SphericalKMeans(3, random_state=0).fit(X)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_spherical_kmeans_core, "lloyd", interrupted)
    with pytest.raises(KeyboardInterrupt):
        km.fit(X)
    with pytest.raises(NotFittedError):
        km.predict(X)


@pytest.mark.parametrize("exc", [RuntimeError("lloyd failed"), MemoryError()])
def test_failed_refit_of_the_numpy_estimators_is_unfitted(monkeypatch, exc):
    # any exception, not only KeyboardInterrupt: no fitted
    # attribute of the previous fit is left next to a missing new one
    X, y = blobs()
    km = SphericalKMeans(3, random_state=0).fit(X)
    knc = KNearestClusterClassifier(cluster_size=5, random_state=0).fit(X, y)

    def failing(*args, **kwargs):
        raise exc

    monkeypatch.setattr(_spherical_kmeans_core, "lloyd", failing)
    for est, args in ((km, (X,)), (knc, (X, y))):
        with pytest.raises(type(exc)):
            est.fit(*args)
        with pytest.raises(NotFittedError):
            check_is_fitted(est)
        assert not [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]
    monkeypatch.undo()
    assert km.fit(X).predict(X).shape == (len(X),)


def test_pandas_output_and_feature_names_through_a_pipeline():
    pd = pytest.importorskip("pandas")
    X, y = blobs()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    emb = CLMLEEmbedder(**TINY).set_output(transform="pandas").fit(df, y)
    Z = emb.transform(df)
    assert isinstance(Z, pd.DataFrame)
    names = [f"clmleembedder{i}" for i in range(TINY["embedding_dim"])]
    assert list(Z.columns) == names
    assert_array_equal(emb.feature_names_in_, df.columns)
    pipe = Pipeline(
        [("embed", CLMLEEmbedder(**TINY)), ("clf", KNearestClusterClassifier())]
    ).set_output(transform="pandas").fit(df, y)
    assert_array_equal(pipe[:-1].get_feature_names_out(), names)
    assert_array_equal(pipe[-1].feature_names_in_, names)
    km = SphericalKMeans(2, random_state=0).set_output(transform="pandas").fit(df)
    assert list(km.transform(df).columns) == ["sphericalkmeans0", "sphericalkmeans1"]


def test_grid_search_over_margins_and_neighbours():
    X, y = blobs(n_per=(24, 12, 9))
    pipe = Pipeline(
        [
            ("embed", CLMLEEmbedder(**TINY)),
            ("clf", KNearestClusterClassifier(cluster_size=3, random_state=0)),
        ]
    )
    grid = {
        "embed__margin_between": [0.05, 0.2],
        "embed__margin_within": [0.0, 0.02],
        "clf__n_neighbors": [1, 5],
    }
    search = GridSearchCV(
        pipe, grid, cv=StratifiedKFold(3), scoring="balanced_accuracy"
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ > 0.6  # well-separated blobs
    assert set(search.best_params_) == set(grid)
    assert_allclose(
        search.best_estimator_.named_steps["embed"].margin_between_,
        [search.best_params_["embed__margin_between"]],
    )


def test_joblib_round_trip_of_a_fitted_pipeline(tmp_path):
    import joblib

    X, y = blobs()
    pipe = Pipeline(
        [("embed", CLMLEEmbedder(**TINY)), ("clf", KNearestClusterClassifier())]
    ).fit(X, y)
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    loaded = joblib.load(path)
    module = loaded.named_steps["embed"].module_
    assert all(p.device.type == "cpu" for p in module.parameters())
    assert_array_equal(loaded.predict(X), pipe.predict(X))
    assert_allclose(loaded[:-1].transform(X), pipe[:-1].transform(X))
