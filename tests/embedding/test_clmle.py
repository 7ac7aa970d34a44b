"""CLMLEEmbedder: API, determinism, persistence, errors, multi-label, images."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn_clmle import CLMLEEmbedder  # noqa: E402
from sklearn_clmle.embedding.training import clmle_rounds as _clmle  # noqa: E402

TINY = dict(
    hidden_units=(16,), embedding_dim=6, cluster_size=10, n_clusters_per_batch=4,
    n_samples_per_cluster=5, n_rounds=2, steps_per_round=5, warmup_epochs=1,
    device="cpu",
)


def _blobs(n0=40, n1=10, n2=0, dim=5, seed=0):
    rng = np.random.RandomState(seed)
    parts = [rng.normal(0, 1, (n0, dim)), rng.normal(4, 1, (n1, dim))]
    labels = [np.zeros(n0, int), np.ones(n1, int)]
    if n2:
        parts.append(rng.normal(-4, 1, (n2, dim)))
        labels.append(np.full(n2, 2))
    return np.concatenate(parts), np.concatenate(labels)


def test_transform_shape_dtype_unit_norm_and_names():
    X, y = _blobs()
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(X, y)
    Z = emb.transform(X)
    assert Z.shape == (50, 6) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
    assert emb.get_feature_names_out().tolist() == [f"clmleembedder{i}" for i in range(6)]
    assert emb.n_features_in_ == 5 and emb.n_labels_ == 1
    np.testing.assert_array_equal(emb.classes_, [0, 1])
    np.testing.assert_allclose(emb.fit_transform(X, y), Z, atol=1e-6)


def test_string_labels_and_history():
    X, y = _blobs(n0=40, n1=10, n2=25)
    labels = np.array(["cat", "dog", "eel"])[y]
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(X, labels)
    assert emb.classes_.tolist() == ["cat", "dog", "eel"]
    h = emb.history_
    assert h[:, "phase"] == ["warmup", "cluster", "cluster"]
    # 40 // 10 = 4 clusters of 10, 10 // 10 = 1 of 10, 25 // 10 = 2 of 12 and 13.
    assert h[-1, "n_clusters"] == [7]
    assert sorted(h[-1, "cluster_sizes"][0]) == [10, 10, 10, 10, 10, 12, 13]
    assert len(h[-1, "step_loss"]) == 5
    # Warm-up: batches of 4 * 5 = 20 samples over 75 rows: 4 steps.
    assert len(h[0, "step_loss"]) == 4


def test_auto_margins_follow_the_embedding_geometry():
    X, y = _blobs(n0=40, n1=10, n2=25)
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(X, y)
    # d = 6: 3 classes form a simplex (cosine -1/2), a1 = 0.05 * 1.5; the
    # rarest class's share 10 / 75 spaces 7.5 regions, more than d + 1 = 7
    # and at most 2 d = 12: the cross-polytope's cosine 0, a2 = 0.05 * 1.
    np.testing.assert_allclose(emb.margin_between_, [0.075])
    np.testing.assert_allclose(emb.margin_within_, [0.05])
    emb = CLMLEEmbedder(**TINY, margin_between=0.3, margin_within=0.0,
                        random_state=0).fit(X, y)
    assert emb.margin_between_.tolist() == [0.3] and emb.margin_within_.tolist() == [0.0]


def test_deterministic_and_global_rng_untouched():
    X, y = _blobs()
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    Z1 = CLMLEEmbedder(**TINY, random_state=7).fit_transform(X, y)
    after = torch.rand(3)
    Z2 = CLMLEEmbedder(**TINY, random_state=7).fit_transform(X, y)
    np.testing.assert_array_equal(Z1, Z2)
    torch.testing.assert_close(before, after)
    Z3 = CLMLEEmbedder(**TINY, random_state=8).fit_transform(X, y)
    assert not np.allclose(Z1, Z3)


def test_cluster_loss_decreases_on_separable_data():
    X, y = _blobs(n0=60, n1=30)
    # margins as the circle's rule set them for two classes (the "auto"
    # twentieth of the bound is met almost at once on blobs)
    emb = CLMLEEmbedder(**{**TINY, "warmup_epochs": 0, "n_rounds": 1,
                           "steps_per_round": 60}, margin_between=1.0,
                        margin_within=0.5, random_state=0).fit(X, y)
    losses = emb.history_[-1, "step_loss"]
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_round_trip(dump):
    X, y = _blobs()
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(X, y)
    if dump == "pickle":
        clone = pickle.loads(pickle.dumps(emb))
    else:
        buf = io.BytesIO()
        joblib.dump(emb, buf)
        buf.seek(0)
        clone = joblib.load(buf)
    np.testing.assert_array_equal(clone.transform(X), emb.transform(X))
    assert all(p.device.type == "cpu" for p in clone.module_.parameters())


def test_input_not_modified_and_user_module_copied():
    X, y = _blobs()
    X_before, y_before = X.copy(), y.copy()
    module = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.Tanh())
    params_before = [p.detach().clone() for p in module.parameters()]
    emb = CLMLEEmbedder(module, **{**TINY, "warmup_epochs": 0}, random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    for p, q in zip(module.parameters(), params_before):
        torch.testing.assert_close(p, q)
    assert emb.module_.backbone is not module
    assert emb.module_.heads[0].in_features == 12
    assert [r["phase"] for r in emb.history_] == ["cluster", "cluster"]


class _BatchRecorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(5, 4)
        self.sizes = []

    def forward(self, x):
        if not self.training:
            self.sizes.append(x.shape[0])
        return self.linear(x)


def test_transform_works_in_batches():
    X, y = _blobs()
    emb = CLMLEEmbedder(_BatchRecorder(), **{**TINY, "batch_size": 7},
                        random_state=0).fit(X, y)
    emb.module_.backbone.sizes.clear()
    Z = emb.transform(X[:20])
    assert emb.module_.backbone.sizes == [7, 7, 6]
    # Batching does not change the result.
    emb.set_params(batch_size=1000)
    np.testing.assert_allclose(emb.transform(X[:20]), Z, atol=1e-6)


def test_small_class_sampled_with_replacement():
    # Class 1 has 2 samples, fewer than n_samples_per_cluster=5.
    X, y = _blobs(n0=30, n1=2)
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(X, y)
    assert emb.history_[-1, "cluster_sizes"] == [[10, 10, 10, 2]]
    assert np.all(np.isfinite(emb.transform(X)))


def test_multilabel_heads_blocks_and_schedule(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    Y = np.c_[X[:, 0] > 0.5, X[:, 1] > 0, X[:, 2] > -0.3].astype(int)
    created, drawn = [], []

    class Recording(_clmle.ClusterBatchSampler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.label = len(created) % 3
            created.append(self)

        def sample(self, rng):
            drawn.append(self.label)
            return super().sample(rng)

    monkeypatch.setattr(_clmle, "ClusterBatchSampler", Recording)
    emb = CLMLEEmbedder(**{**TINY, "steps_per_round": 4}, random_state=0).fit(X, Y)
    # Step t draws its batch with label t mod 3, across rounds.
    assert drawn == [0, 1, 2, 0, 1, 2, 0, 1]
    Z = emb.transform(X)
    assert Z.shape == (60, 18) and emb.n_labels_ == 3
    for j in range(3):
        np.testing.assert_allclose(np.linalg.norm(Z[:, 6 * j:6 * j + 6], axis=1), 1,
                                   atol=1e-5)
    counts = [np.bincount(Y[:, j]) for j in range(3)]
    expected = [int(sum(max(1, c // 10) for c in cnt)) for cnt in counts]
    assert emb.history_[-1, "n_clusters"] == expected
    # Binary labels: a1 = a twentieth of 1 - cos(pi) = 2.
    np.testing.assert_allclose(emb.margin_between_, [0.1, 0.1, 0.1])
    assert len(emb.get_feature_names_out()) == 18


def test_images_3d_and_flat_with_input_shape():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 15)
    imgs = rng.rand(30, 8, 8) + y[:, None, None]
    # images choose the CNN, and say so (the flat MLP is often the better default)
    with pytest.warns(UserWarning, match=r"images of shape \(8, 8\), so the default "
                      r"backbone is the small CNN.*input_shape=\(8, 8\)"):
        emb = CLMLEEmbedder(**TINY, random_state=0).fit(imgs, y)
    assert type(emb.module_.backbone).__name__ == "SmallCNN"
    assert emb.transform(imgs).shape == (30, 6)
    flat = CLMLEEmbedder(**{**TINY, "input_shape": (8, 8)}, random_state=0)
    with warnings.catch_warnings():  # an explicit input_shape: no warning
        warnings.filterwarnings("error", message=".*default backbone is the small CNN")
        Zf = flat.fit_transform(imgs.reshape(30, 64), y)
    assert type(flat.module_.backbone).__name__ == "SmallCNN"
    # Same network and seed: flat rows reshaped to (8, 8) give the same result.
    np.testing.assert_allclose(Zf, emb.transform(imgs), atol=1e-5)
    with pytest.raises(ValueError, match=r"sample shape \(8, 4\)"):
        emb.transform(imgs[:, :, :4])
    with pytest.raises(ValueError, match="input_shape=\\(7, 7\\)"):
        CLMLEEmbedder(**{**TINY, "input_shape": (7, 7)}).fit(imgs.reshape(30, 64), y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_refused(bad):
    X, y = _blobs()
    X[3, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        CLMLEEmbedder(**TINY).fit(X, y)
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(*_blobs())
    with pytest.raises(ValueError, match="NaN|infinity"):
        emb.transform(X)


def test_float32_overflow_refused():
    X, y = _blobs()
    X[0, 0] = 1e300
    with pytest.raises(ValueError, match="too large for float32"):
        CLMLEEmbedder(**TINY).fit(X, y)


def test_bad_targets_and_shapes():
    X, y = _blobs()
    with pytest.raises(ValueError, match="only one class"):
        CLMLEEmbedder(**TINY).fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="Unknown label type"):
        CLMLEEmbedder(**TINY).fit(X, np.linspace(0, 1, 50))
    with pytest.raises(ValueError, match=r"label\(s\) \[1\]"):
        CLMLEEmbedder(**TINY).fit(X, np.c_[y, np.ones(50, int)])
    emb = CLMLEEmbedder(**TINY, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="expecting 5 features"):
        emb.transform(X[:, :3])
    with pytest.raises(ValueError, match="n_clusters_per_batch"):
        CLMLEEmbedder(**{**TINY, "n_clusters_per_batch": 1}).fit(X, y)


class _Explodes(torch.nn.Module):
    """Finite until its weight grows past 1, then NaN."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(5, 4)

    def forward(self, x):
        return self.linear(x) * torch.sqrt(1.0 - self.linear.weight.abs().max())


