"""The benchmark runner's metrics, protocol and a tiny end-to-end run."""

import numpy as np
import pytest

from benchmarks import run
from benchmarks.suite import report
from benchmarks.suite.methods import (
    METHODS, Context, Skip, build, config_for, rounds_schedule,
)


def test_shot_groups_are_terciles_by_training_count():
    counts = [5, 50, 20, 1, 100, 7, 30]
    many, medium, few = report.shot_groups(counts)
    # sorted by count: 100 (4), 50 (1), 30 (6) | 20 (2), 7 (5) | 5 (0), 1 (3)
    assert many.tolist() == [1, 4, 6]
    assert medium.tolist() == [2, 5]
    assert few.tolist() == [0, 3]


def test_score_against_hand_computed_values():
    # classes 0 (head), 1, 2 (tail); recalls 3/4, 1/2, 0/2
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 0, 0, 1])
    metrics, recall = report.score(y_true, y_pred, counts=[10, 5, 1])
    np.testing.assert_allclose(recall, [0.75, 0.5, 0.0])
    assert metrics["balanced_accuracy"] == pytest.approx((0.75 + 0.5 + 0) / 3)
    assert metrics["recall_many"] == pytest.approx(0.75)
    assert metrics["recall_medium"] == pytest.approx(0.5)
    assert metrics["recall_few"] == pytest.approx(0.0)
    assert metrics["g_mean"] == pytest.approx(0.0)
    # precisions 3/5, 1/3, 0 -> F1 2pr/(p+r): 2/3, 2/5, 0
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.4 + 0) / 3)


def test_every_deep_method_sees_the_same_number_of_samples():
    y = np.repeat(np.arange(4), [40, 20, 10, 5])
    ctx = Context(0, y, config_for("digits-ir10"))
    budget = ctx.config.epochs * len(y)
    ce = build("CE", ctx)
    assert ce.epochs * len(y) == budget
    ros = build("ROS + CE", ctx)[-1]  # 160 resampled rows
    assert abs(ros.epochs * 160 - budget) <= 160 / 2
    rus = build("RUS + CE", ctx)[-1]  # 20 resampled rows
    assert abs(rus.epochs * 20 - budget) <= 20 / 2
    emb = build("CLMLE + k-nearest clusters", ctx)[0]
    seen = (emb.warmup_epochs * len(y) + emb.n_rounds * emb.steps_per_round
            * emb.n_clusters_per_batch * emb.n_samples_per_cluster)
    assert abs(seen - budget) <= emb.n_rounds * 80
    assert rounds_schedule(ctx, warmup_epochs=ctx.config.epochs, n_rounds=5,
                           batch=80) == 1  # never zero steps


def test_smote_is_skipped_with_a_reason_for_one_sample_classes():
    y = np.repeat(np.arange(3), [30, 10, 1])
    ctx = Context(0, y, config_for("digits-ir10"))
    with pytest.raises(Skip, match="1 training sample"):
        build("SMOTE + CE", ctx)


def test_end_to_end_run_writes_tables_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    run.main(["--datasets", "digits-ir10", "--methods", "SMOTE + 5-NN",
              "--seeds", "0", "--results", str(tmp_path), "--threads", "1"])
    rows = report.read_csv(tmp_path / "suite_digits-ir10.csv")
    assert [r["method"] for r in rows] == ["SMOTE + 5-NN"]
    assert 0.8 < float(rows[0]["balanced_accuracy"]) <= 1
    per_class = report.read_csv(tmp_path / "suite_digits-ir10_per_class.csv")
    assert len(per_class) == 10
    table = (tmp_path / "suite_digits-ir10.md").read_text()
    assert "| SMOTE + 5-NN | classical |" in table
    assert (tmp_path / "suite_digits-ir10_recall.png").stat().st_size > 0
    assert "digits-ir10" in (tmp_path / "suite_summary.md").read_text()
    assert "SMOTE + 5-NN" in capsys.readouterr().out
    # a re-run replaces the run's rows instead of piling them up
    run.main(["--datasets", "digits-ir10", "--methods", "SMOTE + 5-NN",
              "--seeds", "0", "--results", str(tmp_path), "--threads", "1"])
    assert len(report.read_csv(tmp_path / "suite_digits-ir10.csv")) == 1
    assert len(report.read_csv(tmp_path / "suite_digits-ir10_per_class.csv")) == 10


def test_store_rows_replaces_only_the_same_runs(tmp_path):
    path = tmp_path / "rows.csv"
    fields = ["dataset", "seed", "method", "score"]
    report.store_rows(path, [dict(dataset="d", seed=0, method="a", score=1),
                             dict(dataset="d", seed=1, method="a", score=2)], fields)
    report.store_rows(path, [dict(dataset="d", seed=0, method="a", score=3),
                             dict(dataset="d", seed=0, method="b", score=4)], fields)
    got = {(r["seed"], r["method"]): r["score"] for r in report.read_csv(path)}
    assert got == {("1", "a"): "2", ("0", "a"): "3", ("0", "b"): "4"}


def test_unknown_names_are_refused():
    with pytest.raises(SystemExit, match="unknown method 'nope'"):
        run.main(["--methods", "nope", "--list"])
    assert set(METHODS) >= {"CE", "triplet + k-NN", "LMLE + k-NN"}


def test_results_leave_the_checkout_clean_unless_told_otherwise():
    # `make demo` (--quick) and every run write to a folder git ignores; the
    # committed results are refreshed on request only
    assert run.parse_args(["--quick"]).results == run.LOCAL_RESULTS
    assert run.parse_args([]).results == run.LOCAL_RESULTS
    assert run.parse_args(["--quick", "--refresh-committed"]).results == run.RESULTS
    assert run.RESULTS == run.common.RESULTS / "suite"
    root = run.RESULTS.parents[2]
    assert run.LOCAL_RESULTS.parent.parent == root
    ignored = {line.strip() for line in (root / ".gitignore").read_text().splitlines()}
    assert "local_results/" in ignored
    with pytest.raises(SystemExit):  # one or the other
        run.parse_args(["--results", "x", "--refresh-committed"])
