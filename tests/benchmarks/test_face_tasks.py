"""The face tasks' protocol (benchmarks/face/) on tiny data
(no training: the embedders are replaced by hand-made embeddings)."""

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.face import datasets, methods, report


@pytest.fixture(scope="module")
def digits():
    return datasets.load_images("digits")


def _tiny(**changes):
    return replace(methods.CONFIGS["digits"], **changes)


def test_open_set_split_trains_on_long_tailed_seen_classes(digits):
    X_tr, X_te, y_tr, y_te = digits
    cfg = _tiny()
    split = datasets.open_set_split(X_tr, y_tr, X_te, y_te, cfg, seed=0)
    counts = np.bincount(split.y_train)
    assert len(counts) == 10 - cfg.n_unseen
    assert counts[0] == counts.max() and counts[-1] == counts.min()
    assert counts[0] >= cfg.imbalance_ratio * counts[-1] * 0.9
    assert set(np.unique(split.y_eval)) == set(split.unseen_classes)
    assert len(split.unseen_classes) == cfg.n_unseen
    # evaluation and distractors come from the test split, never trained on
    assert len(split.X_eval) + len(split.X_distract) == len(X_te)


def test_validation_split_holds_out_seen_classes_only(digits):
    X_tr, X_te, y_tr, y_te = digits
    cfg = _tiny()
    test = datasets.open_set_split(X_tr, y_tr, X_te, y_te, cfg, seed=1)
    val = datasets.validation_open_set(X_tr, y_tr, cfg, seed=1)
    val_classes = set(val.unseen_classes)
    assert len(val_classes) == 2
    assert not val_classes & set(test.unseen_classes)  # test classes untouched
    assert len(np.bincount(val.y_train)) == 10 - cfg.n_unseen - 2


def test_scores_of_perfect_embeddings():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 20)
    Z = np.eye(8)[y] + 0.01 * rng.rand(60, 8)
    Zd = np.eye(8)[rng.randint(3, 8, 30)]
    assert report.identification_rank1(Z, y, Zd, n_enrol=3, seed=0) == 1.0
    rep, (fpr, tpr) = report.evaluate_open_set(Z, y, Zd, _tiny(n_pairs=200), seed=0)
    assert rep["accuracy"] == 1.0 and rep["auc"] == 1.0
    assert rep["tar@far=0.001"] == 1.0 and rep["rank1"] == 1.0
    assert fpr[0] == 0 and tpr[-1] == 1


def test_identification_counts_distractors_against_probes():
    # class 1's probe is nearer a distractor than its enrolled image
    Z = np.array([[1.0, 0, 0], [1, 0.1, 0], [0, 1, 0], [0, 1, 1]])
    y = np.array([0, 0, 1, 1])
    Zd = np.array([[0, 0.8, 1]])
    accs = [report.identification_rank1(Z, y, Zd, n_enrol=1, seed=s) for s in range(20)]
    assert set(accs) <= {0.5, 1.0} and 0.5 in accs


def test_mosaics_come_from_disjoint_pools_and_rates_fall(digits):
    X_tr, X_te, y_tr, y_te = digits
    data = datasets.mosaic_split(X_tr, y_tr, X_te, y_te, _tiny(n_mosaics=(400, 50, 60)),
                              seed=0)
    assert data.X_train.shape == (400, 256) and data.Y_val.shape == (50, 10)
    assert data.X_test.dtype == np.float32
    rates = data.Y_train.mean(axis=0)
    assert rates[0] > 0.3 and rates[-1] < 0.1


def test_fashion_tiles_are_pooled():
    X = np.arange(2 * 16, dtype=np.float32).reshape(2, 16)
    pooled = datasets.pool_tiles(X, 2)
    assert pooled.shape == (2, 4)
    assert pooled[0, 0] == np.mean([0, 1, 4, 5])


def test_per_attribute_balanced_accuracy():
    Y = np.array([[1, 0], [0, 0], [0, 1], [1, 1]])
    P = np.array([[1, 0], [1, 0], [0, 0], [1, 1]])
    np.testing.assert_allclose(report.per_attribute_bacc(Y, P), [0.75, 0.75])


def test_same_budget_for_clmle_and_the_nets():
    cfg = _tiny()
    n = 300
    emb = methods.make_clmle(cfg, n, seed=0)
    batch = emb.n_clusters_per_batch * emb.n_samples_per_cluster
    seen = emb.warmup_epochs * n + emb.n_rounds * emb.steps_per_round * batch
    assert abs(seen - cfg.epochs * n) <= emb.n_rounds * batch
    assert methods.make_net(cfg, 0, "ce").epochs == cfg.epochs


def test_reports_render(tmp_path):
    rows = [dict(method=m, seed=s, accuracy=0.8, auc=0.9, **{"tar@far=0.01": 0.5,
                 "tar@far=0.001": 0.2}, rank1=0.4, fit_s=1.0)
            for m in ("CLMLE", "CE") for s in (0, 1)]
    text = report.verify_markdown(rows, _tiny(), [0, 1], "# title")
    assert "| CLMLE | 80.00 ± 0.00 | 90.00 ± 0.00" in text
    roc = (np.array([0, 0.1, 1]), np.array([0, 0.5, 1]))
    report.plot_roc({0: {"CLMLE": roc}, 1: {"CLMLE": roc}}, tmp_path / "roc.png", "t")
    rates = np.array([0.5, 0.1])
    arows = [dict(method="a", seed=0, bacc=np.array([0.9, 0.7]), fit_s=1.0)]
    assert "| 2 | 10.0 | 70.00 ± 0.00 |" in report.attributes_markdown(arows, rates, "#")
    report.plot_attributes(arows, rates, tmp_path / "attr.png", "t")
    assert (tmp_path / "roc.png").stat().st_size > 0


def test_knc_grid_on_separable_blocks():
    rng = np.random.RandomState(0)
    Y = (rng.rand(80, 2) < [0.5, 0.2]).astype(int)
    Y[:4] = [[1, 1], [0, 0], [1, 0], [0, 1]]  # both values in each label
    Z = np.hstack([np.eye(2)[Y[:, j]] + 0.05 * rng.rand(80, 2) for j in range(2)])
    grid = dict(n_neighbors=(1, 3), aggregate=("max",), prior_correction=(1.0,))
    scores = methods.knc_grid_scores(Z, Y, Z, Y, (16.0,), (5,), seed=0, grid=grid)
    assert len(scores) == 2 and all(v == 1.0 for v in scores.values())


def test_triplet_has_the_same_budget():
    if not methods.has_triplet():
        pytest.skip("MetricEmbedder not available")
    cfg = _tiny()
    n = 300
    emb = methods.make_triplet(cfg, n, n_classes=5, seed=0)
    batch = emb.n_classes_per_batch * emb.n_samples_per_class
    assert emb.n_classes_per_batch == 5
    seen = emb.warmup_epochs * n + emb.n_rounds * emb.steps_per_round * batch
    assert abs(seen - cfg.epochs * n) <= emb.n_rounds * batch
