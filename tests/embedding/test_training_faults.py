"""Faults during training (issue 16, item 4): a user ``module`` whose forward
raises, a loss that turns NaN mid-round, and ``KeyboardInterrupt`` each leave
the torch estimators cleanly unfitted (as a new estimator: no fitted
attribute left, ``check_is_fitted`` raises), with the exception re-raised
unchanged and a note (or, for our own ``FloatingPointError``, a message)
naming the training step.

Before the fix (``unfit_on_interrupt`` only caught ``KeyboardInterrupt``),
any other exception left ``n_features_in_``, ``input_shape_``,
``margin_between_``, ... set without ``module_``: ``check_is_fitted``
passed and ``transform`` failed with an ``AttributeError``.
"""

import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sklearn_clmle import CLMLEEmbedder, LongTailNetClassifier, MetricEmbedder
from sklearn_clmle.embedding.losses import cluster as cluster_losses
from sklearn_clmle.embedding.losses import metric as metric_losses

D = 5
CLMLE = dict(CLMLEEmbedder._test_params, random_state=0)
METRIC = dict(MetricEmbedder._test_params, random_state=0)
NET = dict(LongTailNetClassifier._test_params, epochs=3, random_state=0)


def blobs(n_per=(20, 10, 6), seed=0):
    rng = np.random.default_rng(seed)
    means = 3 * rng.normal(size=(len(n_per), D))
    y = np.repeat(np.arange(len(n_per)), n_per)
    return (means[y] + rng.normal(size=(len(y), D))).astype(np.float32), y


class Faulty(torch.nn.Module):
    """A backbone whose forward raises ``exc`` (or returns NaN) on call ``at``
    and after.  Call 1 is the dummy forward pass that sizes the heads."""

    def __init__(self, at, exc=None):
        super().__init__()
        self.at, self.exc, self.calls = at, exc, 0
        self.linear = torch.nn.Linear(D, 8)

    def forward(self, x):
        self.calls += 1
        out = self.linear(x)
        if self.calls >= self.at:
            if self.exc is None:
                return out * float("nan")
            raise self.exc
        return out


def make(kind, module=None, **params):
    if kind == "clmle":
        return CLMLEEmbedder(module, **{**CLMLE, **params})
    if kind == "metric":
        return MetricEmbedder(module, **{**METRIC, **params})
    return LongTailNetClassifier(module, **{**NET, **params})


def assert_cleanly_unfitted(est):
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    fresh = clone(est)
    assert sorted(vars(est)) == sorted(vars(fresh))
    assert not [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]


def notes(excinfo):
    return " ".join(getattr(excinfo.value, "__notes__", []))


# (estimator, call of forward that raises, words of the step).  CLMLE and
# MetricEmbedder (36 samples, warm-up batches of 10): calls 2-5 are the
# warm-up's 4 batches, then each round re-clusters (one extraction call, CLMLE
# and LMLE only) and takes 2 steps.  LongTailNetClassifier (batches of 16):
# 3 batches per epoch from call 2.
FAULT_POINTS = [
    ("clmle", 1, r"building the network"),
    ("clmle", 3, r"warm-up epoch 1, batch 2"),
    ("clmle", 6, r"round 1, re-clustering"),
    ("clmle", 8, r"round 1, step 2 \(step 2 of the cluster phase\)"),
    ("clmle", 9, r"round 2, re-clustering"),
    ("metric", 1, r"building the network"),
    ("metric", 2, r"warm-up epoch 1, batch 1"),
    ("metric", 6, r"round 1, step 1 \(step 1 of the metric phase\)"),
    ("metric", 9, r"round 2, step 2 \(step 4 of the metric phase\)"),
    ("longtail", 1, r"building the network"),
    ("longtail", 6, r"epoch 2, batch 2"),
]


@pytest.mark.parametrize("kind, at, step", FAULT_POINTS)
def test_module_that_raises_leaves_estimator_unfitted(kind, at, step):
    X, y = blobs()
    if kind == "metric":  # the triplet loss: no re-clustering, steps at call 4
        est = make(kind, Faulty(at, RuntimeError("boom in forward")), loss="triplet")
    else:
        est = make(kind, Faulty(at, RuntimeError("boom in forward")))
    torch_state = torch.random.get_rng_state()
    with pytest.raises(RuntimeError, match="boom in forward") as excinfo:
        est.fit(X, y)
    # the user's exception itself, unchanged, with a note naming the step
    assert type(excinfo.value) is RuntimeError
    assert str(excinfo.value) == "boom in forward"
    assert len(excinfo.value.__notes__) == 1
    assert re.search(step, notes(excinfo)), notes(excinfo)
    assert "left unfitted" in notes(excinfo)
    assert_cleanly_unfitted(est)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    # a later fit with a working module succeeds
    est.set_params(module=None).fit(X, y)
    check_is_fitted(est)
    assert est.transform(X).shape[0] == len(X)


@pytest.mark.parametrize("kind", ["clmle", "metric", "longtail"])
def test_failed_refit_drops_the_previous_fit(kind):
    X, y = blobs()
    est = make(kind).fit(X, y)
    check_is_fitted(est)
    est.set_params(module=Faulty(3, ValueError("bad module")))
    with pytest.raises(ValueError, match="bad module"):
        est.fit(X, y)
    assert_cleanly_unfitted(est)
    with pytest.raises(NotFittedError):
        est.transform(X)


@pytest.mark.parametrize("kind", ["clmle", "metric", "longtail"])
def test_refused_input_leaves_estimator_unfitted(kind):
    # validation errors too: before, a refit on bad y left the new
    # n_features_in_ next to the old module_
    X, y = blobs()
    est = make(kind).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(np.r_[X[:-1], np.full((1, D), np.nan, np.float32)], y)
    assert_cleanly_unfitted(est)


