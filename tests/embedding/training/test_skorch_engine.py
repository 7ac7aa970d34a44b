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


def test_lr_scheduler_restarts_with_each_phases_optimizer():
    X, y = data()
    emb = CLMLEEmbedder(**TINY, learning_rate=0.01, callbacks=[
        LRScheduler(policy="StepLR", step_size=1, gamma=0.5)]).fit(X, y)
    # the warm-up and the rounds each have their own optimiser (as without
    # skorch); the schedule starts again on the rounds' one
    np.testing.assert_allclose(emb.history_[:, "event_lr"],
                               [0.01, 0.005, 0.01, 0.005, 0.0025])


def test_a_callback_can_stop_training_at_an_epochs_end():
    X, y = data()
    emb = CLMLEEmbedder(**TINY, callbacks=[StopAfter(3)]).fit(X, y)
    assert len(emb.history_) == 3 and emb.history_[-1, "round"] == 1
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
    assert b.history_[:, "seen"] == [1, 2, 3, 4, 5]
    assert not hasattr(counting, "seen_")  # the clone was fitted, not it


@pytest.mark.parametrize("cls", [CLMLEEmbedder, MetricEmbedder])
def test_bad_callbacks_are_refused(cls):
    X, y = data()
    with pytest.raises((TypeError, ValueError), match="callbacks"):
        cls(**TINY, callbacks=StopAfter()).fit(X, y)
