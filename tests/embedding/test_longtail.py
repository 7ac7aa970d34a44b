"""LongTailNetClassifier and its losses: formulas, DRW, determinism, API, errors."""

import math
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from sklearn_clmle import LongTailNetClassifier  # noqa: E402
from sklearn_clmle.embedding.losses import longtail as L  # noqa: E402
# the default angular_scale (Cao et al.'s for LDAM, Wang et al.'s for AM-softmax)
LDAM_SCALE = 30.0

LOSSES = ["ce", "weighted_ce", "logit_adjusted", "ldam_drw", "focal",
          "class_balanced_focal", "cosface", "arcface"]
TINY = dict(hidden_units=(8,), epochs=3, batch_size=16, learning_rate=1e-2,
            device="cpu")

# A small logits tensor, its targets and class counts, shared by the formula
# tests (float64 so that the comparisons are tight).
LOGITS = np.array([
    [2.0, -1.0, 0.5],
    [0.1, 0.2, 0.3],
    [-1.5, 3.0, 0.0],
    [0.7, 0.7, -2.0],
    [1.0, -0.5, 2.5],
])
TARGETS = np.array([0, 2, 1, 1, 2])
COUNTS = np.array([6, 3, 1])


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _log_softmax_row(z):
    m = max(z)
    return [v - m - math.log(sum(math.exp(u - m) for u in z)) for v in z]


def _per_sample_ce(logits=LOGITS, targets=TARGETS):
    return [-_log_softmax_row(list(z))[t] for z, t in zip(logits, targets)]


def _blobs(n0=40, n1=10, n2=0, dim=5, seed=0):
    rng = np.random.RandomState(seed)
    parts = [rng.normal(0, 1, (n0, dim)), rng.normal(3, 1, (n1, dim))]
    labels = [np.zeros(n0, int), np.ones(n1, int)]
    if n2:
        parts.append(rng.normal(-3, 1, (n2, dim)))
        labels.append(np.full(n2, 2))
    return np.concatenate(parts), np.concatenate(labels)


# -- the loss functions against their per-sample formulas --------------------


def test_cross_entropy_matches_formula():
    got = L.cross_entropy_loss(_t(LOGITS), torch.tensor(TARGETS)).item()
    assert got == pytest.approx(np.mean(_per_sample_ce()), rel=1e-12)


def test_weighted_cross_entropy_uses_balanced_weights_and_weighted_mean():
    w = L.balanced_weights(COUNTS)
    # n / (C n_c) with n = 10, C = 3: 10/18, 10/9, 10/3 (scikit-learn's "balanced").
    np.testing.assert_allclose(w.numpy(), [10 / 18, 10 / 9, 10 / 3], rtol=1e-6)
    wy = np.array([10 / 18, 10 / 9, 10 / 3])[TARGETS]
    expected = np.sum(wy * _per_sample_ce()) / wy.sum()
    got = L.cross_entropy_loss(_t(LOGITS), torch.tensor(TARGETS), w).item()
    assert got == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("tau", [0.0, 1.0, 2.0])
def test_logit_adjusted_loss_matches_formula(tau):
    prior = COUNTS / COUNTS.sum()
    adjusted = LOGITS + tau * np.log(prior)
    expected = np.mean(_per_sample_ce(adjusted))
    got = L.logit_adjusted_loss(_t(LOGITS), torch.tensor(TARGETS), COUNTS, tau).item()
    assert got == pytest.approx(expected, rel=1e-12)
    if tau == 0.0:
        assert got == pytest.approx(np.mean(_per_sample_ce()), rel=1e-12)


