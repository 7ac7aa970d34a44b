"""bench_clmle_ablation.py's --rows: re-run some rows, keep the others."""

import csv

import pytest

from benchmarks import bench_clmle_ablation as abl


def test_unknown_rows_are_refused(capsys):
    with pytest.raises(SystemExit):
        abl.main(["--rows", "defaults; no such row"])
    assert "no such row" in capsys.readouterr().err


def test_rows_replace_their_own_entries_and_keep_the_others(tmp_path, monkeypatch):
    monkeypatch.setattr(abl, "OUT", tmp_path)
    fields = ["dataset", "seed", "row", "balanced_accuracy", "fit_seconds"]
    with (tmp_path / "ablation.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows([
            dict(dataset="keel-yeast", seed=0, row="defaults",
                 balanced_accuracy="10.0", fit_seconds="1"),
            dict(dataset="keel-yeast", seed=0, row="logit-adjusted CE",
                 balanced_accuracy="20.0", fit_seconds="1")])
    calls = []
    monkeypatch.setattr(abl.ds, "load", lambda name, seed: (name, seed))

    def run_split(split, seed, only):
        calls.append((split, seed, only))
        return {"defaults": (30.0, 2.0)}

    monkeypatch.setattr(abl, "run_split", run_split)
    abl.main(["--datasets", "keel-yeast", "--seeds", "0", "--rows", "defaults"])
    assert calls == [(("keel-yeast", 0), 0, ["defaults"])]
    with (tmp_path / "ablation.csv").open() as fh:
        rows = {r["row"]: float(r["balanced_accuracy"]) for r in csv.DictReader(fh)}
    assert rows == {"logit-adjusted CE": 20.0, "defaults": 30.0}
    md = (tmp_path / "ablation.md").read_text()
    assert "--rows 'defaults'" in md
    assert "| defaults | **30.0 ± 0.0** |" in md  # the best row, bold
