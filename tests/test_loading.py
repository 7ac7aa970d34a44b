"""Loading: every ``torch.load`` in the library passes
``weights_only=True`` -- a full unpickler runs arbitrary code from the file
-- or says on its line why not (a ``# weights_only=False:`` comment).

Fitted estimators are pickled whole, with the module on the CPU; the one
``torch.load`` (the torch estimators' fitted skorch callbacks, saved by
``torch.save`` inside the estimator's pickle so that they load on the CPU)
reads bytes of the pickle being loaded, and says so.
The warning on loading a pickle from another version of sklearn-clmle is
tested in ``tests/test_ecosystem.py`` (``InconsistentVersionWarning``).
"""

import ast
from pathlib import Path


import sklearn_clmle

LIBRARY = Path(sklearn_clmle.__file__).parent
UNSAFE_LOADERS = {("torch", "load"), ("pickle", "load"), ("pickle", "loads"),
                  ("joblib", "load"), ("dill", "load")}


def loader_calls(source):
    """(line, module, function, keywords) of every ``module.function(...)``
    call in ``source`` whose name is one of the unpickling loaders."""
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in UNSAFE_LOADERS):
            keywords = {k.arg: k.value for k in node.keywords}
            yield node.lineno, node.func.value.id, node.func.attr, keywords


def offending(source):
    lines = source.splitlines()
    bad = []
    for lineno, module, func, keywords in loader_calls(source):
        justified = "weights_only=False:" in lines[lineno - 1]
        if module == "torch":
            value = keywords.get("weights_only")
            safe = isinstance(value, ast.Constant) and value.value is True
        else:
            safe = False
        if not (safe or justified):
            bad.append(f"line {lineno}: {module}.{func}")
    return bad


def test_no_unsafe_loading_in_the_library():
    files = sorted(LIBRARY.rglob("*.py"))
    assert len(files) > 20
    bad = {str(p.relative_to(LIBRARY)): offending(p.read_text(encoding="utf-8"))
           for p in files}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_check_sees_unsafe_calls():
    assert offending("import torch\nm = torch.load(f)\n") == ["line 2: torch.load"]
    assert offending("torch.load(f, weights_only=False)\n") == ["line 1: torch.load"]
    assert offending("torch.load(f, weights_only=True)\n") == []
    assert offending("torch.load(f, weights_only=False)  # weights_only=False: "
                     "our own optimizer state\n") == []
    assert offending("import pickle\npickle.loads(b)\n") == ["line 2: pickle.loads"]
