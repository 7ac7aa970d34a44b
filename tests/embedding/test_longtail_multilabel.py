"""LongTailNetClassifier on multi-label targets: the (weighted) binary
cross-entropy against its per-entry formula, shapes, conventions, errors."""

import math
import pickle

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils import estimator_checks, get_tags

torch = pytest.importorskip("torch")

from sklearn_clmle import LongTailNetClassifier  # noqa: E402
from sklearn_clmle.embedding.losses import longtail as L  # noqa: E402

# Logits of 5 samples for 3 labels, their 0/1 targets, float64 for tight checks.
LOGITS = np.array([
    [2.0, -1.0, 0.5],
    [0.1, 0.2, -0.3],
    [-1.5, 3.0, 0.0],
    [0.7, -0.7, -2.0],
    [-40.0, 35.0, 2.5],
])
TARGETS = np.array([
    [1, 0, 0],
    [0, 1, 0],
    [0, 1, 1],
    [0, 0, 0],
    [1, 1, 0],
], dtype=float)


def _log_sigmoid(z):
    return -math.log1p(math.exp(-z)) if z >= 0 else z - math.log1p(math.exp(z))


def _naive_bce(logits, targets, w_pos=None, w_neg=None):
    """Mean over samples and labels of the (weighted) per-entry BCE, in a loop."""
    total, count = 0.0, 0
    for z_row, t_row in zip(logits, targets):
        for j, (z, t) in enumerate(zip(z_row, t_row)):
            loss = -(t * _log_sigmoid(z) + (1 - t) * _log_sigmoid(-z))
            if w_pos is not None:
                loss *= w_pos[j] if t else w_neg[j]
            total += loss
            count += 1
    return total / count


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def test_balanced_label_weights_hand_worked():
    # label 0: 3 negatives, 1 positive (n = 4): 4 / 6 and 4 / 2;
    # label 1: 1 negative, 3 positives: 4 / 2 and 4 / 6.
    w = L.balanced_label_weights([[3, 1], [1, 3]]).numpy()
    np.testing.assert_allclose(w, [[2 / 3, 2.0], [2.0, 2 / 3]], rtol=1e-6)


def test_binary_cross_entropy_matches_formula():
    got = L.binary_cross_entropy_loss(_t(LOGITS), _t(TARGETS)).item()
    assert got == pytest.approx(_naive_bce(LOGITS, TARGETS), rel=1e-12)


def test_weighted_binary_cross_entropy_matches_formula():
    n = len(TARGETS)
    n_pos = TARGETS.sum(axis=0)  # 2, 3, 1
    w_pos, w_neg = n / (2 * n_pos), n / (2 * (n - n_pos))
    weight = L.balanced_label_weights(np.stack([n - n_pos, n_pos]))
    np.testing.assert_allclose(weight.numpy(), [w_neg, w_pos], rtol=1e-6)
    expected = _naive_bce(LOGITS, TARGETS, w_pos, w_neg)
    got = L.binary_cross_entropy_loss(_t(LOGITS), _t(TARGETS), weight).item()
    assert got == pytest.approx(expected, rel=1e-6)
    # equal weights give the plain loss times the weight
    ones = torch.full((2, 3), 2.0)
    got = L.binary_cross_entropy_loss(_t(LOGITS), _t(TARGETS), ones).item()
    assert got == pytest.approx(2 * _naive_bce(LOGITS, TARGETS), rel=1e-12)


