import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_clmle.metrics import _identification, cmc_curve, rank_k_accuracy


def unit(angle_deg):
    a = np.deg2rad(angle_deg)
    return [np.cos(a), np.sin(a)]


def three_probe_case():
    # gallery on the circle: A at 0, B at 90, C at 180 degrees (C a distractor)
    gallery = np.array([unit(0), unit(90), unit(180), unit(45)])
    gallery_labels = np.array(["A", "B", "C", "D"])
    # probe 1 (A) at 10 deg: nearest A            -> rank 1
    # probe 2 (B) at 30 deg: D (15 away), A (30), B (60) -> rank 3
    # probe 3 (A) at 100 deg: B (10), D (55), C (80), A (100)  -> rank 4
    probes = np.array([unit(10), unit(30), unit(100)])
    probe_labels = np.array(["A", "B", "A"])
    return probes, probe_labels, gallery, gallery_labels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_three_probe_cmc_by_hand(dtype):
    probes, pl, gallery, gl = three_probe_case()
    cmc = cmc_curve(probes.astype(dtype), pl, gallery.astype(dtype), gl)
    assert_allclose(cmc, [1 / 3, 1 / 3, 2 / 3, 1.0])
    assert rank_k_accuracy(probes, pl, gallery, gl) == pytest.approx(1 / 3)
    assert rank_k_accuracy(probes, pl, gallery, gl, k=3) == pytest.approx(2 / 3)
    assert_allclose(cmc_curve(probes, pl, gallery, gl, max_rank=2), [1 / 3, 1 / 3])
    # beyond the gallery the curve stays at 1
    assert_allclose(cmc_curve(probes, pl, gallery, gl, max_rank=6)[3:], 1.0)


def test_distractors_push_matches_down():
    probes, pl, gallery, gl = three_probe_case()
    # a distractor at 12 deg now beats A for probe 1 (2 deg vs 10 deg)
    gallery2 = np.vstack([gallery, unit(12)])
    gl2 = np.r_[gl, ["Z"]]
    assert rank_k_accuracy(probes, pl, gallery2, gl2) == 0.0


def test_ties_count_against_the_probe():
    gallery = np.array([[1.0, 0.0], [1.0, 0.0]])
    probes = np.array([[1.0, 0.0]])
    assert_allclose(cmc_curve(probes, [1], gallery, [0, 1]), [0.0, 1.0])
    assert_allclose(cmc_curve(probes, [1], gallery, [1, 0]), [0.0, 1.0])


def test_best_of_several_gallery_items_counts():
    gallery = np.array([unit(90), unit(5), unit(20)])
    probes = np.array([unit(0)])
    # A has items at 90 and 5 deg; B at 20: A's best (5 deg) is rank 1
    assert rank_k_accuracy(probes, ["A"], gallery, ["A", "A", "B"]) == 1.0


def test_naive_reference_and_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(30, 5))
    gl = rng.integers(0, 12, 30)
    probes = rng.normal(size=(17, 5))
    pl = rng.choice(np.unique(gl), 17)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    p = probes / np.linalg.norm(probes, axis=1, keepdims=True)
    ranks = []
    for i in range(17):
        order = np.argsort(-(g @ p[i]), kind="stable")
        ranks.append(1 + np.flatnonzero(gl[order] == pl[i])[0])
    expected = [np.mean(np.array(ranks) <= k) for k in range(1, 31)]
    assert_allclose(cmc_curve(probes, pl, gallery, gl), expected)
    monkeypatch.setattr(_identification, "_BLOCK_ENTRIES", 31)  # 1 probe a block
    assert_allclose(cmc_curve(probes, pl, gallery, gl), expected)


def test_errors():
    probes, pl, gallery, gl = three_probe_case()
    with pytest.raises(ValueError, match="1 probe label.*no item in the gallery.*'Q'"):
        cmc_curve(probes, ["A", "B", "Q"], gallery, gl)
    with pytest.raises(ValueError, match="same number of features"):
        cmc_curve(probes, pl, np.ones((4, 3)), gl)
    with pytest.raises(ValueError, match="probe_labels should be a 1d array"):
        cmc_curve(probes, pl[:2], gallery, gl)
    with pytest.raises(ValueError, match="max_rank=0 should be an integer >= 1"):
        cmc_curve(probes, pl, gallery, gl, max_rank=0)
    with pytest.raises(ValueError, match="k=0 should be"):
        rank_k_accuracy(probes, pl, gallery, gl, k=0)
    with pytest.raises(ValueError, match="gallery_emb has 1 row"):
        cmc_curve(probes, pl, np.vstack([gallery[:3], [0, 0]]), gl)
