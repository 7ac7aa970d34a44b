import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp

from sklearn_clmle import KNearestClusterClassifier
from sklearn_clmle.neighbors import _scoring


def circle(angles):
    angles = np.asarray(angles, dtype=float)
    return np.c_[np.cos(angles), np.sin(angles)]


# Centroids on the unit circle: with cluster_size=1 every training point is its
# own cluster, so the centroids are exactly these points.
A_ANGLES = [0.0, 0.5]
B_ANGLES = [1.0, 3.0]
X_CIRCLE = circle(A_ANGLES + B_ANGLES)
Y_CIRCLE = np.array(["a", "a", "b", "b"])


# The paper's rule (Eq. 10): unit temperature, least similar retrieved
# cluster, no prior correction.  The hand-worked tests below fix it.
PAPER = dict(scale=1.0, aggregate="min", prior_correction=0.0, head="none")


def fit_circle(**params):
    params = {**PAPER, **params}
    return KNearestClusterClassifier(cluster_size=1, **params).fit(X_CIRCLE, Y_CIRCLE)


def test_centroids_are_the_points_with_cluster_size_one():
    clf = fit_circle(n_neighbors=3)
    assert_allclose(np.sort(clf.cluster_centers_, axis=0), np.sort(X_CIRCLE, axis=0))
    assert_array_equal(np.sort(clf.cluster_classes_), ["a", "a", "b", "b"])
    assert_array_equal(clf.cluster_sizes_, [1, 1, 1, 1])


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_eq10_hand_worked_min_rule(scale):
    # query at angle 0.6; retrieved (N=3): a@0.5 (cos .1), b@1.0 (cos .4),
    # a@0.0 (cos .6); b@3.0 (cos 2.4) is not retrieved.
    clf = fit_circle(n_neighbors=3, scale=scale)
    q = circle([0.6])
    s = scale * np.cos([0.1, 0.4, 0.6])  # a, b, a
    score_a = min(s[0], s[2]) - s[1]
    score_b = s[1] - logsumexp([s[0], s[2]])
    assert_allclose(clf.decision_function(q), [score_b - score_a])
    assert_array_equal(clf.predict(q), ["a"] if score_a > score_b else ["b"])
    proba = clf.predict_proba(q)
    expected = np.exp([score_a, score_b]) / np.exp([score_a, score_b]).sum()
    assert_allclose(proba, [expected])


def test_eq10_hand_worked_max_rule_changes_the_answer():
    # a at angles 0 and pi/2, b at arccos(0.8) and pi; query at angle 0, N=3:
    # retrieved a (cos 1), b (cos .8), a (cos 0); b at pi (cos -1) is not.
    X = circle([0.0, np.pi / 2, np.arccos(0.8), np.pi])
    y = ["a", "a", "b", "b"]
    q = circle([0.0])
    za, zb = 10 * np.array([1.0, 0.0]), 10 * np.array([0.8])
    # min rule: a pays for its far cluster: -8 against b's 8 - lse(10, 0)
    min_a, min_b = za.min() - logsumexp(zb), zb.min() - logsumexp(za)
    max_a, max_b = za.max() - logsumexp(zb), zb.max() - logsumexp(za)
    assert min_b > min_a and max_a > max_b
    fits = {
        agg: KNearestClusterClassifier(
            n_neighbors=3, cluster_size=1, scale=10.0, aggregate=agg,
            prior_correction=0.0, head="none",
        ).fit(X, y)
        for agg in ["min", "max"]
    }
    assert_allclose(fits["min"].decision_function(q), [min_b - min_a])
    assert_allclose(fits["max"].decision_function(q), [max_b - max_a])
    assert fits["min"].predict(q)[0] == "b"
    assert fits["max"].predict(q)[0] == "a"


def test_classes_absent_from_retrieved_set_are_not_candidates():
    # three classes; N=1 retrieves only the nearest centroid
    X = circle([0.0, 2.0, 4.0])
    clf = KNearestClusterClassifier(n_neighbors=1, cluster_size=1, **PAPER).fit(
        X, [0, 1, 2])
    q = circle([0.1])
    scores = clf.decision_function(q)[0]
    # class 0 alone: other-class term is one cluster at cosine -1
    assert scores[0] == pytest.approx(np.cos(0.1) + 1.0)
    floor = -2.0 - np.log(1) - 1.0
    assert_allclose(scores[1:], [floor, floor])
    assert_allclose(clf.predict_proba(q), [[1.0, 0.0, 0.0]])