def test_ldam_margins_hand_worked():
    # n^(-1/4): 16 -> 1/2, 1 -> 1, 81 -> 1/3; scaled so that the largest is 0.5.
    np.testing.assert_allclose(
        L.ldam_margins([16, 1, 81], max_margin=0.5).numpy(), [0.25, 0.5, 1 / 6],
        rtol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_ldam_loss_matches_formula(weighted):
    cos = np.tanh(LOGITS)  # cosines in (-1, 1), as the normalised head gives
    margins = (COUNTS ** -0.25) * 0.4 / (COUNTS ** -0.25).max()
    per, wsum, s = [], 0.0, 7.0
    w = L.effective_number_weights(COUNTS, 0.9).numpy() if weighted else np.ones(3)
    for z, t in zip(cos, TARGETS):
        z = z.copy()
        z[t] -= margins[t]
        per.append(w[t] * -_log_softmax_row(list(s * z))[t])
        wsum += w[t]
    expected = sum(per) / wsum
    got = L.ldam_loss(
        _t(cos), torch.tensor(TARGETS), COUNTS, max_margin=0.4, scale=s,
        weight=torch.tensor(w) if weighted else None,
    ).item()
    assert got == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_loss_matches_formula(gamma):
    ce = np.array(_per_sample_ce())
    p = np.exp(-ce)
    expected = np.mean((1 - p) ** gamma * ce)
    got = L.focal_loss(_t(LOGITS), torch.tensor(TARGETS), gamma).item()
    assert got == pytest.approx(expected, rel=1e-10)
    if gamma == 0.0:
        assert got == pytest.approx(ce.mean(), rel=1e-12)


def test_effective_number_weights_hand_worked():
    # beta = 0.5, counts (1, 2): (1 - b) / (1 - b^n) = 1 and 2/3, normalised to
    # sum to C = 2: 1.2 and 0.8.
    np.testing.assert_allclose(L.effective_number_weights([1, 2], 0.5).numpy(),
                               [1.2, 0.8], rtol=1e-6)
    np.testing.assert_allclose(L.effective_number_weights(COUNTS, 0.0).numpy(), 1)
    # beta -> 1 approaches inverse frequency.
    w = L.effective_number_weights(COUNTS, 0.9999).numpy()
    inv = (1 / COUNTS) * 3 / (1 / COUNTS).sum()
    np.testing.assert_allclose(w, inv, rtol=1e-3)


def test_class_balanced_focal_matches_formula():
    beta, gamma = 0.9, 2.0
    eff = (1 - beta) / (1 - beta ** COUNTS)
    w = eff * 3 / eff.sum()
    ce = np.array(_per_sample_ce())
    expected = np.mean(w[TARGETS] * (1 - np.exp(-ce)) ** gamma * ce)
    got = L.focal_loss(_t(LOGITS), torch.tensor(TARGETS), gamma,
                       L.effective_number_weights(COUNTS, beta)).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_focal_gradient_finite_when_probability_rounds_to_one():
    z = torch.tensor([[200.0, 0.0]], requires_grad=True)
    L.focal_loss(z, torch.tensor([0]), gamma=0.5).backward()
    assert torch.isfinite(z.grad).all()


# -- angular-margin losses (CosFace, ArcFace) ---------------------------------

# Cosines of a cosine head, with true-class cosines across [-1, 1]: the ends,
# near the ends, and past ArcFace's threshold cos(pi - m) (rows 2 and 5).
COSINES = np.array([
    [1.0, 0.2, -0.3],
    [0.1, -0.4, 0.3],
    [0.0, -0.95, 0.5],
    [0.6, 1 - 1e-9, -0.8],
    [-0.2, 0.4, -1.0],
    [0.3, 0.1, -1 + 1e-9],
    [0.9, -0.6, 0.99],
])
COS_TARGETS = np.array([0, 2, 1, 1, 2, 2, 0])


def _naive_arcface_target(c, m, eps=L.ARCFACE_EPS):
    """cos(theta + m) by way of the angle; past pi - m, cos theta - m sin m."""
    if c > math.cos(math.pi - m):
        theta = math.acos(min(max(c, -1 + eps), 1 - eps))
        return math.cos(theta + m)
    return c - m * math.sin(m)


@pytest.mark.parametrize("margin", [0.0, 0.35, 0.5])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_cosface_loss_matches_formula(margin, scale):
    per = []
    for z, t in zip(COSINES, COS_TARGETS):
        z = z.copy()
        z[t] -= margin
        per.append(-_log_softmax_row(list(scale * z))[t])
    got = L.cosface_loss(_t(COSINES), torch.tensor(COS_TARGETS), margin, scale)
    assert got.item() == pytest.approx(np.mean(per), rel=1e-10)


@pytest.mark.parametrize("margin", [0.0, 0.35, 0.5, 1.2])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_arcface_loss_matches_formula(margin, scale):
    per = []
    for z, t in zip(COSINES, COS_TARGETS):
        z = z.copy()
        z[t] = _naive_arcface_target(z[t], margin)
        per.append(-_log_softmax_row(list(scale * z))[t])
    got = L.arcface_loss(_t(COSINES), torch.tensor(COS_TARGETS), margin, scale)
    assert got.item() == pytest.approx(np.mean(per), rel=1e-10)


def test_arcface_target_is_cos_theta_plus_m_and_decreasing_in_theta():
    m = 0.5
    theta = np.linspace(0.0, math.pi, 2001)
    phi = L.arcface_target_cosine(_t(np.cos(theta)), m).numpy()
    inside = (theta + m < math.pi) & (theta > 1e-2)
    np.testing.assert_allclose(phi[inside], np.cos(theta[inside] + m), atol=1e-12)
    past = theta + m > math.pi + 1e-9
    np.testing.assert_allclose(phi[past], np.cos(theta[past]) - m * math.sin(m),
                               atol=1e-12)
    assert np.all(np.diff(phi) < 0)
    # margin 0: the plain cosine (but for the clamp at the ends)
    phi0 = L.arcface_target_cosine(_t(np.cos(theta)), 0.0).numpy()
    np.testing.assert_allclose(phi0, np.cos(theta), atol=2e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("loss", ["cosface", "arcface"])
def test_angular_gradients_finite_at_theta_zero_and_pi(dtype, loss):
    fn = {"cosface": L.cosface_loss, "arcface": L.arcface_loss}[loss]
    # true-class cosines at and just inside 1 and -1, and just past 1 (a
    # float32 cosine of two normalised vectors can round above 1)
    for c in [1.0, 1 - 1e-9, 1 + 1e-7, -1.0, -1 + 1e-9, -1 - 1e-7]:
        cos = torch.tensor([[c, 0.3, -0.2]], dtype=dtype, requires_grad=True)
        loss_value = fn(cos, torch.tensor([0]), 0.5, 30.0)
        loss_value.backward()
        assert torch.isfinite(loss_value)
        assert torch.isfinite(cos.grad).all(), (c, cos.grad)
        if c < 0:
            # theta = pi: the true class is still pulled towards its weight
            assert cos.grad[0, 0] < 0


@pytest.mark.parametrize("loss", ["cosface", "arcface"])
def test_angular_gradients_finite_through_the_cosine_head(loss):
    from sklearn_clmle.embedding.nn import NormedLinear

    torch.manual_seed(0)
    head = NormedLinear(4, 3)
    w = head.weight.detach()
    # features parallel and anti-parallel to the true class's weight vector
    x = torch.stack([3 * w[0], -2 * w[1], w[2]]).requires_grad_(True)
    fn = {"cosface": L.cosface_loss, "arcface": L.arcface_loss}[loss]
    fn(head(x), torch.tensor([0, 1, 2]), 0.5, 30.0).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(head.weight.grad).all()


# -- the estimator uses those losses ------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_trains_and_uses_its_formula(loss):
    X, y = _blobs(n2=20)
    clf = LongTailNetClassifier(**TINY, loss=loss, tau=1.5, gamma=1.0, beta=0.99,
                                ldam_max_margin=0.3, drw_epoch=1, angular_scale=7.0,
                                angular_margin=0.2, random_state=0).fit(X, y)
    assert len(clf.history_) == 3
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    np.testing.assert_array_equal(clf.class_counts_, [40, 10, 20])
    z = torch.tensor(LOGITS[:, :3], dtype=torch.float32)
    t = torch.tensor(TARGETS)
    fn, reweighted = clf._head_loss().at(2)
    counts = clf.class_counts_
    expected = {
        "ce": lambda: L.cross_entropy_loss(z, t),
        "weighted_ce": lambda: L.cross_entropy_loss(z, t, L.balanced_weights(counts)),
        "logit_adjusted": lambda: L.logit_adjusted_loss(z, t, counts, 1.5),
        "ldam_drw": lambda: L.ldam_loss(z, t, counts, 0.3, 7.0,
                                        L.effective_number_weights(counts, 0.99)),
        "focal": lambda: L.focal_loss(z, t, 1.0),
        "class_balanced_focal": lambda: L.focal_loss(
            z, t, 1.0, L.effective_number_weights(counts, 0.99)),
        "cosface": lambda: L.cosface_loss(z, t, 0.2, 7.0),
        "arcface": lambda: L.arcface_loss(z, t, 0.2, 7.0),
    }[loss]()
    assert fn(z, t).item() == pytest.approx(expected.item(), rel=1e-6)
    assert reweighted == (loss in ("weighted_ce", "ldam_drw", "class_balanced_focal"))
    assert clf.angular_margin_ == (0.2 if loss in ("cosface", "arcface") else None)


@pytest.mark.parametrize("loss, expected", [("cosface", 0.35), ("arcface", 0.5),
                                            ("ldam_drw", None), ("ce", None)])
def test_angular_margin_auto_is_the_papers_value(loss, expected):
    X, y = _blobs()
    clf = LongTailNetClassifier(**{**TINY, "epochs": 1}, loss=loss,
                                random_state=0).fit(X, y)
    assert clf.angular_margin_ == expected
    if expected is not None:
        z = torch.tensor(np.tanh(LOGITS[:, :2]), dtype=torch.float32)
        t = torch.tensor(TARGETS % 2)
        fn, reweighted = clf._head_loss().at(0)
        ref = {"cosface": L.cosface_loss, "arcface": L.arcface_loss}[loss](
            z, t, expected, LDAM_SCALE)
        assert fn(z, t).item() == pytest.approx(ref.item(), rel=1e-6)
        assert not reweighted


@pytest.mark.parametrize("loss", ["cosface", "arcface"])
def test_angular_losses_predict_with_scaled_cosines_without_margin(loss):
    X, y = _blobs(n2=20)
    clf = LongTailNetClassifier(**{**TINY, "epochs": 10}, loss=loss, angular_scale=10.0,
                                random_state=0).fit(X, y)
    assert type(clf.module_.head).__name__ == "NormedLinear"
    with torch.no_grad():
        cos = clf.module_(torch.tensor(X, dtype=torch.float32)).numpy()
    assert np.abs(cos).max() <= 1 + 1e-6
    logits = clf.decision_function(X)
    np.testing.assert_allclose(logits, 10.0 * cos, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), cos.argmax(1))
    assert (clf.predict(X) == y).mean() > 0.9
    e = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), e / e.sum(1, keepdims=True),
                               rtol=1e-5)
    Z = clf.transform(X)
    with torch.no_grad():
        ref = clf.module_.backbone(torch.tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(Z, ref, rtol=1e-6)


# -- deferred re-weighting -----------------------------------------------------


@pytest.mark.parametrize(
    "epochs, drw_epoch, expected",
    [(6, None, 4), (3, None, 2), (4, 1, 1), (3, 0, 0), (3, 10, 10)],
)
@pytest.mark.filterwarnings("ignore:loss='ldam_drw'.*never ran:UserWarning")
def test_drw_switches_on_at_drw_epoch(epochs, drw_epoch, expected):
    X, y = _blobs()
    clf = LongTailNetClassifier(**{**TINY, "epochs": epochs}, loss="ldam_drw",
                                drw_epoch=drw_epoch, random_state=0).fit(X, y)
    assert clf.drw_epoch_ == expected
    assert clf.history_[:, "reweighted"] == [e >= expected for e in range(epochs)]
    z = torch.tensor(np.tanh(LOGITS[:, :2]), dtype=torch.float32)
    t = torch.tensor(TARGETS % 2)
    before, _ = clf._head_loss().at(expected - 1)
    after, _ = clf._head_loss().at(expected)
    unweighted = L.ldam_loss(z, t, [40, 10], 0.5, LDAM_SCALE)
    weighted = L.ldam_loss(z, t, [40, 10], 0.5, LDAM_SCALE,
                           L.effective_number_weights([40, 10], 0.9999))
    assert before(z, t).item() == pytest.approx(unweighted.item(), rel=1e-6)
    assert after(z, t).item() == pytest.approx(weighted.item(), rel=1e-6)
    assert weighted.item() != pytest.approx(unweighted.item(), rel=1e-3)


def test_drw_epoch_is_none_for_other_losses():
    X, y = _blobs()
    clf = LongTailNetClassifier(**TINY, loss="focal", random_state=0).fit(X, y)
    assert clf.drw_epoch_ is None
    assert clf.history_[:, "reweighted"] == [False] * 3


# -- determinism, predictions, transform ---------------------------------------


@pytest.mark.parametrize("loss", ["logit_adjusted", "arcface"])
def test_fixed_random_state_is_deterministic_and_leaves_torch_rng_alone(loss):
    X, y = _blobs(n2=20)
    state = torch.random.get_rng_state()
    a = LongTailNetClassifier(**TINY, loss=loss, random_state=3).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())
    b = LongTailNetClassifier(**TINY, loss=loss, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.history_[:, "step_loss"] == b.history_[:, "step_loss"]
    c = LongTailNetClassifier(**TINY, loss=loss, random_state=4).fit(X, y)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_predict_returns_original_labels_and_proba_is_softmax():
    X, y = _blobs(n2=20)
    labels = np.array(["cat", "dog", "eel"])[y]
    clf = LongTailNetClassifier(**{**TINY, "epochs": 20}, random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["cat", "dog", "eel"]
    pred = clf.predict(X)
    assert pred.dtype == labels.dtype and set(pred) <= {"cat", "dog", "eel"}
    assert (pred == labels).mean() > 0.9
    logits = clf.decision_function(X)
    assert logits.shape == (70, 3)
    # logit_adjusted predicts with the plain logits of the network.
    with torch.no_grad():
        raw = clf.module_(torch.tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(logits, raw, rtol=1e-5, atol=1e-6)
    proba = clf.predict_proba(X)
    e = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(proba, e / e.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-6)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(1)])


def test_binary_decision_function_and_ldam_scale():
    X, y = _blobs()
    clf = LongTailNetClassifier(**TINY, loss="ldam_drw", random_state=0).fit(X, y)
    d = clf.decision_function(X)
    assert d.shape == (50,)
    with torch.no_grad():
        cos = clf.module_(torch.tensor(X, dtype=torch.float32)).numpy()
    assert np.abs(cos).max() <= 1 + 1e-6
    np.testing.assert_allclose(d, LDAM_SCALE * (cos[:, 1] - cos[:, 0]), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), (d > 0).astype(int))


