"""The training package says what it holds: its docstrings cite names that
exist, its submodules are reachable by name, its data-parallel contexts agree
on which rank is the root; ``MetricEmbedder`` trains with the LMLE margins it
checked."""

import importlib
import inspect
import re

import numpy as np
import pytest

pytest.importorskip("torch")

from sklearn_clmle import MetricEmbedder  # noqa: E402
from sklearn_clmle.embedding import _metric  # noqa: E402
from sklearn_clmle.embedding import training  # noqa: E402
from sklearn_clmle.embedding.training import distributed  # noqa: E402
from sklearn_clmle.neighbors import _auto as neighbors_auto  # noqa: E402

SUBMODULES = ["clmle_rounds", "distributed", "engine", "metric_rounds",
              "skorch_net", "supervised", "validation"]


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodules_are_reachable_as_attributes(name):
    # no function re-exported by the package shadows a submodule
    assert inspect.ismodule(getattr(training, name))
    assert getattr(training, name) is importlib.import_module(
        f"sklearn_clmle.embedding.training.{name}")


@pytest.mark.parametrize("name", SUBMODULES)
def test_docstrings_cite_names_that_exist(name):
    module = importlib.import_module(f"sklearn_clmle.embedding.training.{name}")
    texts = [module.__doc__ or ""] + [
        obj.__doc__ or "" for obj in vars(module).values()
        if (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module.__name__]
    cited = set()
    for text in texts:
        cited |= set(re.findall(r"``(\w+)\.(\w+)``", text))
    for mod, attr in sorted(cited):
        if mod in SUBMODULES:
            target = importlib.import_module(f"sklearn_clmle.embedding.training.{mod}")
            assert hasattr(target, attr), f"{name} cites {mod}.{attr}"


def test_only_rank_zero_is_the_root():
    class Group:  # what DataParallel reads of torch.distributed
        def __init__(self, rank):
            self.rank = rank

        def get_world_size(self):
            return 2

        def get_rank(self):
            return self.rank

        def get_backend(self):
            return "gloo"

    assert distributed.SingleProcess("cpu").is_root
    roots = [distributed.DataParallel(Group(r), "cpu").is_root for r in (0, 1)]
    assert roots == [True, False]
    # one definition, from the rank: no class default that __init__ overrides
    assert "is_root" not in vars(distributed.DataParallel)


def test_lmle_trains_with_the_checked_margins(monkeypatch):
    seen = []
    real = _metric.QuintupletLoss

    def spy(margins):
        seen.append(margins)
        return real(margins)

    monkeypatch.setattr(_metric, "QuintupletLoss", spy)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    MetricEmbedder(loss="lmle", lmle_margins=np.array(["0.1", "0.1", "0.2"]),
                   hidden_units=(8,), embedding_dim=4, cluster_size=5,
                   n_rounds=1, steps_per_round=1, warmup_epochs=0,
                   device="cpu", random_state=0).fit(X, y)
    assert seen == [(0.1, 0.1, 0.2)]
    assert all(type(g) is float for g in seen[0])


def test_neighbors_auto_module_doc_states_its_folds():
    doc = " ".join(neighbors_auto.__doc__.split())
    assert (f"up to {neighbors_auto.SMALL_N:,} rows, those of "
            f"{neighbors_auto.N_FOLDS} stratified folds") in doc
    assert "one stratified hold-out split" in doc
