"""The documentation's checkable parts: the user guide's Python blocks run and
print what their comments say, and the API reference documents every public
name exactly once (``docs/api_reference.py``, which ``docs/conf.py`` runs).
The Sphinx build itself (``make docs-quick``, warnings as errors) runs in CI."""

import importlib
import re
import sys
from pathlib import Path

import pytest

from tests._printed import run_block

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GUIDE = sorted((DOCS / "user_guide").glob("*.rst"))
# ``.. code-block:: python`` blocks are run; ``::`` blocks are shown only
# (launch commands, fragments that need your data)
BLOCKS = [
    (path.name, index, match)
    for path in GUIDE
    for index, match in enumerate(re.findall(
        r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", path.read_text(),
        flags=re.M))
]


def test_user_guide_has_runnable_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("name, index, code", BLOCKS,
                         ids=[f"{n}[{i}]" for n, i, _ in BLOCKS])
def test_user_guide_block_prints_its_comments(name, index, code):
    run_block(code, f"docs/user_guide/{name}[python block {index}]")


@pytest.fixture(scope="module")
def api_reference():
    sys.path.insert(0, str(DOCS))
    try:
        yield importlib.import_module("api_reference")
    finally:
        sys.path.remove(str(DOCS))


def test_every_public_name_has_one_api_page(api_reference, tmp_path):
    api_reference.write_pages(tmp_path)
    documented, linked = [], []
    for page in tmp_path.glob("sklearn_clmle*.rst"):
        module = page.stem
        text = page.read_text()
        own = text.split("Also importable from here")[0]
        documented += [f"{module}.{n}" for n in
                       re.findall(r"^   (\w+)$", own, flags=re.M)]
        linked += re.findall(r"^- :py:obj:`\w+ <([\w.]+)>`$", text, flags=re.M)
    assert len(documented) == len(set(documented))
    # every name of every public package's __all__, counted by object
    import pkgutil

    import sklearn_clmle

    packages = ["sklearn_clmle", "sklearn_clmle.exceptions"] + [
        info.name for info in pkgutil.walk_packages(
            sklearn_clmle.__path__, "sklearn_clmle.")
        if info.ispkg and "._" not in info.name]
    objects = {}
    for package in packages:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            if not name.startswith("__"):
                objects.setdefault(id(getattr(module, name)), set()).add(
                    f"{package}.{name}")
    pages = {}
    for full in documented:
        module, name = full.rsplit(".", 1)
        pages.setdefault(id(getattr(importlib.import_module(module), name)),
                         []).append(full)
    assert set(pages) == set(objects)
    assert all(len(v) == 1 for v in pages.values()), "an object on two pages"
    assert set(linked) <= set(documented)
    # the home of a re-exported name is its deepest listing package
    assert "sklearn_clmle.cluster.SphericalKMeans" in documented
    assert "sklearn_clmle.embedding.losses.ClusterLoss" in documented


def test_index_quickstart_is_the_readme_block_and_device_works():
    # the docs' first page runs what README runs (tests/test_readme.py checks
    # its printed values); its two ways of passing a device are real
    import textwrap

    index = (DOCS / "index.rst").read_text()
    block = re.search(r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", index,
                      flags=re.M).group(1)
    code = textwrap.dedent(block).strip()
    assert "CLMLEClassifier(random_state=0).fit(X_train, y_train)" in code
    assert code in (ROOT / "README.md").read_text()
    pytest.importorskip("torch")
    from sklearn_clmle import CLMLEClassifier, CLMLEEmbedder

    assert 'embedder=CLMLEEmbedder(device="cuda")' in index
    assert 'set_params(embedder__device="cuda")' in index
    clf = CLMLEClassifier(random_state=0).set_params(embedder__device="cpu")
    assert isinstance(clf.embedder, CLMLEEmbedder) and clf.embedder.device == "cpu"


def test_maths_render_offline():
    # MathJax is copied into the built site from a PyPI package, never a CDN
    conf = (DOCS / "conf.py").read_text()
    assert '"sphinx-mathjax-offline"' in conf
    assert "mathjax_path" not in conf.replace("sets mathjax_path", "")
    assert "sphinx-mathjax-offline" in (ROOT / "pyproject.toml").read_text()
    # sphinx-gallery's timing pages link a CDN stylesheet: not written
    assert '"write_computation_times": False' in conf