@pytest.mark.parametrize("kind", ["clmle", "metric", "longtail"])
def test_module_turning_nan_mid_training(kind):
    X, y = blobs()
    est = make(kind, Faulty(7), **({"loss": "triplet"} if kind == "metric" else {}))
    with pytest.raises(FloatingPointError, match=r"loss became nan at") as excinfo:
        est.fit(X, y)
    where = {"clmle": r"round 1, step 1", "metric": r"round 1, step 2",
             "longtail": r"epoch 2, batch 3"}[kind]
    assert re.search(where, str(excinfo.value))
    assert not getattr(excinfo.value, "__notes__", [])  # no repeated step
    assert_cleanly_unfitted(est)


@pytest.mark.parametrize("kind, loss", [("clmle", "lmle"), ("metric", "lmle")])
@pytest.mark.parametrize("at, round_", [(6, 1), (9, 2)])
def test_embeddings_turning_nan_before_reclustering(kind, loss, at, round_):
    # bug: the NaN embeddings reached SphericalKMeans, which refused them
    # with "Input X contains NaN. SphericalKMeans does not accept missing
    # values" -- about an input the user never passed
    X, y = blobs()
    est = make(kind, Faulty(at), **({"loss": loss} if kind == "metric" else {}))
    with pytest.raises(FloatingPointError,
                       match=rf"embeddings of 36 of 36 training sample\(s\) became "
                             rf"NaN or infinite at round {round_}, re-clustering"):
        est.fit(X, y)
    assert_cleanly_unfitted(est)


def _nan_after(forward, k):
    calls = {"n": 0}

    def patched(self, *args, **kwargs):
        calls["n"] += 1
        loss, per = forward(self, *args, **kwargs)
        if calls["n"] >= k:
            loss = loss * float("nan")
        return loss, per

    return patched


def test_cluster_loss_turning_nan_mid_round(monkeypatch):
    X, y = blobs()
    monkeypatch.setattr(cluster_losses.ClusterLoss, "forward",
                        _nan_after(cluster_losses.ClusterLoss.forward, 3))
    est = make("clmle", n_rounds=2, steps_per_round=2)
    with pytest.raises(FloatingPointError,
                       match=r"round 2, step 1 \(step 3 of the cluster phase\)"):
        est.fit(X, y)
    assert_cleanly_unfitted(est)
    monkeypatch.undo()
    est.fit(X, y)
    check_is_fitted(est)


@pytest.mark.parametrize("loss, cls", [("triplet", "BatchHardTripletLoss"),
                                       ("lmle", "QuintupletLoss")])
def test_metric_loss_turning_nan_mid_round(monkeypatch, loss, cls):
    X, y = blobs()
    klass = getattr(metric_losses, cls)
    monkeypatch.setattr(klass, "forward", _nan_after(klass.forward, 2))
    est = make("metric", loss=loss)
    with pytest.raises(FloatingPointError, match=r"round 1, step 2"):
        est.fit(X, y)
    assert_cleanly_unfitted(est)


@pytest.mark.parametrize("at, step", [(2, "epoch 1, batch 1"),
                                      (8, "epoch 3, batch 1")])
def test_interrupted_longtail_fit_leaves_it_unfitted(at, step):
    X, y = blobs()
    est = make("longtail", Faulty(at, KeyboardInterrupt()))
    torch_state = torch.random.get_rng_state()
    with pytest.raises(KeyboardInterrupt) as excinfo:
        est.fit(X, y)
    assert step in notes(excinfo)
    assert_cleanly_unfitted(est)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    est.set_params(module=None).fit(X, y)
    assert est.predict(X).shape == (len(X),)


def test_interrupted_clmle_round_names_the_step():
    X, y = blobs()
    est = make("clmle", Faulty(7, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt) as excinfo:
        est.fit(X, y)
    assert "round 1, step 1" in notes(excinfo)
    assert_cleanly_unfitted(est)


def test_failed_fit_keeps_parameters_and_output_configuration():
    X, y = blobs()
    est = make("clmle").set_output(transform="pandas").fit(X, y)
    est.set_params(module=Faulty(2, RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(X, y)
    assert_cleanly_unfitted(est)
    assert est._sklearn_output_config == {"transform": "pandas"}
    assert est.get_params()["embedding_dim"] == CLMLE["embedding_dim"]


@pytest.mark.parametrize("which", ["clmle", "longtail", "metric"])
def test_optimiser_step_overflow_is_named_and_unfits(which):
    """A learning rate that passes validation (below float32's maximum) but
    overflows Adam's step size (lr / bias correction) is refused as a
    FloatingPointError naming the step and learning_rate, not torch's
    "value cannot be converted to type float without overflow"."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from sklearn_clmle import CLMLEEmbedder, LongTailNetClassifier, MetricEmbedder

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.arange(40) % 2
    common = dict(learning_rate=3e38, device="cpu", random_state=0)
    est = {
        "clmle": CLMLEEmbedder(hidden_units=(8,), embedding_dim=4, warmup_epochs=1,
                               n_rounds=1, steps_per_round=1, **common),
        "longtail": LongTailNetClassifier(hidden_units=(8,), epochs=1, **common),
        "metric": MetricEmbedder(hidden_units=(8,), embedding_dim=4, warmup_epochs=0,
                                 n_rounds=1, steps_per_round=1, **common),
    }[which]
    with pytest.raises(FloatingPointError,
                       match=r"optimiser's step overflowed at .*(epoch|round).*learning_rate"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
