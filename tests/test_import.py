"""Import hygiene: the numpy-only parts never import torch, and every public
name is exported from its subpackage and documented with an example."""

import importlib
import subprocess
import sys

import pytest

NUMPY_ONLY = ["cluster", "neighbors", "datasets", "metrics"]


@pytest.mark.parametrize(
    "statement",
    [
        "import sklearn_clmle",
        "from sklearn_clmle import SphericalKMeans, KNearestClusterClassifier",
    ]
    + [f"import sklearn_clmle.{name}" for name in NUMPY_ONLY],
)
def test_numpy_only_imports_do_not_import_torch(statement):
    code = (
        f"{statement}\n"
        "import sys\n"
        "bad = sorted(m for m in ('torch', 'skorch') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", NUMPY_ONLY + ["embedding"])
def test_public_names_are_exported_and_documented(name):
    module = importlib.import_module(f"sklearn_clmle.{name}")
    assert module.__all__ == sorted(module.__all__)
    for public in module.__all__:
        obj = getattr(module, public)
        # defined in a private module (``cluster._spherical_kmeans``) or in a
        # subpackage's module (``embedding.losses.cluster``)
        inner = obj.__module__.removeprefix(f"sklearn_clmle.{name}.")
        assert inner != obj.__module__, public
        assert inner.startswith("_") or "." in inner, public
        assert "Examples" in (obj.__doc__ or ""), public


def test_lazy_embedder_and_version():
    import sklearn_clmle

    assert isinstance(sklearn_clmle.__version__, str)
    assert "CLMLEEmbedder" in dir(sklearn_clmle)
    from sklearn_clmle.embedding import CLMLEEmbedder

    assert sklearn_clmle.CLMLEEmbedder is CLMLEEmbedder
