"""MetricEmbedder: API, both losses, batches, determinism, persistence, errors."""

import importlib
import io
import pickle

import joblib
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

from sklearn_clmle import MetricEmbedder  # noqa: E402
from sklearn_clmle.embedding.training import clmle_rounds  # noqa: E402

# the estimator's module, which builds the samplers the training loops receive
_metric = importlib.import_module("sklearn_clmle.embedding._metric")

TINY = dict(
    hidden_units=(16,), embedding_dim=6, n_classes_per_batch=3, n_samples_per_class=4,
    cluster_size=10, n_clusters_per_batch=4, n_samples_per_cluster=5, n_rounds=2,
    steps_per_round=5, warmup_epochs=1, device="cpu",
)
LOSSES = ["triplet", "lmle"]


def _blobs(n0=40, n1=10, n2=25, dim=5, seed=0):
    rng = np.random.RandomState(seed)
    X = np.r_[rng.normal(0, 1, (n0, dim)), rng.normal(4, 1, (n1, dim)),
              rng.normal(-4, 1, (n2, dim))]
    y = np.repeat([0, 1, 2], [n0, n1, n2])
    return X, y


@pytest.mark.parametrize("loss", LOSSES)
def test_transform_shape_dtype_unit_norm_and_names(loss):
    X, y = _blobs()
    emb = MetricEmbedder(**TINY, loss=loss, random_state=0).fit(X, y)
    Z = emb.transform(X)
    assert Z.shape == (75, 6) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
    names = [f"metricembedder{i}" for i in range(6)]
    assert emb.get_feature_names_out().tolist() == names
    assert emb.n_features_in_ == 5
    np.testing.assert_array_equal(emb.classes_, [0, 1, 2])
    np.testing.assert_allclose(emb.fit_transform(X, y), Z, atol=1e-6)
    Z32 = emb.transform(X.astype(np.float32))
    np.testing.assert_allclose(Z32, Z, atol=1e-6)


def test_history_of_both_losses():
    X, y = _blobs()
    labels = np.array(["cat", "dog", "eel"])[y]
    h = MetricEmbedder(**TINY, random_state=0).fit(X, labels).history_
    assert h[:, "phase"] == ["warmup", "triplet", "triplet"]
    assert h[1:, "round"] == [1, 2]
    assert [len(s) for s in h[:, "step_loss"]] == [7, 5, 5]  # 75 rows / (3 * 4)
    emb = MetricEmbedder(**TINY, loss="lmle", random_state=0).fit(X, labels)
    assert emb.classes_.tolist() == ["cat", "dog", "eel"]
    h = emb.history_
    assert h[:, "phase"] == ["warmup", "lmle", "lmle"]
    assert len(h[0, "step_loss"]) == 4  # 75 rows / (4 * 5)
    # 40 // 10 = 4 clusters of 10, 10 // 10 = 1, 25 // 10 = 2 of 12 and 13.
    assert h[-1, "n_clusters"] == 7
    assert sorted(h[-1, "cluster_sizes"]) == [10, 10, 10, 10, 10, 12, 13]
    emb.set_params(warmup_epochs=0, warmup_batch_size=7).fit(X, y)
    assert emb.history_[:, "phase"] == ["lmle", "lmle"]


def test_warmup_is_the_shared_one(monkeypatch):
    calls = []

    def recording(model, softmax, epochs, batch_size, rng):
        calls.append((softmax.n_heads, epochs, batch_size))
        return clmle_rounds.warmup_phase(model, softmax, epochs, batch_size, rng)

    monkeypatch.setattr(_metric, "warmup_phase", recording)
    X, y = _blobs()
    MetricEmbedder(**TINY, warmup_batch_size=9, random_state=0).fit(X, y)
    assert calls == [(1, TINY["warmup_epochs"], 9)]


