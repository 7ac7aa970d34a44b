"""sklearn-clmle: deep learning on class-imbalanced data with CLMLE.

The public estimators are re-exported here.  ``CLMLEEmbedder``,
``LongTailNetClassifier`` and ``MetricEmbedder`` need torch and are imported
lazily, on first access, so that ``import sklearn_clmle`` (and the numpy-only
estimators) never import torch.
"""

from ._version import __version__
from .classifier import CLMLEClassifier
from .cluster import SphericalKMeans
from .neighbors import KNearestClusterClassifier

__all__ = [
    "CLMLEClassifier",
    "CLMLEEmbedder",
    "KNearestClusterClassifier",
    "LongTailNetClassifier",
    "MetricEmbedder",
    "SphericalKMeans",
    "__version__",
]

# name -> submodule holding it; imported on first attribute access (PEP 562).
_LAZY = {
    "CLMLEEmbedder": ".embedding",
    "LongTailNetClassifier": ".embedding",
    "MetricEmbedder": ".embedding",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
