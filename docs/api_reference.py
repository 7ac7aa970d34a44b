"""Write the API reference pages from the public modules' ``__all__``.

``sklearn_clmle``, its public top-level modules (``exceptions``) and every
public subpackage (no part of the dotted name starting with an underscore)
that defines ``__all__`` get a page listing its names.
Each object gets one page, at its home: the listing module whose name is the
longest prefix of the object's ``__module__`` (``sklearn_clmle.cluster`` for
``SphericalKMeans``); the other modules that re-export it link there.  So a
new public name is documented as soon as it is added to ``__all__``.
"""

import importlib
import inspect
import pkgutil
from pathlib import Path

import sklearn_clmle

PACKAGE = "sklearn_clmle"


def public_modules():
    """Dotted names of the public packages (and top-level modules) that
    define ``__all__``, sorted."""
    names = [PACKAGE]
    for info in pkgutil.walk_packages(sklearn_clmle.__path__, PACKAGE + "."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts):
            continue
        if info.ispkg or len(parts) == 2:
            names.append(info.name)
    return sorted(n for n in names
                  if hasattr(importlib.import_module(n), "__all__"))


def public_names(module_name):
    """``(name, object)`` of a module's ``__all__``, without ``__dunders__``."""
    module = importlib.import_module(module_name)
    return [(n, getattr(module, n)) for n in module.__all__
            if not (n.startswith("__") and n.endswith("__"))]


def homes():
    """``{id(object): module name}``: where each public object is documented."""
    listed = {}
    for module_name in public_modules():
        for _, obj in public_names(module_name):
            listed.setdefault(id(obj), []).append(module_name)
    home = {}
    for key, modules in listed.items():
        obj = next(o for m in modules for n, o in public_names(m) if id(o) == key)
        origin = getattr(obj, "__module__", "") or ""
        prefixes = [m for m in modules if origin == m or origin.startswith(m + ".")]
        home[key] = max(prefixes, key=len) if prefixes else modules[-1]
    return home


def aliases():
    """``{name: documented name}`` for every way of naming a public object:
    its home name, the dotted name of every module that lists it, and its
    bare name when no other public object has it.  ``conf.py`` resolves
    references through it (``See Also: SphericalKMeans``,
    ``:class:`sklearn_clmle.SphericalKMeans```)."""
    home = homes()
    out, bare = {}, {}
    for module_name in public_modules():
        for name, obj in public_names(module_name):
            target = f"{home[id(obj)]}.{name}"
            out[f"{module_name}.{name}"] = target
            origin = getattr(obj, "__module__", None)
            if origin:
                out[f"{origin}.{name}"] = target
            bare.setdefault(name, set()).add(target)
    out.update({n: t.pop() for n, t in bare.items() if len(t) == 1})
    return out


def _kind(obj):
    if inspect.isclass(obj):
        return "class"
    return "function"


def write_pages(out_dir):
    """Write ``index.rst`` and one ``<module>.rst`` a module into ``out_dir``;
    files are rewritten only when their text changes (no needless rebuilds)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    home = homes()
    modules = public_modules()
    pages = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        title = f":mod:`{module_name}`"
        lines = [title, "=" * len(title), "",
                 f".. automodule:: {module_name}", "   :no-members:",
                 "   :no-inherited-members:", "",
                 f".. currentmodule:: {module_name}", ""]
        own = {"class": [], "function": []}
        elsewhere = []
        for name, obj in public_names(module_name):
            if home[id(obj)] == module_name:
                own[_kind(obj)].append(name)
            else:
                elsewhere.append(f"{home[id(obj)]}.{name}")
        for kind, heading in (("class", "Classes"), ("function", "Functions")):
            if own[kind]:
                lines += [heading, "-" * len(heading), "",
                          ".. autosummary::", "   :nosignatures:",
                          "   :toctree: generated/",
                          f"   :template: {kind}.rst", ""]
                lines += [f"   {n}" for n in own[kind]] + [""]
        if elsewhere:
            heading = "Also importable from here"
            lines += [heading, "-" * len(heading), ""]
            lines += [f"- :py:obj:`{n.rsplit('.', 1)[1]} <{n}>`" for n in elsewhere]
            lines += [""]
        pages[f"{module_name}.rst"] = "\n".join(lines)
        del module
    index = ["API reference", "=============", "",
             "Every public name, one page each, generated from the ``__all__``",
             "of the public modules below.  The estimators are also importable",
             "from ``sklearn_clmle`` itself.", "",
             ".. toctree::", "   :maxdepth: 2", ""]
    index += [f"   {m}" for m in modules] + [""]
    pages["index.rst"] = "\n".join(index)
    for name, text in pages.items():
        path = out_dir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    for stale in out_dir.glob("sklearn_clmle*.rst"):
        if stale.name not in pages:
            stale.unlink()