def test_n_neighbors_above_number_of_centroids_uses_all():
    big = fit_circle(n_neighbors=100)
    exact = fit_circle(n_neighbors=4)
    q = circle(np.linspace(0, 6, 13))
    assert_allclose(big.decision_function(q), exact.decision_function(q))


def brute_rule(clf, X):
    """Naive reference: loop over queries and classes."""
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    out = []
    for x in Xn:
        sims = clf.cluster_centers_ @ x
        nn = np.argsort(-sims, kind="stable")[: clf.n_neighbors]
        z = clf.scale_ * sims[nn]
        cls = clf.cluster_classes_[nn]
        best, best_score = None, -np.inf
        for c in clf.classes_:
            if not np.any(cls == c):
                continue
            own = z[cls == c].min() if clf.aggregate_ == "min" else z[cls == c].max()
            other = z[cls != c]
            lse = logsumexp(other) if other.size else -clf.scale_
            if own - lse > best_score:
                best, best_score = c, own - lse
        out.append(best)
    return np.array(out)


@pytest.mark.parametrize("aggregate", ["min", "max"])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "ball_tree"])
def test_matches_naive_reference(aggregate, algorithm):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5)) + np.repeat(rng.normal(size=(4, 5)), 150, axis=0)
    y = np.repeat([3, 1, 7, 5], 150)[: len(X)]
    keep = np.r_[0:150, 150:230, 300:330, 450:460]  # long tail
    clf = KNearestClusterClassifier(
        n_neighbors=6, cluster_size=20, scale=5.0, aggregate=aggregate,
        prior_correction=0.0, head="none", algorithm=algorithm, random_state=0,
    ).fit(X[keep], y[keep])
    Xq = rng.normal(size=(200, 5))
    pred = clf.predict(Xq)
    assert_array_equal(pred, brute_rule(clf, Xq))
    assert_array_equal(clf.classes_[clf.decision_function(Xq).argmax(1)], pred)
    assert_array_equal(clf.classes_[clf.predict_proba(Xq).argmax(1)], pred)


def naive_top_k(sims, k):
    """The k first columns of a stable sort by decreasing similarity, in
    increasing column order."""
    return np.sort(np.argsort(-sims, axis=1, kind="stable")[:, :k], axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_columns", [3, 256, 257, 496, 995, 2000])
@pytest.mark.parametrize("k", [1, 10, 100, 200])
def test_top_k_matches_a_stable_sort(dtype, n_columns, k):
    rng = np.random.default_rng(n_columns + k)
    sims = rng.uniform(-1, 1, size=(60, n_columns)).astype(dtype)
    sims[:, ::3] = np.round(sims[:, ::3], 1)  # many ties at every rank
    sims[:5] = 0.25  # rows that are one tie
    k = min(k, n_columns)
    idx, values = _scoring.top_k(sims, k)
    expected = naive_top_k(sims, k) if k < n_columns else np.arange(n_columns)
    assert_array_equal(idx, np.broadcast_to(expected, (60, k)))
    assert_array_equal(values, np.take_along_axis(sims, idx, axis=1))
    kth = np.sort(sims, axis=1)[:, n_columns - k]
    assert_array_equal(_scoring.kth_largest(sims, k) if k < n_columns else kth, kth)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aggregate", ["min", "max"])
def test_matches_naive_reference_with_many_centroids_and_ties(dtype, aggregate):
    # 700 centroids (the wide rows are sorted in chunks), and training points
    # repeated across classes: centroids tied at every query's k-th
    # similarity, where the lowest centroid index must be kept.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 6)).astype(dtype)
    X = np.r_[X, X[:200]]
    y = np.r_[rng.integers(0, 5, 500), rng.integers(0, 5, 200)]
    clf = KNearestClusterClassifier(
        n_neighbors=10, cluster_size=1, scale=4.0, aggregate=aggregate,
        prior_correction=0.0, head="none", random_state=0,
    ).fit(X, y)
    assert clf.cluster_centers_.shape[0] == 700
    Xq = np.r_[X[:100], rng.normal(size=(300, 6)).astype(dtype)]
    assert_array_equal(clf.predict(Xq), brute_rule(clf, Xq))


def test_cluster_counts_and_sizes_per_class():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(137, 4))
    y = np.r_[np.zeros(100, int), np.ones(30, int), np.full(7, 2)]
    clf = KNearestClusterClassifier(cluster_size=20, random_state=0).fit(X, y)
    # K_c = max(1, L_c // 20): 5, 1, 1
    assert_array_equal(np.bincount(clf.cluster_classes_), [5, 1, 1])
    assert_array_equal(clf.cluster_sizes_, [20, 20, 20, 20, 20, 30, 7])
    assert_allclose(np.linalg.norm(clf.cluster_centers_, axis=1), 1.0)


