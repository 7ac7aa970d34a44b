"""The corpus benchmarks' shared helpers, against hand-worked values."""

import csv

import pytest

from benchmarks.corpus import append_row, paired_cell


def test_paired_cell_over_common_seeds_by_hand():
    # seeds 0 and 1 are common: differences +2 and +4, mean +3,
    # std (ddof 1) sqrt(2), standard error sqrt(2) / sqrt(2) = 1
    mean, cell = paired_cell({0: 12.0, 1: 14.0, 2: 99.0}, {0: 10.0, 1: 10.0})
    assert mean == pytest.approx(3.0) and cell == "+3.00 ± 1.00"
    assert paired_cell({0: 1.0}, {0: 1.5}) == (pytest.approx(-0.5), "-0.50 ± 0.00")
    assert paired_cell({0: 1.0}, {1: 1.0}) == (None, "—")


def test_append_row_writes_the_header_once(tmp_path):
    out = tmp_path / "rows.csv"
    append_row(out, ["a", "b"], dict(a=1, b="x"))
    append_row(out, ["a", "b"], dict(a=2, b="y"))
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}]
    assert out.read_text().count("a,b") == 1
