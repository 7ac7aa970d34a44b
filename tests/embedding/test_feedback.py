"""Training a user can watch and steer: fitted ``callbacks_``, scoring on the
embedders, the ``verbose=1`` table, ``ProgressBar``'s batch counts, the
LDAM-DRW warning, and the ``device`` parameter checked and loaded the same
way by every torch estimator."""

import math
import pickle
import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skorch.callbacks import (  # noqa: E402
    Callback,
    EarlyStopping,
    EpochScoring,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import ValidSplit  # noqa: E402

from sklearn_clmle import (  # noqa: E402
    CLMLEEmbedder,
    KNearestClusterClassifier,
    LongTailNetClassifier,
    MetricEmbedder,
    SphericalKMeans,
)

TINY = {
    "CLMLEEmbedder": dict(hidden_units=(8,), embedding_dim=4, cluster_size=10,
                          n_clusters_per_batch=3, n_samples_per_cluster=5,
                          n_rounds=2, steps_per_round=3, warmup_epochs=2),
    "MetricEmbedder": dict(hidden_units=(8,), embedding_dim=4, n_rounds=2,
                           steps_per_round=3, warmup_epochs=2,
                           n_classes_per_batch=2, n_samples_per_class=5),
    "LongTailNetClassifier": dict(hidden_units=(8,), epochs=4, batch_size=16),
}
CLASSES = {"CLMLEEmbedder": CLMLEEmbedder, "MetricEmbedder": MetricEmbedder,
           "LongTailNetClassifier": LongTailNetClassifier}
EMBEDDERS = ["CLMLEEmbedder", "MetricEmbedder"]


def make(name, **params):
    return CLASSES[name](**{**TINY[name], "device": "cpu", "random_state": 0,
                            **params})


def blobs(n=80, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1], [n * 3 // 4, n - n * 3 // 4])
    X = rng.normal(size=(n, 4)) + 2 * np.eye(4)[y]
    return X.astype(np.float32), y


class Recorder(Callback):
    """Records the epochs it saw in ``seen`` (a list it may be given)."""

    def __init__(self, seen=None):
        self.seen = seen

    def initialize(self):
        self.seen = [] if self.seen is None else self.seen
        return self

    def on_epoch_end(self, net, **kwargs):
        self.seen.append(len(net.history))


# -- callbacks_ -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(CLASSES))
def test_fitted_callbacks_are_exposed_and_the_users_untouched(name):
    X, y = blobs()
    mine = Recorder(seen=[])
    est = make(name, callbacks=[mine, ("stop", EarlyStopping(monitor="train_loss", patience=50))])
    est.fit(X, y)
    assert mine.seen == []  # cloned: the object passed is not changed
    fitted = dict(est.callbacks_)
    names = [n for n, _ in est.callbacks_]
    # skorch's list: its defaults, the library's and the user's, by name
    assert {"epoch_timer", "train_loss", "print_log", "Recorder", "stop"} <= set(names)
    assert fitted["Recorder"] is not mine
    # the warm-up and the rounds are two skorch fits: a callback sees each
    # fit's history (its epochs numbered from 1)
    phases = [row.get("phase") for row in est.history_]
    n_warmup = phases.count("warmup")
    assert fitted["Recorder"].seen == [*range(1, n_warmup + 1),
                                       *range(1, len(phases) - n_warmup + 1)]
    assert isinstance(fitted["stop"], EarlyStopping)


def test_fitted_callbacks_survive_a_pickle_and_a_failed_refit():
    X, y = blobs()
    est = make("CLMLEEmbedder", callbacks=[Recorder(), LRScheduler()]).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    assert dict(loaded.callbacks_)["Recorder"].seen == [1, 2, 1, 2]
    assert isinstance(dict(loaded.callbacks_)["LRScheduler"], LRScheduler)
    with pytest.raises(ValueError):
        loaded.set_params(warmup_epochs=-1).fit(X, y)
    assert not hasattr(loaded, "callbacks_")


# -- scoring callbacks ----------------------------------------------------------


@pytest.mark.parametrize("name", EMBEDDERS)
@pytest.mark.parametrize("callback", [
    EpochScoring("balanced_accuracy", lower_is_better=False),
    EpochScoring(None),
    EpochScoring(lambda net, X, y: 0.0, use_caching=True),
    EpochScoring(lambda net, X, y: 0.0, use_caching=False, on_train=True),
])
def test_embedders_refuse_scorers_they_cannot_run_naming_what_works(name, callback):
    X, y = blobs()
    est = make(name, callbacks=[callback],
               train_split=ValidSplit(0.25, stratified=True, random_state=0))
    with pytest.raises(ValueError, match=r"cannot score .*EpochScoring\(scoring=fn, "
                                         r"use_caching=False.*net\.transform\(X\)"):
        est.fit(X, y)


def _centroid_bacc(net, X, y):
    """Balanced accuracy of the nearest class mean on the held-out embeddings."""
    Z = net.transform(X)
    means = np.stack([Z[y == c].mean(axis=0) for c in np.unique(y)])
    pred = (Z @ means.T).argmax(axis=1)
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


@pytest.mark.parametrize("name", EMBEDDERS)
def test_embedders_score_the_held_out_rows_with_a_callable(name):
    X, y = blobs()
    split = ValidSplit(0.25, stratified=True, random_state=0)
    seen = {}

    def score(net, X_valid, y_valid):
        seen["X"], seen["y"] = X_valid, y_valid
        return _centroid_bacc(net, X_valid, y_valid)

    est = make(name, train_split=split, callbacks=[
        EpochScoring(score, use_caching=False, lower_is_better=False, name="bacc")])
    est.fit(X, y)
    # the 20 held-out rows (a quarter of 80), their classes as a vector
    assert seen["X"].shape == (20, 4) and seen["y"].shape == (20,)
    scores = est.history_[:, "bacc"]
    assert len(scores) == len(est.history_)
    # the last round's score is that of the fitted embedder on those rows
    _, valid = split(np.arange(80), y)
    rows = np.asarray(valid.indices)
    np.testing.assert_array_equal(seen["y"], y[rows])
    Z = est.transform(X[rows])
    means = np.stack([Z[y[rows] == c].mean(axis=0) for c in (0, 1)])
    pred = (Z @ means.T).argmax(axis=1)
    expected = np.mean([np.mean(pred[y[rows] == c] == c) for c in (0, 1)])
    assert scores[-1] == pytest.approx(expected)


def test_scoring_does_not_change_the_fit():
    X, y = blobs()
    split = ValidSplit(0.25, stratified=True, random_state=0)
    a = make("CLMLEEmbedder", train_split=split).fit(X, y)
    b = make("CLMLEEmbedder", train_split=split, callbacks=[
        EpochScoring(_centroid_bacc, use_caching=False, lower_is_better=False)]).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


# -- verbose=1 -------------------------------------------------------------------


def _table(capsys):
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    return out.splitlines()


def test_embedder_table_has_no_lists_and_a_header_per_phase(capsys):
    X, y = blobs()
    make("CLMLEEmbedder", verbose=1, cluster_size=5,
         train_split=ValidSplit(0.25, stratified=True, random_state=0)).fit(X, y)
    lines = _table(capsys)
    headers = [line for line in lines if line.split()[:1] == ["epoch"]]
    assert len(headers) == 2  # the warm-up's, then the rounds'
    assert "round" not in headers[0] and "round" in headers[1]
    assert "valid_loss" in headers[1]
    assert max(map(len, lines)) <= 200
    assert "[" not in "".join(lines)  # no list printed
    assert not {"step_loss", "cluster_sizes", "n_clusters"} & set(" ".join(lines).split())
    rows = [line for line in lines if line.split()[:1] and line.split()[0].isdigit()]
    assert len(rows) == 4
    # each row has as many cells as its header
    assert [len(r.split()) for r in rows] == [len(headers[0].split())] * 2 + [
        len(headers[1].split())] * 2


@pytest.mark.parametrize("loss, shown", [("ce", False), ("weighted_ce", False),
                                         ("ldam_drw", True)])
def test_classifier_table_shows_reweighted_only_where_it_changes(capsys, loss, shown):
    X, y = blobs()
    make("LongTailNetClassifier", loss=loss, verbose=1).fit(X, y)
    lines = _table(capsys)
    assert ("reweighted" in lines[0]) is shown
    assert max(map(len, lines)) <= 200
    if shown:  # drw_epoch_ = 2: epochs 3 and 4 re-weighted
        assert [line.split()[1] for line in lines[2:]][2:] == ["+", "+"]


# -- ProgressBar ----------------------------------------------------------------


class Totals(ProgressBar):
    """``ProgressBar`` recording each epoch's total of batches and the
    batches it counted (its bar's updates, one a batch)."""

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.totals_ = getattr(self, "totals_", []) + [self.pbar_.total]

    def on_epoch_end(self, net, **kwargs):
        self.counted_ = getattr(self, "counted_", []) + [self.pbar_.n]
        super().on_epoch_end(net, **kwargs)


def test_progress_bar_counts_the_batches_of_every_phase():
    X, y = blobs()
    # warm-up batch 3 * 5 = 15 rows: ceil(60 / 15) = 4 batches and the
    # held-out rows' one; 3 steps and the held-out batch a round
    user = Totals()
    est = make("CLMLEEmbedder", callbacks=[user],
               train_split=ValidSplit(0.25, stratified=True, random_state=0),
               n_rounds=2, steps_per_round=3)
    est.fit(X, y)
    bar = dict(est.callbacks_)["Totals"]
    assert bar.totals_ == [4 + 1, 4 + 1, 3 + 1, 3 + 1]
    assert bar.counted_ == bar.totals_  # the batches the bar saw
    assert [len(b) for b in est.history_[:, "batches"]] == bar.totals_
    # the user's callback untouched, the fitted one as the user set it
    assert not hasattr(user, "totals_") and user.batches_per_epoch == "auto"
    assert bar.batches_per_epoch == "auto"
    # without held-out rows: 7 steps a round; a bar given a number keeps it
    est = make("MetricEmbedder", callbacks=[Totals(), ("fixed", Totals(2))],
               warmup_batch_size=7, steps_per_round=7)
    est.fit(X, y)
    totals = dict(est.callbacks_)["Totals"].totals_
    assert totals == [math.ceil(80 / 7)] * 2 + [7, 7]
    assert dict(est.callbacks_)["Totals"].counted_ == totals
    assert dict(est.callbacks_)["fixed"].totals_ == [2] * 4


# -- LDAM-DRW that never re-weights -------------------------------------------


def test_warning_when_training_stops_before_the_deferred_reweighting():
    X, y = blobs()
    split = ValidSplit(0.25, stratified=True, random_state=0)
    # an EarlyStopping that cannot be satisfied stops after patience epochs
    est = make("LongTailNetClassifier", loss="ldam_drw", epochs=12,
               train_split=split,
               callbacks=[EarlyStopping(patience=1, threshold=1e9)])
    with pytest.warns(UserWarning, match=r"re-weighting never ran; training "
                                         r"stopped after 2 of epochs=12 .*EarlyStopping"
                                         r".* from epoch drw_epoch_ \+ 1 = 9") as rec:
        est.fit(X, y)
    assert rec[0].filename == __file__  # points at the user's call
    # a drw_epoch beyond the epochs never re-weights either
    with pytest.warns(UserWarning, match=r"never ran; epochs=3 ends before the "
                                         r"re-weighting from epoch drw_epoch_ \+ 1 = 6"):
        make("LongTailNetClassifier", loss="ldam_drw", epochs=3, drw_epoch=5).fit(X, y)
    assert est.drw_epoch_ == 8 and not any(est.history_[:, "reweighted"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make("LongTailNetClassifier", loss="ldam_drw", epochs=12,
             train_split=split).fit(X, y)
        make("LongTailNetClassifier", loss="focal", epochs=2, train_split=split,
             callbacks=[EarlyStopping(patience=1, threshold=1e9)]).fit(X, y)


# -- device -------------------------------------------------------------------


def _unavailable(device):
    kind = device.split(":")[0]
    if kind == "cuda":
        return not torch.cuda.is_available() or (
            ":" in device and int(device.split(":")[1]) >= torch.cuda.device_count())
    return not torch.backends.mps.is_available()


@pytest.mark.parametrize("name", list(CLASSES))
@pytest.mark.parametrize("device", ["cuda", "cuda:3", "cuda:99", "mps"])
def test_unavailable_devices_are_refused_at_fit_naming_the_parameter(name, device):
    if not _unavailable(device):
        pytest.skip(f"{device} is available here")
    X, y = blobs()
    with pytest.raises(ValueError, match=rf"device='{device}' was requested but "):
        make(name, device=device).fit(X, y)
    assert not hasattr(make(name, device=device), "module_")


@pytest.mark.parametrize("name", list(CLASSES))
@pytest.mark.parametrize("device", ["gpu", "cuda:x", "", "GPU:0"])
def test_unknown_devices_are_refused_at_fit_naming_the_parameter(name, device):
    X, y = blobs()
    with pytest.raises(ValueError, match=rf"device='{device}' is not a torch "
                                         r"device; expected 'auto', 'cpu'"):
        make(name, device=device).fit(X, y)


@pytest.mark.parametrize("name", list(CLASSES))
def test_model_saved_with_a_gpu_loads_on_the_cpu_with_a_warning(name, monkeypatch):
    X, y = blobs()
    est = make(name).fit(X, y)
    expected = est.transform(X)
    est.device = "cuda:1"  # as saved by a fit on a second GPU
    data = pickle.dumps(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match=r"saved with device='cuda:1'.*loaded "
                                         r"with device='cpu'"):
        loaded = pickle.loads(data)
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), expected)
    # auto and cpu load quietly
    est.device = "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pickle.loads(pickle.dumps(est)).device == "auto"


# -- string features --------------------------------------------------------------


@pytest.mark.parametrize("name", ["SphericalKMeans", "KNearestClusterClassifier",
                                  *CLASSES])
@pytest.mark.parametrize("kind", ["str", "object", "frame"])
def test_string_features_get_one_message_from_every_estimator(name, kind):
    pd = pytest.importorskip("pandas")
    X = np.array([["a", "b"], ["c", "d"], ["e", "f"], ["g", "h"]] * 5)
    if kind == "object":
        X = X.astype(object)
        X[:, 1] = 1.5
    if kind == "frame":
        X = pd.DataFrame({"u": pd.Categorical(X[:, 0]), "v": np.arange(20.0)})
    y = np.arange(20) % 2
    est = {"SphericalKMeans": lambda: SphericalKMeans(2),
           "KNearestClusterClassifier": lambda: KNearestClusterClassifier()}.get(
        name, lambda: make(name))()
    with pytest.raises(ValueError, match=(
            rf"^X should hold numbers; got an array of dtype .* with values such "
            rf"as 'a'\. {name} needs numeric features, not strings or objects: "
            r"encode categorical "
            r"columns numerically \(e\.g\. with sklearn\.preprocessing\."
            r"OneHotEncoder\)\.$")):
        est.fit(X, y)