def test_single_class_is_refused_as_by_the_other_estimators():
    X = np.random.default_rng(0).normal(size=(10, 3))
    clf = KNearestClusterClassifier(cluster_size=3)
    with pytest.raises(ValueError, match=r"y has only one class \('only'\); "
                       "KNearestClusterClassifier needs at least two classes"):
        clf.fit(X, ["only"] * 10)
    assert not hasattr(clf, "classes_")


def test_string_labels_come_back():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(3, 0.2, (20, 2)), rng.normal(-3, 0.2, (20, 2))]
    y = np.array(["cat"] * 20 + ["dog"] * 20)
    clf = KNearestClusterClassifier(n_neighbors=2, cluster_size=5).fit(X, y)
    assert_array_equal(clf.predict(X), y)
    assert clf.score(X, y) == 1.0


def test_errors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = np.repeat([0, 1], 10)
    clf = KNearestClusterClassifier(cluster_size=5).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :2])
    with pytest.raises(ValueError, match="all zero"):
        clf.predict(np.zeros((1, 3)))
    X0 = X.copy()
    X0[4] = 0
    with pytest.raises(ValueError, match=r"all zero.*rows 4"):
        KNearestClusterClassifier().fit(X0, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        KNearestClusterClassifier().fit(X, rng.normal(size=20))
    with pytest.raises(ValueError, match="n_neighbors"):
        KNearestClusterClassifier(n_neighbors=0).fit(X, y)


def test_faiss_missing_is_a_clear_import_error():
    try:
        import faiss  # noqa: F401
    except ImportError:
        X = np.random.default_rng(0).normal(size=(10, 3))
        with pytest.raises(ImportError, match="pip install faiss-cpu"):
            KNearestClusterClassifier(algorithm="faiss").fit(X, [0, 1] * 5)
    else:
        pytest.skip("faiss is installed")


def test_memory_is_blocked_by_working_memory(monkeypatch):
    import sklearn

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = rng.integers(0, 3, size=300)
    clf = KNearestClusterClassifier(n_neighbors=4, cluster_size=10, random_state=0)
    clf.fit(X, y)
    Xq = rng.normal(size=(500, 4))
    expected = clf.decision_function(Xq)
    calls, searched = [], []
    original = clf._index.query
    original_top_k = _scoring.top_k

    def spy(Xb, n, **kwargs):
        calls.append(len(Xb))
        return original(Xb, n, **kwargs)

    def spy_top_k(sims, k):  # the search's sub-blocks of query x centroids
        searched.append(sims.shape[0])
        return original_top_k(sims, k)

    clf._index.query = spy
    monkeypatch.setattr(_scoring, "top_k", spy_top_k)
    n_centers = clf.cluster_centers_.shape[0]
    with sklearn.config_context(working_memory=0.01):  # ~10 kB
        got = clf.decision_function(Xq)
        # blocks of the rule: (rows, max(n_neighbors, n_classes)) temporaries
        expected_rows = _scoring.block_rows(4, cache=False)
        # sub-blocks of the search: two (rows, n_centers) float64 arrays
        expected_sub = _scoring.block_rows(n_centers, 8, factor=2)
    assert max(calls) == expected_rows == 2**20 // 100 // (3 * 8 * 4)
    assert max(calls) < 500 and sum(calls) == 500
    assert max(searched) == expected_sub == 2**20 // 100 // (2 * 8 * n_centers)
    assert max(searched) < max(calls) and sum(searched) == 500
    assert_allclose(got, expected)


def test_multilabel_shared_and_blocks():
    rng = np.random.default_rng(0)
    n = 400
    Y = (rng.random((n, 3)) < [0.5, 0.2, 0.05]).astype(int)
    Y[:3] = [[1, 1, 1], [0, 0, 0], [1, 0, 1]]
    # label j is visible in feature block j (2 features a block)
    X = rng.normal(scale=0.3, size=(n, 6)) + np.repeat(np.where(Y, 2.0, -2.0), 2, 1)
    shared = KNearestClusterClassifier(n_neighbors=3, cluster_size=10, random_state=0)
    pred = shared.fit(X, Y).predict(X)
    assert pred.shape == Y.shape
    assert (pred == Y).mean() > 0.95
    blocks = KNearestClusterClassifier(
        n_neighbors=3, cluster_size=10, multilabel_features="blocks", random_state=0
    ).fit(X, Y)
    assert_array_equal(blocks.estimators_[1].cluster_centers_.shape[1], 2)
    # the block classifier of label 1 is the same as a fit on block 1 alone
    alone = KNearestClusterClassifier(
        n_neighbors=3, cluster_size=10, random_state=blocks.estimators_[1].random_state
    ).fit(X[:, 2:4], Y[:, 1])
    assert_array_equal(blocks.predict(X)[:, 1], alone.predict(X[:, 2:4]))
    assert len(blocks.predict_proba(X)) == 3
    assert blocks.decision_function(X).shape == (n, 3)
    with pytest.raises(ValueError, match="multiple of n_labels=3"):
        KNearestClusterClassifier(multilabel_features="blocks").fit(X[:, :5], Y)


def test_grid_search_in_pipeline():
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(1, 1, (120, 4)), rng.normal(-1, 1, (30, 4))]
    y = np.r_[np.zeros(120, int), np.ones(30, int)]
    pipe = Pipeline(
        [("scale", StandardScaler()), ("clf", KNearestClusterClassifier(random_state=0))]
    )
    search = GridSearchCV(
        pipe,
        {"clf__n_neighbors": [1, 5], "clf__cluster_size": [5, 20]},
        cv=StratifiedKFold(3),
        scoring="balanced_accuracy",
    ).fit(X, y)
    assert set(search.best_params_) == {"clf__n_neighbors", "clf__cluster_size"}
    assert search.best_score_ > 0.7


