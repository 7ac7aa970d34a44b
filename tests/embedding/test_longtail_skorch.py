"""LongTailNetClassifier trains on skorch's NeuralNet: skorch callbacks, a
validation split, skorch's History, the user's callbacks left unchanged."""

import numpy as np
import pytest

pytest.importorskip("torch")

from skorch.callbacks import (  # noqa: E402
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    LRScheduler,
)
from skorch.dataset import ValidSplit  # noqa: E402
from skorch.history import History  # noqa: E402

from sklearn_clmle import LongTailNetClassifier  # noqa: E402


def blobs(n=240, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], [n // 2, n // 3, n - n // 2 - n // 3])
    X = rng.normal(size=(n, 4)) + 1.5 * np.eye(4)[y]
    return X.astype(np.float32), y


def make(**params):
    base = dict(hidden_units=(16,), epochs=4, batch_size=32, device="cpu",
                random_state=0)
    return LongTailNetClassifier(**{**base, **params})


def test_history_is_skorchs_with_the_librarys_records():
    X, y = blobs()
    clf = make().fit(X, y)
    assert isinstance(clf.history_, History)
    assert clf.history_[:, "epoch"] == [1, 2, 3, 4]
    # 240 rows in batches of 32: 8 batches an epoch, each in step_loss and
    # in skorch's per-batch records
    assert [len(s) for s in clf.history_[:, "step_loss"]] == [8] * 4
    assert clf.history_[-1, "step_loss"] == clf.history_[-1, "batches", :, "train_loss"]
    sizes = clf.history_[-1, "batches", :, "train_batch_size"]
    assert sizes == [32] * 7 + [16]
    # skorch's epoch train_loss: the batch losses weighted by batch size
    losses = np.array(clf.history_[-1, "step_loss"])
    assert clf.history_[-1, "train_loss"] == pytest.approx(
        np.dot(losses, sizes) / sum(sizes))
    assert clf.history_[:, "reweighted"] == [False] * 4


def test_early_stopping_on_a_stratified_validation_split():
    X, y = blobs()
    clf = make(epochs=200, learning_rate=0.05,
               train_split=ValidSplit(0.25, stratified=True, random_state=0),
               callbacks=[EarlyStopping(monitor="valid_loss", patience=3)]).fit(X, y)
    n_epochs = len(clf.history_)
    assert n_epochs < 200
    valid = clf.history_[:, "valid_loss"]
    best = int(np.argmin(valid))
    # stopped 3 epochs without a new best after the best one
    assert n_epochs == best + 1 + 3
    # only the training part of the split was trained on: 180 of 240 rows
    assert sum(clf.history_[0, "batches", :, "train_batch_size"]) == 180


def test_epoch_scoring_balanced_accuracy_on_the_validation_rows():
    X, y = blobs()
    split = ValidSplit(0.25, stratified=True, random_state=0)
    clf = make(train_split=split, callbacks=[
        EpochScoring("balanced_accuracy", lower_is_better=False, name="valid_bacc"),
    ]).fit(X, y)
    scores = clf.history_[:, "valid_bacc"]
    assert len(scores) == 4 and all(0 <= s <= 1 for s in scores)
    # the last score is the fitted model's balanced accuracy on the held-out
    # rows (recomputed here from the split skorch made)
    from sklearn.metrics import balanced_accuracy_score

    _, valid = split(np.arange(len(y)), y)
    rows = np.asarray(valid.indices)
    assert scores[-1] == pytest.approx(
        balanced_accuracy_score(y[rows], clf.predict(X[rows])))


def test_lr_scheduler_changes_the_learning_rate_each_epoch():
    X, y = blobs()
    clf = make(learning_rate=0.01, callbacks=[
        LRScheduler(policy="StepLR", step_size=1, gamma=0.5)]).fit(X, y)
    np.testing.assert_allclose(clf.history_[:, "event_lr"],
                               [0.01, 0.005, 0.0025, 0.00125])


def test_checkpoint_saves_the_best_parameters(tmp_path):
    X, y = blobs()
    make(callbacks=[Checkpoint(dirname=str(tmp_path), monitor="train_loss_best")]
         ).fit(X, y)
    assert (tmp_path / "params.pt").exists()


def test_users_callbacks_are_cloned_not_changed():
    X, y = blobs()
    scoring = EpochScoring("accuracy", on_train=True, name="train_acc")
    clf = make(callbacks=[("acc", scoring)]).fit(X, y)
    assert len(clf.history_[:, "train_acc"]) == 4  # a copy of it ran
    # ... and the user's object got none of the fitted state skorch sets
    assert not [k for k in vars(scoring) if k.endswith("_")]
    assert clf.callbacks[0][1] is scoring


def test_same_model_as_before_skorch_with_or_without_callbacks():
    # a scoring callback reads predictions, it does not change training
    X, y = blobs()
    a = make().fit(X, y)
    b = make(callbacks=[EpochScoring("accuracy", on_train=True)]).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))


def test_verbose_prints_skorchs_epoch_table(capsys):
    X, y = blobs()
    make(verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "dur" in out


@pytest.mark.parametrize("param, value", [("callbacks", "early"),
                                          ("train_split", 0.2)])
def test_bad_skorch_parameters_are_refused(param, value):
    X, y = blobs()
    with pytest.raises((TypeError, ValueError), match=param):
        make(**{param: value}).fit(X, y)


def test_a_users_callback_sees_the_feature_batches():
    import torch
    from skorch.callbacks import Callback

    class Batches(Callback):
        def initialize(self):
            self.seen_ = []
            return self

        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training:
                self.seen_.append((tuple(batch[0].shape), tuple(batch[1].shape),
                                   batch[0].dtype))

    X, y = blobs()
    clf = make(callbacks=[("batches", Batches())]).fit(X, y)
    seen = dict(clf.callbacks_)["batches"].seen_
    assert seen == ([((32, 4), (32,), torch.float32)] * 7
                    + [((16, 4), (16,), torch.float32)]) * 4
