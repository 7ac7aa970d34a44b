"""CLMLEEmbedder and MetricEmbedder train on skorch's NeuralNet: one skorch
epoch per warm-up epoch and per round, skorch callbacks, skorch's History."""

import numpy as np
import pytest

pytest.importorskip("torch")

from skorch.callbacks import Callback, LRScheduler  # noqa: E402
from skorch.history import History  # noqa: E402

from sklearn_clmle import CLMLEEmbedder, MetricEmbedder  # noqa: E402

TINY = dict(hidden_units=(8,), embedding_dim=4, cluster_size=10,
            n_clusters_per_batch=3, n_samples_per_cluster=4, n_rounds=3,
            steps_per_round=3, warmup_epochs=2, device="cpu", random_state=0)


def data(seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], [50, 20, 10])
    X = rng.normal(size=(len(y), 4)) + 2 * np.eye(4)[y]
    return X.astype(np.float32), y


class StopAfter(Callback):
    """Ends training at the end of epoch ``epochs`` as skorch's
    EarlyStopping does (a KeyboardInterrupt from on_epoch_end)."""

    def __init__(self, epochs=1):
        self.epochs = epochs

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epochs:
            raise KeyboardInterrupt


@pytest.mark.parametrize("cls", [CLMLEEmbedder, MetricEmbedder])
def test_one_skorch_epoch_per_warmup_epoch_and_round(cls):
    X, y = data()
    emb = cls(**TINY).fit(X, y)
    assert isinstance(emb.history_, History)
    assert emb.history_[:, "epoch"] == [1, 2, 3, 4, 5]
    assert emb.history_[:2, "phase"] == ["warmup", "warmup"]
    assert emb.history_[2:, "round"] == [1, 2, 3]
    # every round: steps_per_round batches, each its step_loss
    assert [len(r) for r in emb.history_[2:, "step_loss"]] == [3, 3, 3]
    assert emb.history_[-1, "step_loss"] == emb.history_[-1, "batches", :, "train_loss"]


def test_lr_scheduler_restarts_with_each_phase():
    X, y = data()
    emb = CLMLEEmbedder(**TINY, learning_rate=0.01, callbacks=[
        LRScheduler(policy="StepLR", step_size=1, gamma=0.5)]).fit(X, y)
    # the warm-up and the rounds are two skorch fits, each with its own
    # optimiser; the schedule starts again on the rounds' one
    np.testing.assert_allclose(emb.history_[:, "event_lr"],
                               [0.01, 0.005, 0.01, 0.005, 0.0025])


def test_a_callback_can_stop_training_at_an_epochs_end():
    # each phase is a skorch fit with its own history: the callback stops
    # the warm-up after its first epoch, then the rounds after their first
    X, y = data()
    emb = CLMLEEmbedder(**TINY, callbacks=[StopAfter(1)]).fit(X, y)
    assert emb.history_[:, "phase"] == ["warmup", "cluster"]
    assert emb.history_[-1, "round"] == 1
    Z = emb.transform(X)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)


class Counting(Callback):
    """Counts the epochs it saw (fitted state: ``seen_``) into the history."""

    def initialize(self):
        self.seen_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.seen_ += 1
        net.history.record("seen", self.seen_)


def test_callbacks_do_not_change_the_model_and_are_cloned():
    X, y = data()
    counting = Counting()
    a = CLMLEEmbedder(**TINY).fit(X, y)
    b = CLMLEEmbedder(**TINY, callbacks=[("count", counting)]).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert b.history_[:, "seen"] == [1, 2, 1, 2, 3]  # initialised each phase
    assert not hasattr(counting, "seen_")  # the clone was fitted, not it


@pytest.mark.parametrize("cls", [CLMLEEmbedder, MetricEmbedder])
def test_bad_callbacks_are_refused(cls):
    X, y = data()
    with pytest.raises((TypeError, ValueError), match="callbacks"):
        cls(**TINY, callbacks=StopAfter()).fit(X, y)


class Batches(Callback):
    """Records the shape of every training batch's features and targets."""

    def initialize(self):
        self.seen_ = getattr(self, "seen_", [])
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            Xi, yi = batch
            self.seen_.append((tuple(Xi.shape), tuple(yi.shape), Xi.dtype))


@pytest.mark.parametrize("cls", [CLMLEEmbedder, MetricEmbedder])
def test_a_users_callback_sees_the_feature_batches_of_the_embedders(cls):
    import torch

    X, y = data()
    pk = dict(n_classes_per_batch=3, n_samples_per_class=4) if cls is MetricEmbedder else {}
    emb = cls(**TINY, **pk, callbacks=[("batches", Batches())]).fit(X, y)
    seen = dict(emb.callbacks_)["batches"].seen_
    # warm-up: 80 rows in batches of 12 (3 clusters x 4 rows, or P x K =
    # 3 x 4 for the triplet loss), 7 a pass; then 3 batches of 12 a round
    assert len(seen) == 2 * 7 + 3 * 3
    assert seen[:6] == [((12, 4), (12,), torch.float32)] * 6
    assert seen[6] == ((8, 4), (8,), torch.float32)
    assert seen[14:] == [((12, 4), (12,), torch.float32)] * 9


def test_the_cluster_batch_rows_are_the_drawn_rows():
    # the features a callback sees are the rows of X the sampler drew
    import torch

    X, y = data()
    rows = []

    class Rows(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training and net.history[-1, "phase"] == "cluster":
                Xi, yi = batch
                match = (torch.from_numpy(X)[:, None, :] == Xi[None]).all(dim=2)
                rows.append(match.int().argmax(dim=0).numpy())
                assert np.array_equal(y[rows[-1]], yi.numpy())

    CLMLEEmbedder(**TINY, callbacks=[Rows()]).fit(X, y)
    assert len(rows) == 9
    # 3 clusters of 4 rows: every drawn cluster is of one class
    for r in rows:
        assert all(len(set(y[block])) == 1 for block in r.reshape(3, 4))
