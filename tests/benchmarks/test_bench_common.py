"""benchmarks/common.py: the budget, the CSV writer and the lock."""

import subprocess
import sys

import pytest

from benchmarks.common import exclusive_run, mean_std, steps_per_round, write_csv


def test_steps_per_round_spends_the_budget():
    # 15 epochs of 1,000 rows, 5 of them warm-up: 10,000 samples left for
    # 5 rounds of batches of 40 -> 50 steps a round
    assert steps_per_round(1000, 15, 5, 5, 40) == 50
    # rounded to the nearest step, never below one
    assert steps_per_round(1000, 15, 5, 3, 40) == round(10000 / 120)
    assert steps_per_round(10, 2, 2, 5, 240) == 1


def test_write_csv_appends_under_one_header(tmp_path):
    path = tmp_path / "sub" / "rows.csv"
    write_csv([{"a": 1, "b": 2}], path)
    write_csv([{"a": 3, "b": 4}], path, append=True)
    assert path.read_text().splitlines() == ["a,b", "1,2", "3,4"]
    write_csv([{"a": 5, "b": 6}], path)  # without append: replaced
    assert path.read_text().splitlines() == ["a,b", "5,6"]


def test_write_csv_appends_rows_with_new_columns(tmp_path):
    path = tmp_path / "rows.csv"
    write_csv([{"a": 1, "b": 2}], path)
    write_csv([{"a": 3, "b": 4, "load": 0.5}], path, append=True)
    assert path.read_text().splitlines() == ["a,b,load", "1,2,", "3,4,0.5"]
    write_csv([{"b": 6, "a": 5}], path, append=True)  # fewer columns: appended
    assert path.read_text().splitlines()[-1] == "5,6,"


def test_mean_std():
    assert mean_std([0.5, 0.7]) == "60.00 ± 10.00"


def _other_process_can_lock(lock):
    code = (
        "import fcntl, sys\n"
        f"fh = open({str(lock)!r}, 'a+')\n"
        "try:\n"
        "    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n"
        "    sys.exit(1)\n"
    )
    return subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_exclusive_run_holds_the_lock_only_inside(tmp_path):
    lock = tmp_path / "bench.lock"
    with exclusive_run("test run", lock=lock):
        assert not _other_process_can_lock(lock)
        assert "test run pid" in lock.read_text()
    assert _other_process_can_lock(lock)


def test_exclusive_run_releases_the_lock_on_error(tmp_path):
    lock = tmp_path / "bench.lock"
    with pytest.raises(RuntimeError, match="boom"):
        with exclusive_run("failing run", lock=lock):
            raise RuntimeError("boom")
    assert _other_process_can_lock(lock)


def test_check_quiet_refuses_a_busy_machine_unless_allowed(monkeypatch):
    import os

    from benchmarks import common

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(common, "load_average", lambda: (2.5, 1.0, 1.0))
    with pytest.raises(SystemExit, match="load average 2.50 on 2 cores"):
        common.check_quiet(allow_busy=False)
    state = common.check_quiet(allow_busy=True)
    assert state.busy
    assert state.summary().startswith("**Measured under load")
    assert state.fields()["under_load"] is True
    monkeypatch.setattr(common, "load_average", lambda: (1.9, 1.0, 1.0))
    quiet = common.check_quiet(allow_busy=False)  # 0.95 per core
    assert not quiet.busy
    summary = quiet.summary()
    assert summary.startswith("Load average 1.90 before the run, 1.90 after")
    assert "2 cores; threads: " in summary


def test_thread_settings_name_the_variables_and_pools(monkeypatch):
    from threadpoolctl import threadpool_info

    from benchmarks.common import thread_settings

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    text = thread_settings()
    assert text.startswith("OMP_NUM_THREADS=1")
    for lib in threadpool_info():
        assert f"{lib['internal_api']} {lib['num_threads']}" in text


def test_busy_argument():
    import argparse

    from benchmarks.common import add_busy_argument

    parser = add_busy_argument(argparse.ArgumentParser())
    assert parser.parse_args(["--allow-busy"]).allow_busy
    assert not parser.parse_args([]).allow_busy