def test_prior_correction_raises_rare_classes_by_tau_log_prior():
    # a: 3 points near angle 0 (prior 3/4), b: 1 point at angle 0.7 (prior 1/4)
    X = circle([0.0, 0.05, 0.1, 0.7])
    y = ["a", "a", "a", "b"]
    q = circle([0.3])
    plain = KNearestClusterClassifier(
        n_neighbors=4, cluster_size=1, scale=10.0, aggregate="min", prior_correction=0.0,
        head="none",
    ).fit(X, y)
    tau = 2.0
    corrected = KNearestClusterClassifier(
        n_neighbors=4, cluster_size=1, scale=10.0, aggregate="min", prior_correction=tau,
        head="none",
    ).fit(X, y)
    assert_allclose(corrected.class_prior_, [0.75, 0.25])
    # by hand: a's score beats b's by 1.916; the correction gives b tau*log 3
    za, zb = 10 * np.cos([0.3, 0.25, 0.2]), 10 * np.cos(0.4)
    margin = (za.min() - zb) - (zb - logsumexp(za))
    assert margin == pytest.approx(1.916, abs=1e-3)
    assert_allclose(
        corrected.decision_function(q), plain.decision_function(q) + tau * np.log(3)
    )
    assert plain.predict(q)[0] == "a"
    assert corrected.predict(q)[0] == "b"  # 2 log 3 = 2.197 > 1.916


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [5, 400])
def test_search_results_do_not_share_its_scratch_memory(dtype, k):
    # the exact search reuses per-thread scratch arrays across sub-blocks and
    # calls: what it returns must not change with the next call
    rng = np.random.default_rng(3)
    C = rng.normal(size=(300, 8)).astype(dtype)
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    Q1, Q2 = (q / np.linalg.norm(q, axis=1, keepdims=True)
              for q in rng.normal(size=(2, 700, 8)).astype(dtype))
    index = _scoring.CentroidIndex(C, "brute")
    idx, sims = index.query(Q1, k)
    kept = idx.copy(), sims.copy()
    index.query(Q2, k)
    assert_array_equal(idx, kept[0])
    assert_array_equal(sims, kept[1])
    k = min(k, 300)
    expected = (naive_top_k(Q1 @ C.T, k) if k < 300
                else np.broadcast_to(np.arange(300), (700, 300)))
    assert_array_equal(idx, expected)
    assert_allclose(sims, np.take_along_axis(Q1 @ C.T, expected, axis=1), rtol=1e-6)


def test_multilabel_constant_label_is_refused():
    X = np.random.default_rng(0).normal(size=(12, 3))
    Y = np.c_[np.arange(12) % 2, np.zeros(12, int)]
    with pytest.raises(ValueError, match=r"label\(s\) \[1\] are all 0 or all 1"):
        KNearestClusterClassifier(cluster_size=2).fit(X, Y)
