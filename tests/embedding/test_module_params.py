"""module__* parameters (skorch's convention): a module class built at fit
with them; they are parameters like any other (get_params, set_params,
clone, GridSearchCV, pickle) for the three torch estimators."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from torch import nn  # noqa: E402

from sklearn_clmle import (  # noqa: E402
    CLMLEEmbedder,
    LongTailNetClassifier,
    MetricEmbedder,
)


class Net(nn.Module):
    """A backbone with constructor arguments (importable: pickles by name)."""

    def __init__(self, n_in=4, width=8, depth=1):
        super().__init__()
        layers, d = [], n_in
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.ReLU()]
            d = width
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


SMALL = {
    CLMLEEmbedder: dict(embedding_dim=4, cluster_size=10, n_clusters_per_batch=3,
                        n_samples_per_cluster=4, n_rounds=1, steps_per_round=2,
                        warmup_epochs=1),
    MetricEmbedder: dict(embedding_dim=4, n_classes_per_batch=3,
                         n_samples_per_class=4, n_rounds=1, steps_per_round=2,
                         warmup_epochs=1),
    LongTailNetClassifier: dict(epochs=2),
}
ESTIMATORS = list(SMALL)


def data():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 30)
    return (rng.normal(size=(90, 4)) + np.eye(4)[y]).astype(np.float32), y


def make(cls, **params):
    return cls(**SMALL[cls], device="cpu", random_state=0, **params)


def linear_widths(est):
    return [m.out_features for m in est.module_.modules()
            if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_module_class_is_built_with_its_params(cls):
    X, y = data()
    est = make(cls, module=Net, module__width=6, module__depth=2).fit(X, y)
    assert linear_widths(est)[:2] == [6, 6]  # the backbone's two layers
    assert est.get_params()["module__width"] == 6
    assert est.get_params()["module__depth"] == 2


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_module_params_clone_set_and_pickle(cls):
    X, y = data()
    est = make(cls, module=Net, module__width=5)
    twin = clone(est)
    assert twin.module__width == 5 and twin.module is Net
    twin.set_params(module__width=7, module__depth=2)  # a new one too
    assert twin.get_params()["module__depth"] == 2
    twin.fit(X, y)
    assert linear_widths(twin)[:2] == [7, 7]
    loaded = pickle.loads(pickle.dumps(twin))
    assert loaded.module__width == 7
    np.testing.assert_array_equal(loaded.transform(X), twin.transform(X))


def test_grid_search_over_a_module_param():
    X, y = data()
    search = GridSearchCV(make(LongTailNetClassifier, module=Net),
                          {"module__width": [3, 9]}, cv=2).fit(X, y)
    assert search.best_params_["module__width"] in (3, 9)
    assert linear_widths(search.best_estimator_)[0] == search.best_params_[
        "module__width"]


@pytest.mark.parametrize("module, match", [
    (None, r"module__width.*module is None"),
    (Net(), r"module__width.*a module instance"),
])
def test_module_params_without_a_module_class_are_refused(module, match):
    X, y = data()
    est = make(LongTailNetClassifier, module=module, module__width=5)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_a_class_that_is_not_a_module_is_refused():
    X, y = data()
    with pytest.raises(TypeError, match="not a torch.nn.Module subclass"):
        make(CLMLEEmbedder, module=dict).fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_other_unexpected_keywords_are_refused_at_fit(cls):
    # stored by __init__ like every parameter (scikit-learn's rule: no
    # validation there), refused by fit before any training
    X, y = data()
    est = make(cls, hiden_units=(8,))
    with pytest.raises(TypeError, match="unexpected parameter.*'hiden_units'"):
        est.fit(X, y)
    assert not hasattr(est, "module_")