def test_triplet_batches_are_class_balanced(monkeypatch):
    drawn = []

    class Recording(_metric.ClassBalancedBatchSampler):
        def sample(self, rng):
            out = super().sample(rng)
            drawn.append(out)
            return out

    monkeypatch.setattr(_metric, "ClassBalancedBatchSampler", Recording)
    X, y = _blobs(n1=2)  # class 1 has fewer than K=4 samples
    MetricEmbedder(**TINY, random_state=0).fit(X, y)
    assert len(drawn) == 10
    for idx in drawn:
        blocks = y[idx].reshape(3, 4)
        assert sorted(blocks[:, 0]) == [0, 1, 2] and np.all(blocks == blocks[:, :1])


def test_lmle_reclusters_every_round_with_uniform_queries(monkeypatch):
    created = []

    class Recording(_metric.ClusterBatchSampler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(_metric, "ClusterBatchSampler", Recording)
    X, y = _blobs()
    MetricEmbedder(**{**TINY, "n_rounds": 3}, loss="lmle", random_state=0).fit(X, y)
    assert len(created) == 3
    assert all(s.query == "uniform" for s in created)
    assert all(s.n_clusters_per_batch == 4 and s.n_per_cluster == 5 for s in created)


@pytest.mark.parametrize("loss", LOSSES)
def test_deterministic_and_global_rng_untouched(loss):
    X, y = _blobs()
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    Z1 = MetricEmbedder(**TINY, loss=loss, random_state=7).fit_transform(X, y)
    after = torch.rand(3)
    Z2 = MetricEmbedder(**TINY, loss=loss, random_state=7).fit_transform(X, y)
    np.testing.assert_array_equal(Z1, Z2)
    torch.testing.assert_close(before, after)
    Z3 = MetricEmbedder(**TINY, loss=loss, random_state=8).fit_transform(X, y)
    assert not np.allclose(Z1, Z3)


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_decreases_on_separable_data(loss):
    X, y = _blobs(n0=60, n1=30, n2=30)
    emb = MetricEmbedder(**{**TINY, "warmup_epochs": 0, "n_rounds": 1,
                            "steps_per_round": 100}, loss=loss, random_state=0).fit(X, y)
    losses = emb.history_[-1, "step_loss"]
    # LMLE's within-class terms keep some loss on Gaussian blobs, whose
    # k-means clusters are arbitrary cuts: it falls by less than the triplet's
    factor = 0.5 if loss == "triplet" else 0.75
    assert np.mean(losses[-20:]) < factor * np.mean(losses[:20])


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_round_trip(dump):
    X, y = _blobs()
    emb = MetricEmbedder(**TINY, loss="lmle", random_state=0).fit(X, y)
    if dump == "pickle":
        clone = pickle.loads(pickle.dumps(emb))
    else:
        buf = io.BytesIO()
        joblib.dump(emb, buf)
        buf.seek(0)
        clone = joblib.load(buf)
    np.testing.assert_array_equal(clone.transform(X), emb.transform(X))
    assert all(p.device.type == "cpu" for p in clone.module_.parameters())
    assert clone.history_[:, "phase"] == emb.history_[:, "phase"]


def test_inputs_not_modified_and_user_module_copied():
    X, y = _blobs()
    X_before, y_before = X.copy(), y.copy()
    module = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.Tanh())
    params_before = [p.detach().clone() for p in module.parameters()]
    emb = MetricEmbedder(module, **TINY, loss="lmle", random_state=0).fit(X, y)
    emb.transform(X)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    for p, q in zip(module.parameters(), params_before):
        torch.testing.assert_close(p, q)
    assert emb.module_.backbone is not module
    assert emb.module_.heads[0].in_features == 12


class _Bomb(torch.nn.Module):
    """A backbone whose forward raises KeyboardInterrupt on call ``at``."""

    def __init__(self, at):
        super().__init__()
        self.at, self.calls = at, 0
        self.linear = torch.nn.Linear(5, 8)

    def forward(self, x):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.linear(x)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("at", [3, 12])  # during warm-up, during the rounds