def test_transform_returns_backbone_features_float32():
    X, y = _blobs()
    clf = LongTailNetClassifier(**{**TINY, "hidden_units": (12, 7)},
                                random_state=0).fit(X, y)
    Z = clf.transform(X)
    assert Z.shape == (50, 7) and Z.dtype == np.float32
    with torch.no_grad():
        ref = clf.module_.backbone(torch.tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(Z, ref, rtol=1e-6)
    np.testing.assert_allclose(clf.fit_transform(X, y), Z, atol=1e-6)
    assert clf.get_feature_names_out().tolist() == [
        f"longtailnetclassifier{i}" for i in range(7)]
    assert next(clf.module_.parameters()).device.type == "cpu"


def test_images_use_the_small_cnn():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(30, 8, 8)).astype(np.float32)
    y = np.r_[np.zeros(20, int), np.ones(10, int)]
    clf = LongTailNetClassifier(**{**TINY, "epochs": 1, "hidden_units": (6,)},
                                random_state=0).fit(X, y)
    assert type(clf.module_.backbone).__name__ == "SmallCNN"
    assert clf.transform(X).shape == (30, 6)
    flat = LongTailNetClassifier(**{**TINY, "epochs": 1, "hidden_units": (6,)},
                                 input_shape=(8, 8), random_state=0)
    flat.fit(X.reshape(30, 64), y)
    np.testing.assert_allclose(flat.transform(X.reshape(30, 64)), clf.transform(X),
                               rtol=1e-5, atol=1e-6)


