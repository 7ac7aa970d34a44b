"""The input checks every estimator shares (``utils._validation``)."""

import numpy as np
import pytest

from sklearn_clmle import KNearestClusterClassifier, SphericalKMeans


def _estimators():
    out = [KNearestClusterClassifier(), SphericalKMeans(2)]
    try:
        from sklearn_clmle import CLMLEClassifier, CLMLEEmbedder
    except ImportError:  # torch missing
        return out
    return out + [CLMLEEmbedder(), CLMLEClassifier()]


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_infinite_values_are_refused_naming_the_estimator(est):
    X = np.random.RandomState(0).normal(size=(20, 3))
    X[4, 1] = np.inf
    y = np.repeat([0, 1], 10)
    with pytest.raises(ValueError, match=(
            rf"Input X contains infinity.* {type(est).__name__} needs finite "
            "features")):
        est.fit(X, y)