def test_interrupted_fit_leaves_it_unfitted(loss, at):
    X, y = _blobs()
    emb = MetricEmbedder(_Bomb(at), **TINY, loss=loss)
    state = torch.random.get_rng_state()
    with pytest.raises(KeyboardInterrupt):
        emb.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(emb)
    assert not [k for k in vars(emb) if k.endswith("_")]
    assert torch.equal(torch.random.get_rng_state(), state)
    emb.set_params(module=None).fit(X, y)
    assert emb.transform(X).shape == (75, 6)


def test_images_3d():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 15)
    imgs = rng.rand(30, 8, 8) + y[:, None, None]
    emb = MetricEmbedder(**TINY, loss="lmle", random_state=0).fit(imgs, y)
    assert type(emb.module_.backbone).__name__ == "SmallCNN"
    assert emb.transform(imgs).shape == (30, 6)
    with pytest.raises(ValueError, match=r"sample shape \(8, 4\)"):
        emb.transform(imgs[:, :, :4])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"loss": "contrastive"},
         r"'loss' parameter .* \{.*'lmle'.*\}.*Got 'contrastive'"),
        ({"triplet_margin": -0.1},
         r"'triplet_margin' parameter .* range \[0.0, 3.40\d*e\+38\)\. Got -0.1"),
        ({"n_samples_per_class": 1},
         r"'n_samples_per_class' parameter .* range \[2, inf\)\. Got 1"),
        ({"n_classes_per_batch": 1},
         r"'n_classes_per_batch' parameter .* range \[2, inf\)"),
        ({"lmle_margins": (0.1, 0.2)},
         r"lmle_margins=\(0\.1, 0\.2\) should be three finite, non-negative"),
        ({"lmle_margins": (0.1, -0.2, 0.3)}, r"lmle_margins=\(0\.1, -0\.2, 0\.3\)"),
        ({"lmle_margins": ("a", 0, 0)}, r"lmle_margins=\('a', 0, 0\)"),
        ({"lmle_margins": 0.1}, r"'lmle_margins' parameter .* array-like"),
    ],
)
def test_bad_parameters_named(params, message):
    X, y = _blobs()
    with pytest.raises(ValueError, match=message):
        MetricEmbedder(**{**TINY, **params}).fit(X, y)


def test_bad_targets():
    X, y = _blobs()
    with pytest.raises(ValueError, match=r"only one class \(0\)"):
        MetricEmbedder(**TINY).fit(X, np.zeros(75, int))
    with pytest.raises(ValueError, match="Unknown label type"):
        MetricEmbedder(**TINY).fit(X, np.linspace(0, 1, 75))
    Y = np.c_[y == 0, y == 1].astype(int)
    with pytest.raises(ValueError, match=r"shape \(75, 2\).*multilabel-indicator.*"
                                         r"multi-label y is not supported"):
        MetricEmbedder(**TINY).fit(X, Y)
    # a column vector is a 1-D y
    Z = MetricEmbedder(**TINY, random_state=0).fit_transform(X, y[:, None])
    assert Z.shape == (75, 6)
    emb = MetricEmbedder(**TINY, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="expecting 5 features"):
        emb.transform(X[:, :3])
    with pytest.raises(ValueError, match="NaN|infinity"):
        emb.transform(np.full((2, 5), np.nan))


def test_unfitted_transform_refused():
    with pytest.raises(NotFittedError):
        MetricEmbedder().transform(np.ones((2, 3)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("loss", LOSSES)
def test_gpu_fit_pickles_to_cpu(loss):
    X, y = _blobs()
    emb = MetricEmbedder(**{**TINY, "device": "cuda"}, loss=loss, random_state=0)
    emb.fit(X, y)
    clone = pickle.loads(pickle.dumps(emb))
    assert all(p.device.type == "cpu" for p in clone.module_.parameters())
    clone.set_params(device="cpu")
    np.testing.assert_allclose(clone.transform(X), emb.transform(X), atol=1e-4)
