"""The thread policy of the torch estimators' fit: the threads it chooses,
and the caller's torch threads and thread-pool limits restored afterwards,
also when fit raises."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_clmle import CLMLEClassifier, CLMLEEmbedder, LongTailNetClassifier
from sklearn_clmle.embedding import _threads
from sklearn_clmle.embedding._base import TorchInputMixin


def pools():
    return [(lib["filepath"], lib["num_threads"]) for lib in threadpool_info()]


def expected_threads(shape):
    """The policy's threads under the current settings (OMP_NUM_THREADS=1
    in the environment, for one, makes every pool's limit 1)."""
    ceiling = min([torch.get_num_threads()]
                  + [lib["num_threads"] for lib in threadpool_info()])
    return _threads.policy_threads(shape, ceiling)


@pytest.fixture
def caller_threads():
    """The test's own settings, put back whatever happens."""
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


def test_policy_threads():
    assert _threads.policy_threads((64,), caller_threads=8, cores=4) == 1
    assert _threads.policy_threads((8, 8), caller_threads=8, cores=4) == 1
    assert _threads.policy_threads((255,), caller_threads=8, cores=4) == 1
    assert _threads.policy_threads((256,), caller_threads=8, cores=4) == 4
    assert _threads.policy_threads((28, 28), caller_threads=8, cores=4) == 4
    assert _threads.policy_threads((1, 28, 28), caller_threads=2, cores=4) == 2
    assert _threads.policy_threads((784,), caller_threads=0, cores=4) == 1


def test_physical_cores_is_at_most_the_usable_cpus():
    import os

    n = _threads.physical_cores()
    assert 1 <= n <= len(os.sched_getaffinity(0))


def test_fit_threads_sets_and_restores(caller_threads):
    torch.set_num_threads(2)
    before = pools()
    with _threads.fit_threads((8,)) as n:
        assert n == 1
        assert torch.get_num_threads() == 1
        assert all(lib["num_threads"] == 1 for lib in threadpool_info())
    assert torch.get_num_threads() == 2
    assert pools() == before
    expected = expected_threads((784,))
    assert 1 <= expected <= min(2, _threads.physical_cores())
    with pytest.raises(RuntimeError, match="boom"):
        with _threads.fit_threads((784,)) as n:
            assert n == expected
            assert torch.get_num_threads() == n
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2
    assert pools() == before


def test_caller_limits_are_a_ceiling(caller_threads):
    torch.set_num_threads(2)
    with threadpool_limits(limits=1):
        with _threads.fit_threads((784,)) as n:
            assert n == 1 and torch.get_num_threads() == 1
        assert all(lib["num_threads"] == 1 for lib in threadpool_info())
    assert torch.get_num_threads() == 2


def test_disabled_policy_leaves_the_threads(caller_threads, monkeypatch):
    monkeypatch.setattr(_threads, "ENABLED", False)
    torch.set_num_threads(2)
    with _threads.fit_threads((8,)) as n:
        assert n is None and torch.get_num_threads() == 2


@pytest.mark.parametrize("make", [
    lambda: CLMLEEmbedder(epochs=2, random_state=0),
    lambda: LongTailNetClassifier(epochs=2, random_state=0),
])
@pytest.mark.parametrize("n_features, fails", [(8, False), (300, True)])
def test_fit_runs_under_the_policy_and_restores(make, n_features, fails,
                                                caller_threads, monkeypatch):
    seen = []
    original = type(make())._fit

    def spy(self, X, y):
        seen.append((torch.get_num_threads(),
                     {lib["num_threads"] for lib in threadpool_info()}))
        if fails:
            raise RuntimeError("training failed")
        return original(self, X, y)

    monkeypatch.setattr(type(make()), "_fit", spy)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, n_features)).astype(np.float32)
    y = np.repeat([0, 1, 2], 20)
    torch.set_num_threads(2)
    before = pools()
    expected = expected_threads((n_features,))
    if fails:
        with pytest.raises(RuntimeError, match="training failed"):
            make().fit(X, y)
    else:
        make().fit(X, y)
    assert seen == [(expected, {expected})]
    assert torch.get_num_threads() == 2
    assert pools() == before


def test_clmle_classifier_restores_when_fit_raises(caller_threads, monkeypatch):
    def fail(self, X, y):
        assert torch.get_num_threads() == 1  # 8 values a sample: one thread
        raise RuntimeError("embedder failed")

    monkeypatch.setattr(TorchInputMixin, "_fit", fail, raising=False)
    monkeypatch.setattr(CLMLEEmbedder, "_fit", fail)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 8)).astype(np.float32)
    y = np.repeat([0, 1], 40)
    torch.set_num_threads(2)
    before = pools()
    with pytest.raises(RuntimeError, match="embedder failed"):
        CLMLEClassifier(random_state=0).fit(X, y)
    assert torch.get_num_threads() == 2
    assert pools() == before
