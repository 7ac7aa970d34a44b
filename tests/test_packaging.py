"""The package as users get it: metadata, the build, a fresh install.

The library never imports imbalanced-learn (only its tests, examples and
benchmarks do), so it is in those extras, not in the requirements.  The slow
test builds the sdist and the wheel, checks them with ``twine check``,
installs the wheel into a fresh virtual environment without any extra and
fits ``SphericalKMeans`` there (``.ci/run`` runs it)."""

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# the CPU build of torch the Makefile installs first (a plain ``pip install``
# of the wheel would resolve torch to a multi-GB CUDA build)
TORCH_PIN = re.search(r"^TORCH_PIN \?= (\S+)$", (ROOT / "Makefile").read_text(),
                      flags=re.M).group(1)


def _requirement_names(requirements):
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_library_never_imports_imblearn():
    importers = []
    for path in (ROOT / "sklearn_clmle").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [])
            if any(n.split(".")[0] == "imblearn" for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []


def test_imbalanced_learn_only_in_the_extras_that_use_it():
    project = PYPROJECT["project"]
    assert "imbalanced-learn" not in _requirement_names(project["dependencies"])
    extras = project["optional-dependencies"]
    assert {"faiss", "dask", "docs", "benchmark", "test"} <= set(extras)
    for extra in ("test", "benchmark", "docs"):  # tests, benchmarks, the gallery
        assert "imbalanced-learn" in _requirement_names(extras[extra])
    for extra in ("faiss", "dask"):
        assert "imbalanced-learn" not in _requirement_names(extras[extra])


def test_version_is_read_statically_from_the_package():
    from sklearn_clmle import __version__

    assert "version" in PYPROJECT["project"]["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "sklearn_clmle._version.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", __version__)


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed:\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-3000:]}")
    return result.stdout


FRESH_SCRIPT = """
import importlib.util, sys
import numpy as np
import sklearn_clmle
from sklearn_clmle import SphericalKMeans
assert "torch" not in sys.modules, "import sklearn_clmle imported torch"
X = np.random.default_rng(0).normal(size=(200, 8))
km = SphericalKMeans(n_clusters=4, equal_size=True, random_state=0).fit(X)
assert np.bincount(km.labels_).tolist() == [50, 50, 50, 50], km.labels_
assert np.allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1)
from sklearn_clmle import CLMLEEmbedder  # torch and skorch resolve
missing = [m for m in ("pytest", "hypothesis", "imblearn", "pandas")
           if importlib.util.find_spec(m) is not None]
assert not missing, f"installed without extras, yet importable: {missing}"
print(sklearn_clmle.__version__, sklearn_clmle.__file__)
"""


@pytest.mark.slow
def test_wheel_builds_and_installs_in_a_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", dist, ROOT])
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    _run([sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists])

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    _run([python, "-m", "pip", "install", "--quiet", TORCH_PIN], env=env)
    _run([python, "-m", "pip", "install", "--quiet", wheels[0]], env=env)
    # run outside the repository, so the installed package is imported
    out = _run([python, "-c", FRESH_SCRIPT], cwd=tmp_path, env=env)
    version, location = out.split()
    assert version == _installed_version()
    assert str(venv) in location


def _installed_version():
    from sklearn_clmle import __version__

    return __version__
