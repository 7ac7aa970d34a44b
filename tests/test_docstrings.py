"""Docstring hygiene of every public name, as ``help()`` shows it."""

import importlib
import inspect
import pkgutil
import re

import pytest

import sklearn_clmle


def _public_objects():
    packages = ["sklearn_clmle", "sklearn_clmle.exceptions"] + [
        info.name for info in pkgutil.walk_packages(
            sklearn_clmle.__path__, "sklearn_clmle.")
        if info.ispkg and "._" not in info.name]
    seen = {}
    for package in packages:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not name.startswith("__") and id(obj) not in seen:
                seen[id(obj)] = (f"{package}.{name}", obj)
    return sorted(seen.values(), key=lambda item: item[0])


def _own_docs(qualname, obj):
    """``(name, docstring)`` of ``obj`` and, for a class, of its public
    methods and properties written in this library (not torch's or
    scikit-learn's)."""
    yield qualname, inspect.getdoc(obj) or ""
    if not inspect.isclass(obj):
        return
    for cls in obj.__mro__:
        if not cls.__module__.startswith("sklearn_clmle"):
            continue
        for name, member in vars(cls).items():
            if name.startswith("_") or not (callable(member)
                                            or isinstance(member, property)):
                continue
            yield f"{qualname}.{name}", inspect.getdoc(getattr(obj, name)) or ""


DOCS = [doc for qualname, obj in _public_objects() for doc in _own_docs(qualname, obj)]

# A backslash at the end of a docstring line joins it with the next one,
# whose indentation then shows as a run of spaces inside the line
# ("array-like of             shape").  Aligned columns in examples are fine.
CONTINUATION = re.compile(r"\S {6,}\S")


def test_some_docstrings_are_checked():
    assert len(DOCS) > 100


@pytest.mark.parametrize("qualname, doc", DOCS, ids=[q for q, _ in DOCS])
def test_no_line_continuation_spaces(qualname, doc):
    for line in doc.splitlines():
        if line.lstrip().startswith((">>>", "...")):
            continue
        assert not CONTINUATION.search(line), f"{qualname}: {line.strip()!r}"


@pytest.mark.parametrize("qualname, doc", DOCS, ids=[q for q, _ in DOCS])
def test_no_unfilled_fragment(qualname, doc):
    assert "{{" not in doc, f"{qualname} has an unfilled {{{{fragment}}}}"


def test_continuation_is_detected():
    def documented():
        """Bad.

        Parameters
        ----------
        x : array-like of \
                shape (n,)
        """

    assert CONTINUATION.search(inspect.getdoc(documented))


def _fragments():
    from sklearn_clmle.embedding._docs import FRAGMENTS
    from sklearn_clmle.utils._docs import COMMON

    return [*COMMON.items(), *FRAGMENTS.items()]


@pytest.mark.parametrize("key, text", _fragments(), ids=[k for k, _ in _fragments()])
def test_fragment_names_say_what_they_hold(key, text):
    """The convention of ``utils/_docs.py`` that keeps placeholders readable:
    one entry named as its key (or key = name + "_" + qualifier), a section
    named after its heading, prose ending in ``_notes`` / starting ``ref_``."""
    import textwrap

    text = textwrap.dedent(text).strip("\n")
    entries = re.findall(r"^(\S[^\n]*?) : ", text, flags=re.M)
    headings = re.findall(r"^(\w+)\n-{3,}$", text, flags=re.M)
    if headings:
        assert len(headings) == 1
        assert key.startswith({"Parameters": "params_", "Returns": "returns_",
                               "References": "references_"}[headings[0]])
    elif key.endswith("_notes") or key.startswith("ref_"):
        assert entries == []
    else:
        assert len(entries) == 1, f"{key} holds {entries}: one entry a fragment"
        assert key == entries[0] or key.startswith(entries[0] + "_"), (
            f"fragment {key!r} documents {entries[0]!r}")