def test_pickle_roundtrip():
    X, y = _blobs()
    clf = LongTailNetClassifier(**TINY, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


# -- errors ---------------------------------------------------------------------


def test_nan_input_is_refused():
    X, y = _blobs()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LongTailNetClassifier(**TINY).fit(X, y)


def test_one_class_is_refused():
    X, _ = _blobs()
    with pytest.raises(ValueError, match="only one class"):
        LongTailNetClassifier(**TINY).fit(X, np.full(len(X), "a"))


def test_bad_loss_name_is_refused():
    X, y = _blobs()
    with pytest.raises(InvalidParameterError, match=r"'loss' .*'ldam_drw'.*Got 'ldam'"):
        LongTailNetClassifier(**TINY, loss="ldam").fit(X, y)


@pytest.mark.parametrize("param, value", [
    ("angular_margin", math.pi), ("angular_margin", -0.1), ("angular_margin", "big"),
    ("angular_scale", 0.0), ("angular_scale", -1.0),
])
def test_bad_angular_parameters_are_refused(param, value):
    X, y = _blobs()
    with pytest.raises(InvalidParameterError, match=rf"'{param}' .*Got {value!r}"):
        LongTailNetClassifier(**TINY, loss="arcface", **{param: value}).fit(X, y)


def test_bad_beta_and_input_shape_are_refused():
    X, y = _blobs()
    with pytest.raises(InvalidParameterError, match="'beta'"):
        LongTailNetClassifier(**TINY, beta=1.0).fit(X, y)
    with pytest.raises(ValueError, match=r"input_shape=\(2, 2\) has 4 values"):
        LongTailNetClassifier(**TINY, input_shape=(2, 2)).fit(X, y)
    clf = LongTailNetClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
