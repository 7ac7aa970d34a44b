"""Property-based hardening tests of every public function of
``sklearn_clmle.metrics``: random shapes, dtypes (ints, bools, float16,
object), labels of every kind (one-sample classes, strings, negative,
missing, mixed types), NaN/inf, parameters at and past their bounds.

Accepted input gives output of the documented shape and range, agreeing
with a naive re-computation; refused input raises ``ValueError`` or
``TypeError`` naming the parameter; inputs are never modified.

Bugs these found, fixed since (narrow regressions at the end): missing
labels silently merged into one class (or matched each other), labels of
mixed types failing inside ``np.unique``, ``is_same`` with ``None``/``pd.NA``
failing inside numpy, ``far`` given as strings silently parsed, ``fars``
given as a scalar failing with ``'float' object is not iterable`` and
``fars=(True,)`` reported as ``tar@far=1``, ``verification_report`` on
one-class ``is_same`` warning from inside scikit-learn before refusing,
``rank_k_accuracy(k=10**12)`` allocating a 7 TiB histogram, string and
numeric labels matched as equal (``"1" == 1``) by ``cmc_curve``.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_clmle.metrics import (
    cmc_curve,
    make_pairs,
    pair_scores,
    rank_k_accuracy,
    split_seen_unseen,
    tar_at_far,
    verification_accuracy,
    verification_report,
)
from tests._strategies import (
    ALL_ZERO,
    FAST,
    NONFINITE,
    assert_unchanged,
    labels,
    malformed_X,
    matrices,
    snapshot,
    with_bad_value,
    with_zero_rows,
)

MANY = settings(FAST, max_examples=60)
SLOW = settings(FAST, max_examples=300)

EMB_DTYPES = [np.float16, np.float32, np.float64, np.int64, np.int8, bool]
MISSING = r"missing label"
MIXED = r"mixes labels of types"


def naive_cos(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.array([x @ y / np.linalg.norm(x) / np.linalg.norm(y) for x, y in zip(a, b)])


@st.composite
def pair_data(draw, min_size=2, max_size=40):
    """Scores (drawn dtype, ties likely) and is_same (bool, 0/1 ints or
    floats) with at least one positive and one negative."""
    n = draw(st.integers(min_size, max_size))
    kind = draw(st.sampled_from(["float", "ties", "int"]))
    if kind == "float":
        scores = draw(hnp.arrays(np.float64, n, elements=st.floats(-1, 1)))
    elif kind == "ties":
        scores = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([-0.5, 0.0, 0.5])))
    else:
        scores = draw(hnp.arrays(np.int64, n, elements=st.integers(-3, 3)))
    same = draw(hnp.arrays(bool, n))
    same[0], same[1] = True, False
    same = same[draw(st.permutations(range(n)))]
    form = draw(st.sampled_from(["bool", "int", "float", "list"]))
    is_same = {"bool": same, "int": same.astype(int), "float": same.astype(float),
               "list": same.tolist()}[form]
    return scores, is_same


# -- pair_scores --------------------------------------------------------------


@MANY
@given(data=st.data(), dtype=st.sampled_from(EMB_DTYPES))
def test_pair_scores_are_cosines(data, dtype):
    a = data.draw(matrices(min_rows=1, max_rows=15, dtypes=[np.float64]))
    b = data.draw(matrices(min_rows=a.shape[0], max_rows=a.shape[0],
                           min_cols=a.shape[1], max_cols=a.shape[1],
                           dtypes=[np.float64]))
    if dtype is bool:
        a, b = a > 0, b > 0
        a[:, 0] = b[:, 0] = True  # no all-zero row
    else:
        a, b = np.clip(a, -100, 100).astype(dtype), np.clip(b, -100, 100).astype(dtype)
        a[~a.any(axis=1), 0] = 1
        b[~b.any(axis=1), 0] = 1
    before = snapshot(a), snapshot(b)
    s = pair_scores(a, b)
    assert_unchanged(before[0], a)
    assert_unchanged(before[1], b)
    assert s.shape == (a.shape[0],) and np.all(np.abs(s) <= 1)
    np.testing.assert_allclose(s, pair_scores(b, a))
    tol = 2e-3 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(s, np.clip(naive_cos(a, b), -1, 1), atol=tol)


@MANY
@given(X=matrices(min_rows=1, max_rows=10), data=st.data(),
       value=st.sampled_from([np.nan, np.inf, -np.inf, 0]))
def test_pair_scores_refuses_non_finite_and_zero_rows(X, data, value):
    bad = with_zero_rows(X, data) if value == 0 else with_bad_value(X, value, data)
    before = bad.copy()
    side = data.draw(st.sampled_from(["emb_a", "emb_b"]))
    args = (bad, X) if side == "emb_a" else (X, bad)
    with pytest.raises(ValueError, match=ALL_ZERO if value == 0 else NONFINITE) as e:
        pair_scores(*args)
    assert side in str(e.value)
    np.testing.assert_array_equal(before, bad)


@MANY
@given(bad=malformed_X())
def test_pair_scores_refuses_malformed_input(bad):
    X_bad, msg = bad
    if "names" in msg:
        return  # mixed column names only matter to estimators (feature_names_in_)
    good = np.ones((max(1, len(X_bad)), 2))
    with pytest.raises((ValueError, TypeError)):
        pair_scores(X_bad, good)
    with pytest.raises((ValueError, TypeError)):
        pair_scores(good, X_bad)


@MANY
@given(n=st.integers(1, 5), d=st.integers(1, 4), dn=st.integers(1, 3))
def test_pair_scores_refuses_shape_mismatch(n, d, dn):
    with pytest.raises(ValueError, match="same shape"):
        pair_scores(np.ones((n, d)), np.ones((n + dn, d)))
    with pytest.raises(ValueError, match="same shape"):
        pair_scores(np.ones((n, d)), np.ones((n, d + dn)))


# -- verification_accuracy, tar_at_far, verification_report ------------------


@MANY
@given(pd_=pair_data(), data=st.data(), shuffle=st.booleans())
def test_verification_accuracy_properties(pd_, data, shuffle):
    scores, is_same = pd_
    n = len(scores)
    n_folds = data.draw(st.integers(2, n))
    before = snapshot(scores), snapshot(is_same)
    res = verification_accuracy(scores, is_same, n_folds=n_folds,
                                random_state=0 if shuffle else None)
    assert_unchanged(before[0], scores)
    assert_unchanged(before[1], is_same)
    assert res.fold_accuracies.shape == res.thresholds.shape == (n_folds,)
    assert np.all((res.fold_accuracies >= 0) & (res.fold_accuracies <= 1))
    assert res.mean == pytest.approx(res.fold_accuracies.mean())
    assert 0 <= res.std <= 0.5 + 1e-12
    # a threshold between scores, or accept / reject all
    s = np.asarray(scores, dtype=float)
    t = res.thresholds[np.isfinite(res.thresholds)]
    assert np.all((t >= s.min()) & (t <= s.max()))
    with pytest.raises(ValueError, match=rf"n_folds={n + 1}"):
        verification_accuracy(scores, is_same, n_folds=n + 1)


@MANY
@given(pd_=pair_data(), fars=st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=4))
def test_tar_at_far_properties(pd_, fars):
    scores, is_same = pd_
    s, same = np.asarray(scores, dtype=float), np.asarray(is_same).astype(bool)
    before = snapshot(scores), snapshot(is_same)
    tar, thr = tar_at_far(scores, is_same, fars, return_thresholds=True)
    assert_unchanged(before[0], scores)
    assert_unchanged(before[1], is_same)
    assert tar.shape == thr.shape == (len(fars),)
    for f, t, h in zip(fars, tar, thr):
        # the definition: strictly above the threshold is accepted
        assert t == pytest.approx(np.mean(s[same] > h))
        assert np.mean(s[~same] > h) <= f + 1e-12  # achieved FAR never above
        assert float(tar_at_far(scores, is_same, f)) == t
    order = np.argsort(fars)
    assert np.all(np.diff(tar[order]) >= 0)  # non-decreasing in far


BAD_FAR = st.sampled_from([0, 0.0, -0.1, 1.5, np.nan, np.inf, "abc", ["0.1"], [],
                           None, [0.1, 2.0]])


@MANY
@given(pd_=pair_data(), far=BAD_FAR)
def test_tar_at_far_refuses_bad_far(pd_, far):
    scores, is_same = pd_
    with pytest.raises(ValueError, match=r"far=.*false-accept rates"):
        tar_at_far(scores, is_same, far)


@MANY
@given(pd_=pair_data(min_size=4), fars=st.lists(st.floats(1e-4, 1.0), max_size=3))
def test_verification_report_properties(pd_, fars):
    scores, is_same = pd_
    rep = verification_report(scores, is_same, fars=fars, n_folds=2)
    assert {"accuracy", "accuracy_std", "auc"} <= set(rep)
    assert len(rep) == 3 + len({f"{f:g}" for f in fars})
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in rep.values())


@MANY
@given(pd_=pair_data(min_size=4),
       fars=st.sampled_from([0.1, "0.1", (True,), (np.nan,), (0.0,), (2.0,), None]))
def test_verification_report_refuses_bad_fars(pd_, fars):
    scores, is_same = pd_
    with pytest.raises(ValueError, match=r"fars"):
        verification_report(scores, is_same, fars=fars, n_folds=2)


@MANY
@given(n=st.integers(2, 20), data=st.data())
def test_scores_and_is_same_refused(n, data):
    scores = np.linspace(-1, 1, n)
    is_same = np.arange(n) % 2
    case = data.draw(st.sampled_from(
        ["nan", "inf", "str", "2d", "is_same 2", "is_same nan", "is_same None",
         "is_same NA", "is_same str", "is_same length", "one class report"]))
    fn = data.draw(st.sampled_from(["acc", "tar", "report"]))
    if case in ("nan", "inf"):
        scores = scores.copy()
        scores[data.draw(st.integers(0, n - 1))] = np.nan if case == "nan" else np.inf
        msg = NONFINITE
    elif case == "str":
        scores, msg = np.array(["a"] * n), r"convert|float"
    elif case == "2d":
        scores, msg = scores[None, :], r"scores should be a 1d array"
    elif case == "is_same length":
        is_same, msg = is_same[:-1], r"is_same should be a 1d array"
    elif case == "one class report":
        is_same, msg, fn = np.ones(n, int), r"positive and negative", "report"
    else:
        value = {"is_same 2": 2, "is_same nan": np.nan, "is_same None": None,
                 "is_same NA": pd.NA, "is_same str": "yes"}[case]
        is_same = is_same.astype(object)
        is_same[data.draw(st.integers(0, n - 1))] = value
        msg = r"is_same should be boolean"
    call = {"acc": lambda: verification_accuracy(scores, is_same, n_folds=2),
            "tar": lambda: tar_at_far(scores, is_same, 0.5),
            "report": lambda: verification_report(scores, is_same, n_folds=2)}[fn]
    with pytest.raises((ValueError, TypeError), match=msg):
        call()


# -- cmc_curve, rank_k_accuracy -----------------------------------------------


@st.composite
def gallery_data(draw):
    y = draw(labels(n_classes_min=1, n_classes_max=4, min_size=1, max_size=5))
    classes = np.unique(y)
    n_g = len(y)
    G = draw(matrices(min_rows=n_g, max_rows=n_g, max_cols=4,
                      dtypes=[np.float32, np.float64, np.int64]))
    n_p = draw(st.integers(1, 8))
    P = draw(matrices(min_rows=n_p, max_rows=n_p, min_cols=G.shape[1],
                      max_cols=G.shape[1], dtypes=[np.float32, np.float64, np.int64]))
    pl = classes[draw(hnp.arrays(np.int64, n_p, elements=st.integers(0, classes.size - 1)))]
    return P, pl, G, y


@MANY
@given(gd=gallery_data(), data=st.data())
def test_cmc_curve_properties(gd, data):
    P, pl, G, gl = gd
    before = [snapshot(v) for v in gd]
    cmc = cmc_curve(P, pl, G, gl)
    for b, v in zip(before, gd):
        assert_unchanged(b, v)
    assert cmc.shape == (len(gl),)
    assert np.all(np.diff(cmc) >= 0) and np.all((cmc >= 0) & (cmc <= 1))
    assert cmc[-1] == 1.0  # every probe's identity is in the gallery
    # naive ranks: 1 + number of other-identity items at least as similar
    Pn = P / np.linalg.norm(P.astype(float), axis=1, keepdims=True)
    Gn = G / np.linalg.norm(G.astype(float), axis=1, keepdims=True)
    sims = Pn @ Gn.T
    # naive ranks, bracketed for rounding: 1 + other-identity items at least
    # as similar as the best match (within -/+ 1e-5)
    lo, hi = [], []
    for i in range(len(pl)):
        best = sims[i][gl == pl[i]].max()
        other = sims[i][gl != pl[i]]
        lo.append(1 + np.sum(other >= best + 1e-5))
        hi.append(1 + np.sum(other >= best - 1e-5))
    k = data.draw(st.integers(1, len(gl) + 3))
    acc = rank_k_accuracy(P, pl, G, gl, k=k)
    assert np.mean(np.array(hi) <= k) - 1e-12 <= acc <= np.mean(np.array(lo) <= k) + 1e-12
    longer = cmc_curve(P, pl, G, gl, max_rank=len(gl) + 3)
    np.testing.assert_array_equal(longer[: len(gl)], cmc)
    np.testing.assert_array_equal(longer[len(gl):], 1.0)
    assert acc == (cmc[k - 1] if k <= len(gl) else 1.0)
    assert rank_k_accuracy(P, pl, G, gl, k=10**12) == 1.0  # no huge histogram


@MANY
@given(gd=gallery_data(), data=st.data())
def test_cmc_curve_refuses_bad_labels_and_ranks(gd, data):
    P, pl, G, gl = gd
    case = data.draw(st.sampled_from(
        ["nan", "None", "NA", "mixed", "orphan", "length", "str-vs-int", "max_rank",
         "k", "dims"]))
    pl = pl.astype(object)
    kwargs, fn = {}, cmc_curve
    if case in ("nan", "None", "NA"):
        pl[0], msg = {"nan": np.nan, "None": None, "NA": pd.NA}[case], MISSING
    elif case == "mixed":
        assume(len(gl) >= 2)
        pl = np.array(["x"] * len(pl), dtype=object)
        gl = np.array([1] * (len(gl) - 1) + ["x"], dtype=object)
        msg = MIXED
    elif case == "orphan":
        pl = np.asarray(gd[1]).copy()
        pl[0] = "never" if pl.dtype.kind == "U" else (gl.max() + 1 if gl.dtype != bool
                                                      else pl[0])
        assume(pl.dtype != bool)
        msg = r"no item in the gallery"
    elif case == "length":
        pl, msg = pl[:-1] if len(pl) > 1 else np.r_[pl, pl], r"one label per row"
    elif case == "str-vs-int":
        pl = np.arange(len(pl)) % 2
        gl = np.array([str(v) for v in np.arange(len(gl)) % 2])
        msg = r"of one kind"
    elif case == "max_rank":
        kwargs, msg = {"max_rank": data.draw(st.sampled_from([0, -1, 2.5, True]))}, "max_rank="
    elif case == "k":
        fn, kwargs = rank_k_accuracy, {"k": data.draw(st.sampled_from([0, -3, 1.0, None]))}
        msg = "k="
    else:
        G, msg = np.c_[G, G], r"same number of features"
    with pytest.raises((ValueError, TypeError), match=msg):
        fn(P, pl, G, gl, **kwargs)


# -- split_seen_unseen, make_pairs -------------------------------------------


@MANY
@given(y=labels(n_classes_min=1, n_classes_max=6), data=st.data(),
       container=st.sampled_from(["numpy", "list", "series", "categorical"]))
def test_split_seen_unseen_properties(y, data, container):
    classes = np.unique(y)
    yc = {"numpy": y, "list": y.tolist(), "series": pd.Series(y),
          "categorical": pd.Series(pd.Categorical(y))}[container]
    before = snapshot(yc)
    n_unseen = data.draw(st.one_of(st.integers(-1, classes.size + 1),
                                   st.floats(-0.5, 1.5), st.just(np.nan)))
    count = (n_unseen if isinstance(n_unseen, int)
             else int(np.ceil(n_unseen * classes.size)) if 0 < n_unseen < 1 else None)
    if classes.size < 2 or count is None or not 1 <= count <= classes.size - 1:
        with pytest.raises(ValueError, match=r"n_unseen=|at least two classes"):
            split_seen_unseen(yc, n_unseen=n_unseen, random_state=0)
        return
    seen, unseen = split_seen_unseen(yc, n_unseen=n_unseen, random_state=0)
    assert_unchanged(before, yc)
    assert seen.dtype == bool and np.array_equal(seen, ~unseen)
    assert len(np.unique(y[unseen])) == count
    assert not set(y[seen]) & set(y[unseen])  # classes are not split


@MANY
@given(y=labels(n_classes_min=1, n_classes_max=5, max_size=6), data=st.data())
def test_make_pairs_properties(y, data):
    n_pairs = data.draw(st.integers(2, 40))
    counts = np.unique(y, return_counts=True)[1]
    possible_pos = int(np.sum(counts * (counts - 1) // 2))
    possible_neg = int((len(y) ** 2 - np.sum(counts ** 2)) // 2)
    before = y.copy()
    if n_pairs // 2 > possible_pos or n_pairs - n_pairs // 2 > possible_neg:
        with pytest.raises(ValueError, match=rf"n_pairs={n_pairs}"):
            make_pairs(y, n_pairs=n_pairs, random_state=0)
        return
    a, b, same = make_pairs(y, n_pairs=n_pairs, random_state=0)
    np.testing.assert_array_equal(y, before)
    assert a.shape == b.shape == same.shape == (n_pairs,)
    assert a.dtype == b.dtype == np.int64 and same.dtype == bool
    np.testing.assert_array_equal(y[a] == y[b], same)
    assert np.all(a != b) and same.sum() == n_pairs // 2
    keys = set(zip(np.minimum(a, b), np.maximum(a, b)))
    assert len(keys) == n_pairs  # distinct unordered pairs


@MANY
@given(y=labels(n_classes_min=2, n_classes_max=4, min_size=2), data=st.data())
def test_label_vectors_with_missing_or_mixed_labels_refused(y, data):
    fn = data.draw(st.sampled_from(["split", "pairs"]))
    bad = y.astype(object)
    case = data.draw(st.sampled_from(["nan", "None", "NA", "mixed"]))
    i = data.draw(st.integers(0, len(y) - 1))
    if case == "mixed":
        bad[i] = "a string" if not isinstance(y[0], str) else 7
        msg = MIXED
    else:
        bad[i] = {"nan": np.nan, "None": None, "NA": pd.NA}[case]
        msg = MISSING
    before = bad.copy()
    with pytest.raises((ValueError, TypeError), match=msg) as e:
        if fn == "split":
            split_seen_unseen(bad, n_unseen=1)
        else:
            make_pairs(bad, n_pairs=2)
    assert "y " in str(e.value)
    assert all(b is v for b, v in zip(before, bad))


# -- slow share ---------------------------------------------------------------


@pytest.mark.slow
@SLOW
@given(pd_=pair_data(max_size=200), fars=st.lists(st.floats(1e-6, 1.0), min_size=1,
                                                  max_size=6), data=st.data())
def test_verification_metrics_slow(pd_, fars, data):
    test_tar_at_far_properties.hypothesis.inner_test(pd_, fars)
    test_verification_accuracy_properties.hypothesis.inner_test(
        pd_, data, data.draw(st.booleans()))


@pytest.mark.slow
@SLOW
@given(gd=gallery_data(), data=st.data())
def test_cmc_curve_slow(gd, data):
    test_cmc_curve_properties.hypothesis.inner_test(gd, data)


# -- regressions (bugs found by the properties above) ------------------------


def test_nan_labels_were_merged_into_one_class():
    with pytest.raises(ValueError, match=r"y has 2 missing label"):
        split_seen_unseen([np.nan, np.nan, 1, 1, 2], n_unseen=1)
    E = np.eye(3)
    with pytest.raises(ValueError, match=r"probe_labels has 1 missing"):
        cmc_curve(E, [np.nan, 1, 2], E, [np.nan, 1, 2])


def test_string_labels_did_not_match_numbers():
    E = np.eye(2)
    with pytest.raises(TypeError, match=r"probe_labels .* gallery_labels"):
        cmc_curve(E, [0, 1], E, ["0", "1"])


def test_fars_scalar_and_bool():
    s, same = [0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]
    with pytest.raises(ValueError, match=r"fars should be a sequence"):
        verification_report(s, same, fars=0.1, n_folds=2)
    with pytest.raises(ValueError, match=r"fars should be a sequence"):
        verification_report(s, same, fars=(True,), n_folds=2)


def test_rank_k_accuracy_huge_k():
    E = np.eye(3)
    assert rank_k_accuracy(E, [0, 1, 2], E, [0, 1, 2], k=10**12) == 1.0


def test_every_public_function_is_fuzzed():
    # a function added to the package's __all__ needs its properties here
    import sklearn_clmle.metrics

    assert set(sklearn_clmle.metrics.__all__) <= set(globals())
