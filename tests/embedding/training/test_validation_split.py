"""A validation split for CLMLEEmbedder and MetricEmbedder (``train_split``):
the held-out rows are not trained on, ``valid_loss`` is each phase's
objective on them, and skorch's EarlyStopping reads it."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402
from skorch.callbacks import Callback, EarlyStopping  # noqa: E402
from skorch.dataset import ValidSplit  # noqa: E402

from sklearn_clmle import CLMLEEmbedder, LongTailNetClassifier, MetricEmbedder  # noqa: E402
from sklearn_clmle.embedding import _base  # noqa: E402
from sklearn_clmle.utils._samplers import ClusterBatchSampler  # noqa: E402
from sklearn_clmle.embedding.training.validation import (  # noqa: E402
    nearest_cluster_of_class,
)

TINY = dict(hidden_units=(8,), embedding_dim=4, cluster_size=10,
            n_clusters_per_batch=3, n_samples_per_cluster=4, n_rounds=3,
            steps_per_round=3, warmup_epochs=2, device="cpu", random_state=0)
METRIC = dict(n_classes_per_batch=3, n_samples_per_class=4)


def data(seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], [50, 20, 10])
    X = rng.normal(size=(len(y), 4)) + 2 * np.eye(4)[y]
    return X.astype(np.float32), y


class FixedSplit:
    """A train_split that holds out the given rows, and records its calls."""

    def __init__(self, valid_rows):
        self.valid_rows = valid_rows
        self.calls = []

    def __call__(self, dataset, y=None):
        self.calls.append((len(dataset), np.array(y)))
        valid = np.asarray(self.valid_rows)
        train = np.setdiff1d(np.arange(len(dataset)), valid)
        return (torch.utils.data.Subset(dataset, train),
                torch.utils.data.Subset(dataset, valid))


VALID = np.r_[0:10, 50:54, 70:72]  # 10, 4 and 2 rows of the three classes
TRAIN = np.setdiff1d(np.arange(80), VALID)


def multilabel(y):
    return np.c_[y == 0, y != 1].astype(int)


@pytest.mark.parametrize("make, target", [
    (lambda **kw: CLMLEEmbedder(**TINY, **kw), "class"),
    (lambda **kw: CLMLEEmbedder(**TINY, **kw), "multilabel"),
    (lambda **kw: MetricEmbedder(**TINY, **METRIC, **kw), "class"),
    (lambda **kw: MetricEmbedder(**TINY, loss="lmle", **kw), "class"),
], ids=["clmle", "clmle-multilabel", "triplet", "lmle"])
def test_held_out_rows_are_not_trained_on(make, target):
    X, y = data()
    Y = multilabel(y) if target == "multilabel" else y
    split = FixedSplit(VALID)
    emb = make(train_split=split).fit(X, Y)
    # the split saw the row indices and the encoded targets
    (n, seen_y), = split.calls
    assert n == 80
    np.testing.assert_array_equal(seen_y, Y)
    # the model is exactly the one fitted on the training rows alone (the
    # "auto" settings, margins and clusters of the training rows)
    ref = make().fit(X[TRAIN], Y[TRAIN])
    np.testing.assert_array_equal(emb.transform(X), ref.transform(X))
    assert "valid_loss" not in ref.history_[-1]
    valid = emb.history_[:, "valid_loss"]
    assert len(valid) == 5 and all(math.isfinite(v) for v in valid)
    # one batch of all the held-out rows an epoch
    assert emb.history_[:, "batches", :, "valid_batch_size"] == [[len(VALID)]] * 5
    # with the split, the train_loss of every epoch is that of the reference
    assert emb.history_[:, "train_loss"] == ref.history_[:, "train_loss"]


def _naive_cluster_loss_one_cluster_per_class(Z, y, a1, scale):
    """Eq. 9 sample by sample when every class is one cluster (no within
    term), with the cost-sensitive weights 1 / (class count in the batch);
    ``a1[c]``: the between-class margin of class ``c``."""
    Z = Z.astype(np.float64)
    classes = np.unique(y)
    mu = {c: Z[y == c].mean(axis=0) for c in classes}
    num = den = 0.0
    for z, c in zip(Z, y):
        s_m = scale * z @ mu[c]
        others = [scale * z @ mu[k] for k in classes if k != c]
        lse = max(others) + math.log(sum(math.exp(s - max(others)) for s in others))
        w = 1.0 / np.sum(y == c)
        num += w * max(0.0, lse - s_m + scale * a1[c])
        den += w
    return num / den


def test_clmle_valid_loss_is_the_cluster_loss_of_the_held_out_rows():
    X, y = data()
    # one cluster per class, no softmax term: the round's loss on the
    # held-out rows is Eq. 9 with their classes as the clusters
    emb = CLMLEEmbedder(**{**TINY, "cluster_size": 100}, softmax_weight=0.0,
                        train_split=FixedSplit(VALID)).fit(X, y)
    assert emb.history_[-1, "n_clusters"] == [3]
    Z = emb.transform(X[VALID])
    expected = _naive_cluster_loss_one_cluster_per_class(
        Z, y[VALID], emb.class_margins_between_[0], emb.scale)
    assert emb.history_[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)


def _naive_triplet(Z, y, margin):
    Z = Z.astype(np.float64)
    losses = []
    for i in range(len(Z)):
        d = np.sqrt(((Z - Z[i]) ** 2).sum(axis=1))
        pos = [d[j] for j in range(len(Z)) if j != i and y[j] == y[i]]
        neg = [d[j] for j in range(len(Z)) if y[j] != y[i]]
        losses.append(max(0.0, margin + max(pos) - min(neg)) if pos and neg else 0.0)
    return float(np.mean(losses))


def test_triplet_valid_loss_is_batch_hard_over_the_held_out_rows():
    X, y = data()
    emb = MetricEmbedder(**TINY, **METRIC, train_split=FixedSplit(VALID)).fit(X, y)
    expected = _naive_triplet(emb.transform(X[VALID]), y[VALID], emb.triplet_margin)
    assert emb.history_[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    # the warm-up rows are recorded too, as the softmax term (a cross-entropy)
    assert all(v > 0 for v in emb.history_[:2, "valid_loss"])


def test_held_out_rows_join_the_nearest_cluster_of_their_own_class():
    centroids = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.float32)
    sampler = ClusterBatchSampler(np.arange(4), np.array([0, 0, 1, 1]), centroids,
                                  n_clusters_per_batch=2, n_per_cluster=1)
    Z = torch.tensor([[0.8, 0.6], [0.8, 0.6], [-0.6, -0.8], [0.6, -0.8]])
    # row 1 is nearest to cluster 0, but of class 1: cluster 3 (0.8 > -0.8)
    got = nearest_cluster_of_class(Z, np.array([0, 1, 1, 0]), sampler)
    np.testing.assert_array_equal(got, [0, 3, 3, 0])


def test_early_stopping_on_valid_loss_leaves_a_fitted_estimator():
    X, y = data()
    n_rounds = 30
    emb = CLMLEEmbedder(**{**TINY, "n_rounds": n_rounds}, learning_rate=0.05,
                        train_split=ValidSplit(0.25, stratified=True, random_state=0),
                        callbacks=[EarlyStopping(monitor="valid_loss", patience=1)])
    emb.fit(X, y)
    phases = emb.history_[:, "phase"]
    assert phases[:2] == ["warmup", "warmup"]
    rounds = emb.history_[2:, "valid_loss"]
    assert 1 < len(rounds) < n_rounds
    # patience=1, counted within the rounds: the last round did not improve
    # on the best round before it (by EarlyStopping's relative threshold
    # 1e-4), every earlier one did
    assert rounds[-1] >= min(rounds[:-1]) * (1 - 1e-4)
    assert all(b < a for a, b in zip(rounds[:-2], rounds[1:-1]))
    check_is_fitted(emb)
    Z = emb.transform(X)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)


class StopAfter(Callback):
    """Stops the warm-up (a skorch fit of its own) after ``epochs``."""

    def __init__(self, epochs=1):
        self.epochs = epochs

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1, "phase"] == "warmup" and len(net.history) == self.epochs:
            raise KeyboardInterrupt


@pytest.mark.parametrize("cls, rounds", [(CLMLEEmbedder, "cluster"),
                                         (MetricEmbedder, "triplet")])
def test_a_stop_in_the_warmup_ends_the_warmup_not_the_fit(cls, rounds):
    X, y = data()
    emb = cls(**TINY, callbacks=[StopAfter(1)]).fit(X, y)
    # warmup_epochs=2: the stop after the first ends the warm-up; the three
    # rounds follow
    assert emb.history_[:, "phase"] == ["warmup", rounds, rounds, rounds]
    assert emb.history_[1:, "round"] == [1, 2, 3]


@pytest.mark.parametrize("split, error, match", [
    (0.2, ValueError, "train_split"),
    (lambda ds, y: ds, TypeError, "should return .dataset_train, dataset_valid"),
    (lambda ds, y: (ds, [1, 2]), TypeError, "validation part of type list"),
    (lambda ds, y: (torch.utils.data.Subset(ds, np.arange(70)),
                    torch.utils.data.Subset(ds, np.arange(70, 80))),
     ValueError, "no training row of class 2"),
    (lambda ds, y: (ds, torch.utils.data.Subset(ds, [])), ValueError,
     "validation part of 0 rows"),
])
def test_bad_train_split_is_refused_clearly(split, error, match):
    X, y = data()
    with pytest.raises(error, match=match):
        CLMLEEmbedder(**TINY, train_split=split).fit(X, y)


def test_train_split_is_refused_in_a_data_parallel_fit(monkeypatch):
    class TwoRanks:
        def get_world_size(self):
            return 2

    monkeypatch.setattr(_base, "_dist", lambda: TwoRanks())
    X, y = data()
    with pytest.raises(ValueError, match="not supported in a data-parallel fit"):
        MetricEmbedder(**TINY, train_split=ValidSplit(0.2)).fit(X, y)
    # LongTailNetClassifier's skorch split would run on every process alike
    with pytest.raises(ValueError, match="not supported in a data-parallel fit"):
        LongTailNetClassifier(hidden_units=(8,), epochs=1, device="cpu",
                              train_split=ValidSplit(0.2)).fit(X, y)
    # distributed=False: an independent fit on every process, split allowed
    LongTailNetClassifier(hidden_units=(8,), epochs=1, device="cpu",
                          distributed=False, train_split=ValidSplit(0.2)).fit(X, y)


def test_train_split_is_a_parameter_for_clone_and_grid_search():
    X, y = data()
    split = ValidSplit(0.25, stratified=True, random_state=0)
    emb = CLMLEEmbedder(**TINY, train_split=split)
    assert emb.get_params()["train_split"] is split
    assert clone(emb).get_params()["train_split"] is not None
    fitted = clone(emb).fit(X, y)
    assert np.isfinite(fitted.history_[-1, "valid_loss"])
    search = GridSearchCV(
        make_pipeline(emb, KNeighborsClassifier(3)),
        {"clmleembedder__train_split": [None, split]}, cv=2).fit(X, y)
    assert list(search.cv_results_["param_clmleembedder__train_split"]) == [None, split]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_verbose_table_shows_valid_loss(capsys):
    X, y = data()
    MetricEmbedder(**TINY, **METRIC, verbose=1, train_split=FixedSplit(VALID)).fit(X, y)
    assert "valid_loss" in capsys.readouterr().out



def test_early_stopping_load_best_keeps_the_best_round():
    X, y = data()
    split = dict(train_split=ValidSplit(0.25, stratified=True, random_state=0),
                 learning_rate=0.05)
    emb = CLMLEEmbedder(**{**TINY, "n_rounds": 30}, **split, callbacks=[
        EarlyStopping(monitor="valid_loss", patience=2, load_best=True)]).fit(X, y)
    rounds = emb.history_[2:, "valid_loss"]
    best = int(np.argmin(rounds)) + 1  # rounds up to the best one
    assert best < len(rounds) < 30  # it stopped, after worse rounds
    # training does not depend on the callbacks, so the restored module is
    # the one a fit of `best` rounds ends with
    ref = CLMLEEmbedder(**{**TINY, "n_rounds": best}, **split).fit(X, y)
    np.testing.assert_array_equal(emb.transform(X), ref.transform(X))
