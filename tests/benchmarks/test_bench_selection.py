"""bench_selection.py's rules on a hand-built record: the former best score,
the standard-error rule at two thresholds, and always the product."""

import numpy as np
import pytest

pytest.importorskip("torch")

from benchmarks import bench_selection as bench  # noqa: E402


def _log(p_right, y, wrong_rows=(), p_wrong=0.99):
    """Two-class log-probabilities: the true class at ``p_right``; on
    ``wrong_rows`` class 0 at ``p_wrong`` whatever the label."""
    p = np.where(np.eye(2)[y] == 1, p_right, 1 - p_right)
    for i in wrong_rows:
        p[i] = [p_wrong, 1 - p_wrong]
    return np.log(p)


def _record():
    # 20 rows of each class; the rule is right everywhere (mildly sure), the
    # linear and softmax heads are right too except on row 20 (a class-1
    # row), where both are very sure of class 0 and outvote the rule: every
    # candidate with either of them scores 0.975, the rule alone 1.0
    y = np.repeat([0, 1], 20)
    held = {"rule": [_log(0.6, y)], "linear": [_log(0.6, y, [20])],
            "softmax": [_log(0.6, y, [20])]}
    members = [{e: held[e][0] for e in held}]
    return dict(held=held, y_held=[y], members=members, y_val=y)


def test_rules_by_hand():
    record = _record()
    # gain of the rule over the product 0.025 (one row of 20 in one class of
    # two); its paired standard error: the class-1 differences (one 1,
    # nineteen 0) have variance 0.05, over 20 rows 0.0025, root 0.05, over
    # two classes 0.025 -- so one standard error is cleared, two are not
    assert bench.choose(record, None) == ("rule",)
    assert bench.choose(record, 0.5) == ("rule",)
    assert bench.choose(record, 2.0) == ("rule", "linear", "softmax")
    assert bench.choose(record, float("inf")) == ("rule", "linear", "softmax")
    # scored on the same rows as validation: 100 % and 97.5 %
    assert bench.validation_score(record, ("rule",)) == pytest.approx(100.0)
    assert bench.validation_score(record, ("rule", "linear", "softmax")) == \
        pytest.approx(97.5)


def test_a_clear_gain_clears_two_standard_errors():
    record = _record()
    y = record["y_held"][0]
    wrong = list(range(20, 30))  # the heads now outvote the rule on 10 rows
    for e in ("linear", "softmax"):
        record["held"][e] = [_log(0.6, y, wrong)]
    # gain 0.25, standard error sqrt(0.25 * 20 / 19 / 20) / 2 = 0.0573
    assert bench.choose(record, 2.0) == ("rule",)
    assert bench.choose(record, 3.0) == ("rule",)
