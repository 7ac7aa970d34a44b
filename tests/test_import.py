"""Importing the numpy-only parts of the package must not import torch."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "statement",
    [
        "import sklearn_clmle",
        "import sklearn_clmle.cluster",
        "import sklearn_clmle.neighbors",
        "from sklearn_clmle import SphericalKMeans",
    ],
)
def test_numpy_only_imports_do_not_import_torch(statement):
    code = (
        f"{statement}\n"
        "import sys\n"
        "bad = sorted(m for m in ('torch', 'skorch') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_is_exposed():
    import sklearn_clmle

    assert isinstance(sklearn_clmle.__version__, str)