def test_nan_loss_stops_and_names_the_step():
    X, y = _blobs()
    emb = CLMLEEmbedder(_Explodes(), **{**TINY, "warmup_epochs": 0,
                                        "learning_rate": 10.0}, random_state=0)
    with pytest.raises(FloatingPointError, match=r"round 1, step \d+"):
        emb.fit(X, y)
    emb.set_params(warmup_epochs=2)
    with pytest.raises(FloatingPointError, match=r"warm-up epoch 1, batch \d+"):
        emb.fit(X, y)


def test_cuda_requested_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = _blobs()
    with pytest.raises(ValueError, match="device='cuda'"):
        CLMLEEmbedder(**{**TINY, "device": "cuda"}).fit(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_fit_pickles_to_cpu():
    X, y = _blobs()
    emb = CLMLEEmbedder(**{**TINY, "device": "cuda"}, random_state=0).fit(X, y)
    clone = pickle.loads(pickle.dumps(emb))
    assert all(p.device.type == "cpu" for p in clone.module_.parameters())
    clone.set_params(device="cpu")
    np.testing.assert_allclose(clone.transform(X), emb.transform(X), atol=1e-4)


def test_verbose_prints_skorchs_epoch_table(capsys):
    X, y = _blobs()
    CLMLEEmbedder(**TINY, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert "train_loss" in lines[0] and "dur" in lines[0]
    # one row per warm-up epoch and per round (TINY: 1 + 2), under the
    # warm-up's header, then the rounds' (round, clustering_dur, ...)
    rows = [ln for ln in lines if ln.split()[:1] and ln.split()[0].isdigit()]
    assert len(rows) == TINY["warmup_epochs"] + TINY["n_rounds"]
    headers = [ln for ln in lines if ln.split()[:1] == ["epoch"]]
    assert len(headers) == 2 and "round" in headers[1]


def test_embedder_accepts_logit_adjusted_warmup():
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0, 1, (30, 4)), rng.normal(3, 1, (6, 4))]
    y = np.r_[np.zeros(30, int), np.ones(6, int)]
    emb = CLMLEEmbedder(hidden_units=(8,), embedding_dim=4, cluster_size=5,
                        n_clusters_per_batch=3, n_samples_per_cluster=4,
                        warmup_epochs=2, warmup_class_weight="logit_adjusted",
                        n_rounds=1, steps_per_round=2, random_state=0).fit(X, y)
    assert emb.transform(X).shape == (36, 4)
    with pytest.raises(ValueError, match="warmup_class_weight"):
        CLMLEEmbedder(warmup_class_weight="inverse").fit(X, y)