def test_binary_cross_entropy_float32_gradient_finite_for_large_logits():
    z = torch.tensor(LOGITS * 10, dtype=torch.float32, requires_grad=True)
    loss = L.binary_cross_entropy_loss(z, torch.tensor(TARGETS, dtype=torch.float32),
                                       L.balanced_label_weights([[3, 2, 4], [2, 3, 1]]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()


# -- the estimator on multi-label targets --------------------------------------

TINY = dict(hidden_units=(8,), epochs=3, batch_size=16, learning_rate=1e-2,
            device="cpu")


def _skewed(n=400, seed=0):
    """Two labels: a common one (about half positive) driven by feature 0 and
    a rare one (about 5 % positive) driven by feature 1, both noisy."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    common = X[:, 0] + 0.5 * rng.normal(size=n) > 0
    rare = X[:, 1] + 0.5 * rng.normal(size=n) > 1.8
    return X, np.c_[common, rare].astype(np.int64)


def _net(**params):
    return LongTailNetClassifier(**{**TINY, "random_state": 0, **params})


@pytest.mark.parametrize("loss", ["ce", "weighted_ce"])
def test_fit_predict_shapes_and_conventions(loss):
    X, Y = _skewed(n=120)
    before_X, before_Y = X.copy(), Y.copy()
    clf = _net(loss=loss).fit(X, Y)
    np.testing.assert_array_equal(X, before_X)
    np.testing.assert_array_equal(Y, before_Y)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    n_pos = Y.sum(axis=0)
    np.testing.assert_array_equal(clf.class_counts_, [120 - n_pos, n_pos])
    assert clf.history_[:, "reweighted"] == [loss == "weighted_ce"] * 3
    assert type(clf.module_.head).__name__ == "Linear"
    assert clf.module_.head.out_features == 2
    # two labels: the per-label logits, not a binary difference
    logits = clf.decision_function(X)
    assert logits.shape == (120, 2) and logits.dtype.kind == "f"
    with torch.no_grad():
        raw = clf.module_(torch.tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(logits, raw, rtol=1e-6)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-logits.astype(float))),
                               rtol=1e-6)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)
    pred = clf.predict(X)
    assert pred.shape == (120, 2) and pred.dtype == Y.dtype
    np.testing.assert_array_equal(pred, (logits > 0).astype(int))
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert clf.transform(X).shape == (120, 8)
    assert 0 <= clf.score(X, Y) <= 1


def test_fit_with_the_loss_formula():
    X, Y = _skewed(n=120)
    clf = _net(loss="weighted_ce").fit(X, Y)
    fn, reweighted = clf._head_loss().at(0)
    z, t = _t(LOGITS[:, :2]), _t(TARGETS[:, :2])
    n_pos = Y.sum(axis=0)
    expected = _naive_bce(LOGITS[:, :2], TARGETS[:, :2], 120 / (2 * n_pos),
                          120 / (2 * (120 - n_pos)))
    assert reweighted and fn(z, t).item() == pytest.approx(expected, rel=1e-6)
    fn, reweighted = _net(loss="ce").fit(X, Y)._head_loss().at(0)
    assert not reweighted
    assert fn(z, t).item() == pytest.approx(_naive_bce(LOGITS[:, :2], TARGETS[:, :2]),
                                            rel=1e-12)


@pytest.mark.parametrize("kind", ["bool", "float", "list", "sparse"])
def test_indicator_matrix_representations(kind):
    X, Y = _skewed(n=80)
    ref = _net(loss="ce").fit(X, Y).predict(X)
    Yk = {"bool": Y.astype(bool), "float": Y.astype(float), "list": Y.tolist(),
          "sparse": sparse.csr_matrix(Y)}[kind]
    pred = _net(loss="ce").fit(X, Yk).predict(X)
    np.testing.assert_array_equal(pred, ref)
    expected = {"bool": bool, "float": float, "list": np.int64,
                "sparse": np.int64}[kind]
    assert pred.dtype == np.dtype(expected)


def test_fixed_random_state_is_deterministic():
    X, Y = _skewed(n=80)
    a = _net(loss="weighted_ce", random_state=5).fit(X, Y)
    b = _net(loss="weighted_ce", random_state=5).fit(X, Y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))


def test_weighted_loss_improves_the_rare_label():
    X, Y = _skewed(n=400, seed=1)
    X_test, Y_test = _skewed(n=2000, seed=101)
    assert Y[:, 1].mean() < 0.06
    scores = {}
    for loss in ["ce", "weighted_ce"]:
        clf = _net(loss=loss, hidden_units=(16,), epochs=10, batch_size=32)
        pred = clf.fit(X, Y).predict(X_test)
        scores[loss] = [balanced_accuracy_score(Y_test[:, j], pred[:, j])
                        for j in range(2)]
    # plain BCE mostly predicts the rare label absent (about 0.5 to 0.7 over
    # seeds); the balanced weights recover it (about 0.8 to 0.9)
    assert scores["weighted_ce"][1] > 0.8
    assert scores["weighted_ce"][1] > scores["ce"][1] + 0.15
    # the common label is about as good either way
    assert abs(scores["weighted_ce"][0] - scores["ce"][0]) < 0.05


@pytest.mark.parametrize("loss", ["logit_adjusted", "ldam_drw", "focal",
                                  "class_balanced_focal", "cosface", "arcface"])
def test_other_losses_are_refused_for_multilabel(loss):
    X, Y = _skewed(n=40)
    with pytest.raises(ValueError, match=rf"loss='{loss}' is not available for "
                       r"multi-label y.*\('ce', 'weighted_ce'\)"):
        _net(loss=loss).fit(X, Y)


@pytest.mark.parametrize("value", [0, 1])
def test_constant_label_is_refused(value):
    X, Y = _skewed(n=40)
    Y = np.c_[Y, np.full(40, value)]
    with pytest.raises(ValueError, match=r"label\(s\) \[2\] are all 0 or all 1"):
        _net(loss="ce").fit(X, Y)


def test_multiclass_multioutput_is_refused():
    X, Y = _skewed(n=40)
    with pytest.raises(ValueError, match="multiclass-multioutput.*binary indicator"):
        _net(loss="ce").fit(X, Y * 2 + Y[:, ::-1])


def test_column_vector_y_is_one_label_with_a_warning():
    X, Y = _skewed(n=60)
    ref = _net(loss="ce").fit(X, Y[:, 0])
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        clf = _net(loss="ce").fit(X, Y[:, :1])
    assert clf.decision_function(X).shape == (60,)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


def test_multilabel_tag_follows_the_loss():
    assert get_tags(_net(loss="ce")).classifier_tags.multi_label
    assert get_tags(_net(loss="weighted_ce")).classifier_tags.multi_label
    assert not get_tags(_net(loss="logit_adjusted")).classifier_tags.multi_label


@pytest.mark.parametrize("check", [
    "check_classifiers_multilabel_representation_invariance",
    "check_classifiers_multilabel_output_format_predict",
    "check_classifiers_multilabel_output_format_predict_proba",
    "check_classifiers_multilabel_output_format_decision_function",
])
@pytest.mark.parametrize("loss", ["ce", "weighted_ce"])
def test_sklearn_multilabel_checks(check, loss):
    # parametrize_with_checks (tests/test_common.py) runs the estimator with
    # its default loss, which is single-label: run these checks here.
    clf = LongTailNetClassifier(**LongTailNetClassifier._test_params, loss=loss)
    getattr(estimator_checks, check)("LongTailNetClassifier", clf)


def test_pickle_roundtrip():
    X, Y = _skewed(n=60)
    clf = _net(loss="weighted_ce").fit(X, Y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
