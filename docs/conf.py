"""Sphinx configuration of sklearn-clmle's documentation (``make docs``).

The API reference is generated from each public module's ``__all__``
(``api_reference.py``, run below), so a new public name needs no line here.
The gallery runs ``examples/plot_*.py``; ``-D plot_gallery=0`` (``make
docs-quick``, CI) builds it without running them.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import api_reference  # noqa: E402

import sklearn_clmle  # noqa: E402

project = "sklearn-clmle"
author = "The sklearn-clmle developers"
copyright = "2026, " + author
release = sklearn_clmle.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # a copy of MathJax 3 in _static/mathjax (from PyPI), no CDN: the maths
    # renders offline (it sets mathjax_path to mathjax/tex-chtml.js)
    "sphinx-mathjax-offline",
    "sphinx.ext.doctest",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_templates"]
templates_path = ["_templates"]

# -- API reference -----------------------------------------------------------
api_reference.write_pages(HERE / "api")
autosummary_generate = True
autosummary_imported_members = True
# methods are documented on the class's page (see _templates/autosummary)
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Cross-references that cannot resolve offline (no intersphinx here) are
# other projects' names; ours must all resolve (nitpicky, ``-n``).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|sklearn|torch|skorch|joblib|pandas|"
               r"imblearn|faiss|distributed|dask|threadpoolctl|os|pathlib)(\..*)?"),
]
# torch's own docstring of ``forward``, which our modules inherit, names it
nitpick_ignore = [("py:class", "Module")]
# methods that scikit-learn's metadata routing adds to every estimator
_ROUTING = ("set_fit_request", "set_score_request", "set_predict_request",
            "set_transform_request", "set_partial_fit_request")


def _skip_member(app, what, name, obj, skip, options):
    return True if name in _ROUTING else None


_ALIASES = api_reference.aliases()


def _resolve_alias(app, env, node, contnode):
    """A reference to a public object by another of its names (the
    top-level re-export, a bare name in See Also) goes to its page."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    module = node.get("py:module") or ""
    for candidate in (target, f"{module}.{target}"):
        if candidate in _ALIASES and _ALIASES[candidate] != target:
            return env.domains["py"].resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"],
                _ALIASES[candidate], node, contnode)
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("missing-reference", _resolve_alias)

# -- MyST: benchmarks/results/*.md are included as they are committed --------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # runnable on a CPU in minutes; the others (dask cluster, torchrun) are
    # shown, not run
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_clmle",),
    "backreferences_dir": "gen_modules/backreferences",
    "abort_on_example_error": True,
    "run_stale_examples": False,
    "matplotlib_animations": False,
    # no sg_execution_times pages: they link a stylesheet from a CDN, and the
    # site is built and read offline
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-clmle {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False

# torch on one thread while the gallery runs, as the benchmarks do
os.environ.setdefault("OMP_NUM_THREADS", "1")
