"""The font verification benchmark's protocol (benchmarks/bench_font_verification.py)
on hand-made embeddings and tiny DejaVu data (no training)."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks import bench_font_verification as bench

mpl = pytest.importorskip("matplotlib")
TTF = Path(mpl.get_data_path()) / "fonts" / "ttf"
DEJAVU = sorted(TTF.glob("DejaVu*.ttf"))


def _identities(sizes):
    return np.repeat(np.arange(len(sizes)), sizes)


SIZES = [6, 5, 5, 4, 4, 3, 3, 2, 2, 2, 2, 1, 1]


def test_evaluate_scores_every_pair():
    y = _identities(SIZES)
    n = len(y)
    perfect = np.eye(len(SIZES))[y]
    rep, (fpr, tpr) = bench.evaluate(perfect, y, seed=0)
    n_pos = sum(s * (s - 1) // 2 for s in SIZES)
    assert rep["n_pos"] == n_pos and rep["n_pos"] + rep["n_neg"] == n * (n - 1) // 2
    assert rep["neg_above_1e3"] == int(1e-3 * rep["n_neg"])
    assert rep["accuracy"] == 1.0 and rep["auc"] == 1.0
    assert rep["tar@far=0.001"] == 1.0 and rep["tar@far=0.0001"] == 1.0
    assert rep["rank1"] == 1.0
    # identical embeddings: every pair scores the same, rank-1 is the
    # documented tie rule's (ties count against the probe)
    rep, _ = bench.evaluate(np.ones((n, 3)), y, seed=0)
    assert rep["auc"] == 0.5 and rep["accuracy"] == 0.5 and rep["rank1"] == 0.0


def test_evaluate_accuracy_uses_identity_disjoint_folds(monkeypatch):
    # identity 0's two images look alike only to the other identities' eyes:
    # an accuracy computed on random pair folds would see the same pairs in
    # training and test folds; with identity folds each identity is scored
    # once, at a threshold from the others
    y = _identities([2] * 20)
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(40, 8))
    Z[1::2] = Z[::2] + 0.1 * rng.normal(size=(20, 8))
    seen = []
    real = bench.fold_accuracy

    def spy(scores, a, b, same, folds):
        seen.append(folds)
        return real(scores, a, b, same, folds)

    monkeypatch.setattr(bench, "fold_accuracy", spy)
    bench.evaluate(Z, y, seed=0)
    (folds,) = seen
    assert len(np.unique(folds)) == bench.N_FOLDS
    for c in range(20):
        assert len(np.unique(folds[y == c])) == 1


def test_evaluate_gallery_holds_every_identity():
    # probes of identity 0 are nearer to the singleton identity 2 than to
    # identity 0's enrolled image: rank-1 must count that as a miss
    y = np.r_[0, 0, 1, 1, 2, _identities([4] * 8) + 3]
    Z = np.zeros((len(y), 13))
    Z[:5, :2] = [[1, 0.0], [0.6, 0.8], [0, 1.0], [0.05, 1.0], [0.62, 0.78]]
    Z[5:, 2:10] = np.eye(8)[y[5:] - 3]  # well-separated other identities
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    rep, _ = bench.evaluate(Z, y, seed=0)
    assert rep["rank1"] < 1.0 and rep["rank5"] == 1.0


def test_validation_split_is_identities_of_a_only():
    y = _identities([4, 3, 3, 2, 2, 2])
    X = np.arange(len(y))[:, None].astype(float)
    Xa, ya, Xv, yv = bench.validation_split(X, y, n_val=2, seed=0)
    assert len(np.unique(yv)) == 2
    assert not set(ya) & set(yv)
    assert len(ya) + len(yv) == len(y)
    np.testing.assert_array_equal(np.sort(np.r_[Xa[:, 0], Xv[:, 0]]),
                                  np.arange(len(y)))


def test_write_csv_takes_rows_with_different_keys(tmp_path):
    bench.write_csv([dict(a=1.0, b=2), dict(a=0.123456789, b=3, chosen=True)],
                    tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_text().splitlines() == [
        "a,b,chosen", "1.0,2,", "0.123457,3,True"]


def _tiny(monkeypatch, font_paths=None):
    loader = dict(task="fonts", characters="0123456789", n_max=6,
                  imbalance_ratio=3)
    if font_paths is not None:
        loader["font_paths"] = font_paths
    monkeypatch.setitem(bench.TASKS, "tiny", dict(
        loader=loader, n_train=7, n_val=2, n_test=5, fonts="latin"))


def test_load_split_disjoint_identities(monkeypatch):
    _tiny(monkeypatch, tuple(DEJAVU))
    Xtr, ytr, Xte, yte, data = bench.load_split("tiny", 0)
    assert not set(ytr) & set(yte)
    assert len(np.unique(ytr)) == 7 and len(np.unique(yte)) == 5
    assert Xtr.shape[1] == bench.IMAGE_SIZE ** 2
    assert len(ytr) + len(yte) == len(data.target)


def test_font_dirs_reach_the_loader(monkeypatch, tmp_path):
    # fonts extracted without root live in a directory of the user's choice
    for f in DEJAVU:
        (tmp_path / f.name).symlink_to(f)
    _tiny(monkeypatch)
    args = bench.parse_args(["--font-dirs", str(tmp_path)])
    assert args.font_dirs == (str(tmp_path),)
    *_, data = bench.load_split("tiny", 0, args.font_dirs)
    assert {Path(p).parent for p, _, _ in data.font_files} == {tmp_path}
    assert bench.parse_args([]).font_dirs == bench.DEFAULT_FONT_DIRS
    with pytest.raises(SystemExit):
        bench.parse_args(["--font-dirs", str(tmp_path / "missing")])


def _row(method, seed, acc, **extra):
    return dict(method=method, seed=seed, accuracy=acc, auc=acc,
                **{f"tar@far={f:g}": acc / 2 for f in bench.FARS},
                rank1=acc, rank5=acc, fit_s=1.0, **extra)


def test_report_round_trips_through_the_csv(tmp_path):
    state = dict(tuning=[dict(_row("CE", 0, 0.5), setting="learning_rate=0.001",
                              chosen=True)],
                 main=[_row(m, s, 0.5 + 0.1 * (m == "CLMLE") + 0.01 * s)
                       for s in range(3) for m in ("CE", "CLMLE")],
                 ablation=[])
    stem = tmp_path / "r"
    bench.write_report(stem, state, "# header")
    back = bench.read_rows(stem.with_suffix(".csv"))
    assert back["main"] == state["main"] and back["tuning"] == state["tuning"]
    text = stem.with_suffix(".md").read_text()
    # CLMLE - CE is +10 points on every seed: the interval is the point
    assert "| CLMLE − CE | +10.00 [+10.00, +10.00] p=nan" in text


def test_fit_rows_resumes_from_done_rows(monkeypatch):
    done = [_row("CE", 0, 0.5, setting="")]
    state = dict(main=list(done))
    monkeypatch.setattr(bench, "load_split",
                        lambda *a: (None, np.array([0, 1]), None, None, None))
    monkeypatch.setattr(bench, "describe_split", lambda *a: "split")
    fitted = []

    def fake_make(name, n, seed, params):
        fitted.append((name, seed))
        raise RuntimeError("stop")

    monkeypatch.setattr(bench, "make_method", fake_make)
    with pytest.raises(RuntimeError, match="stop"):
        bench.fit_rows("characters", state, lambda: None, (), [0],
                       [("CE", "CE", {}), ("CLMLE", "CLMLE", {})], "main",
                       "method", None)
    assert fitted == [("CLMLE", 0)]  # CE on seed 0 was not fitted again


def test_same_settings_for_tuning_and_main_fits():
    # the estimator for a tuning fit (fewer rows) and a main fit differ only
    # in the budget's steps, never in a setting an "auto" rule would switch
    small = bench.make_method("CLMLE", 4000, 0, {}).get_params()
    large = bench.make_method("CLMLE", 14000, 0, {}).get_params()
    assert {k for k in small if small[k] != large[k]} == {"steps_per_round"}
    assert small["weight_decay"] == bench.WEIGHT_DECAY
    assert not [k for k, v in small.items() if isinstance(v, str) and v == "auto"
                and k not in ("margin_between", "margin_within", "distributed")]
    for name in bench.RIVALS:
        assert (bench.make_method(name, 4000, 0, {}).get_params()
                == bench.make_method(name, 14000, 0, {}).get_params())
    assert {len(g) for g in bench.GRIDS.values()} == {bench.GRID_SIZE}


class _Identity:
    """Stands for a trained model: its embedding is the input itself."""

    def fit(self, X, y):
        return self

    def transform(self, X):
        return X


@pytest.mark.parametrize("part, key", [("main", "method"), ("ablation", "row")])
def test_fit_rows_writes_one_row_per_job_and_seed(monkeypatch, part, key):
    yte = _identities([3] * 12)
    Xte = np.eye(12)[yte] + 0.01 * np.random.RandomState(0).normal(size=(36, 12))
    monkeypatch.setattr(bench, "load_split",
                        lambda *a: (Xte, yte, Xte, yte, None))
    monkeypatch.setattr(bench, "describe_split", lambda *a: "split")
    monkeypatch.setattr(bench, "make_method", lambda *a: _Identity())
    state = {part: []}
    saves = []
    bench.fit_rows("characters", state, lambda: saves.append(1), (), [0, 1],
                   [("a", "CLMLE", {}), ("b", "CLMLE", {})], part, key, None)
    assert [(r[key], r["seed"]) for r in state[part]] == [
        ("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    assert all(r["method"] == ("CLMLE" if key == "row" else r[key])
               for r in state[part])
    assert state[part][0]["accuracy"] == 1.0 and len(saves) == 4


def test_report_only_rewrites_the_markdown_from_the_csv(tmp_path, monkeypatch):
    state = dict(tuning=[], ablation=[],
                 main=[_row(m, s, 0.5 + 0.1 * (m == "CLMLE") + 0.01 * s * s)
                       for s in range(3) for m in ("CE", "CLMLE")])
    stem = tmp_path / "r"
    bench.write_report(stem, state, "# header")
    stem.with_suffix(".md").unlink()
    monkeypatch.setattr(bench, "make_method", None)  # no fit may happen
    bench.main(["--report-only", "--out", str(stem)])
    text = stem.with_suffix(".md").read_text()
    assert "| CE | 50.0 / 25.0 | 51.0 / 25.5 | 54.0 / 27.0 |" in text
    assert "| CLMLE − CE | +10.00 [+10.00, +10.00]" in text


def _tuned(method, setting, acc, chosen=False):
    return dict(_row(method, 0, acc), setting=setting, chosen=chosen)


def test_ablation_rows_change_one_setting_of_the_chosen_clmle():
    base = dict(margin_between=0.35, margin_within=0.15)
    jobs = bench.ablation_jobs(base, [])
    assert jobs["margins off (a1 = a2 = 0)"] == dict(margin_between=0.0,
                                                     margin_within=0.0)
    assert jobs["uniform query"] == dict(base, query="uniform")
    assert jobs["cost-sensitive off"] == dict(base, cost_sensitive=False)
    assert jobs["softmax_weight=0 (cluster loss alone)"] == dict(
        base, softmax_weight=0.0)
    # every row differs from the base in exactly the keys of its change
    for label, change in bench.ABLATION.items():
        assert {k for k, v in jobs[label].items() if base.get(k) != v} == set(change)


def test_ablation_turns_margins_on_when_validation_chose_them_off():
    tuning = [_tuned("CLMLE", "margin_between=0.15, margin_within=0.05", 0.70),
              _tuned("CLMLE", "margin_between=0.35, margin_within=0.15", 0.72),
              _tuned("CLMLE", "margin_between=0.0, margin_within=0.0", 0.80, True),
              _tuned("CE", "learning_rate=0.01", 0.95)]
    jobs = bench.ablation_jobs(dict(margin_between=0.0, margin_within=0.0), tuning)
    # the non-zero level with the higher validation score (0.72 + 0.36)
    assert jobs["margins on (a1/a2 = 0.35/0.15)"] == dict(
        margin_between=0.35, margin_within=0.15)
    assert not any(label.startswith("margins off") for label in jobs)
    with pytest.raises(ValueError, match="no non-zero level"):
        bench.ablation_jobs(dict(margin_between=0.0, margin_within=0.0), tuning[2:])


def test_softmax_only_row_is_the_warm_up_for_the_whole_budget():
    # the converse of softmax_weight=0: the same network trained by the
    # logit-adjusted softmax term alone, as many passes as the full CLMLE
    base = dict(margin_between=0.35, margin_within=0.15)
    row = bench.ablation_jobs(base, [])[
        "softmax term only (logit-adjusted CE)"]
    full = bench.make_method("CLMLE", 14000, 0, base).get_params()
    only = bench.make_method("CLMLE", 14000, 0, row).get_params()
    assert {k for k in full if full[k] != only[k]} == {
        "warmup_epochs", "n_rounds", "steps_per_round"}
    assert only["warmup_epochs"] == only["epochs"] == bench.EPOCHS
    assert only["steps_per_round"] == 0  # no cluster step
    assert only["warmup_class_weight"] == "logit_adjusted"
    assert only["softmax_weight"] == 1.0


def test_rows_of_a_setting_no_longer_chosen_are_dropped():
    state = dict(
        tuning=[_tuned("CE", "learning_rate=0.001", 0.6),
                _tuned("CLMLE", "margin_between=0.35, margin_within=0.15", 0.7),
                _tuned("CE", "learning_rate=0.01", 0.7, True),
                _tuned("CLMLE", "margin_between=0.0, margin_within=0.0", 0.8, True)],
        main=[dict(_row("CE", 0, 0.6), setting="learning_rate=0.001"),
              dict(_row("CE", 1, 0.7), setting="learning_rate=0.01"),
              dict(_row("CLMLE", 0, 0.8), setting="margin_between=0.0, margin_within=0.0")],
        ablation=[dict(_row("CLMLE", 0, 0.8), row=bench.FULL,
                       setting="margin_between=0.35, margin_within=0.15"),
                  dict(_row("CLMLE", 0, 0.8), row="uniform query",
                       setting="margin_between=0.35, margin_within=0.15, query=uniform"),
                  dict(_row("CLMLE", 0, 0.8), row="uniform query",
                       setting="margin_between=0.0, margin_within=0.0, query=uniform")])
    chosen = bench.chosen_settings(state)
    assert chosen == dict(CE=dict(learning_rate=0.01),
                          CLMLE=dict(margin_between=0.0, margin_within=0.0))
    bench.keep_current(state, chosen, bench.ablation_jobs(chosen["CLMLE"],
                                                          state["tuning"]))
    assert [(r["method"], r["seed"]) for r in state["main"]] == [("CE", 1), ("CLMLE", 0)]
    assert [(r["row"], r["setting"]) for r in state["ablation"]] == [
        ("uniform query", "margin_between=0.0, margin_within=0.0, query=uniform")]


def test_main_phase_needs_tuned_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "make_method", None)  # no fit may happen
    with pytest.raises(SystemExit, match="tune phase first"):
        bench.main(["--phases", "main", "--out", str(tmp_path / "r")])
