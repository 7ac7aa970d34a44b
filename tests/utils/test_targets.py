"""One encoder of class labels (``utils._targets``, labels by
``encode_labels``) for the classifiers and the embedders."""

import numpy as np
import pytest

from sklearn_clmle import KNearestClusterClassifier
from sklearn_clmle.utils import _targets


def test_labels_are_sorted_and_encoded():
    t = _targets.encode_targets(np.array(["b", "a", "c", "a"]), "Est")
    assert t.classes.tolist() == ["a", "b", "c"]
    assert t.encoded.tolist() == [1, 0, 2, 0] and t.encoded.dtype == np.int64
    assert t.counts.tolist() == [2, 1, 1] and not t.multilabel


def test_a_single_class_only_where_allowed():
    with pytest.raises(ValueError, match=r"y has only one class \('a'\); Est needs"):
        _targets.encode_targets(np.array(["a", "a"]), "Est")
    t = _targets.encode_targets(np.array(["a", "a"]), "Est", min_classes=1)
    assert t.classes.tolist() == ["a"] and t.encoded.tolist() == [0, 0]


def _spy(monkeypatch):
    calls = []
    real = _targets.encode_labels

    def spy(y, name="y"):
        calls.append(np.asarray(y).copy())
        return real(y, name)

    monkeypatch.setattr(_targets, "encode_labels", spy)
    return calls


def test_the_classifier_encodes_with_it(monkeypatch):
    calls = _spy(monkeypatch)
    X = np.random.RandomState(0).normal(size=(9, 2))
    y = np.array(["x", "y", "z"] * 3)
    clf = KNearestClusterClassifier(2, cluster_size=3, random_state=0).fit(X, y)
    assert len(calls) == 1 and calls[0].tolist() == y.tolist()
    assert clf.classes_.tolist() == ["x", "y", "z"]


@pytest.mark.parametrize("name", ["CLMLEEmbedder", "MetricEmbedder",
                                  "LongTailNetClassifier"])
def test_the_torch_estimators_encode_with_it(monkeypatch, name):
    pytest.importorskip("torch")
    import sklearn_clmle

    calls = _spy(monkeypatch)
    X = np.random.RandomState(0).normal(size=(12, 2))
    y = np.array(["x", "y"] * 6)
    params = getattr(sklearn_clmle, name)._test_params
    est = getattr(sklearn_clmle, name)(**params).fit(X, y)
    assert len(calls) == 1 and calls[0].tolist() == y.tolist()
    assert est.classes_.tolist() == ["x", "y"]
