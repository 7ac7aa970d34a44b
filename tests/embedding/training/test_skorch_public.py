"""The library uses skorch through its public API only: no private skorch
attribute (``net._set_training``, ``cb._get_scheduler``, ...) is read or
called anywhere in ``sklearn_clmle``, so that a skorch upgrade cannot break
it silently."""

import inspect
import re
from pathlib import Path

import pytest

skorch = pytest.importorskip("skorch")

import sklearn_clmle  # noqa: E402

LIBRARY = Path(sklearn_clmle.__file__).parent


def skorch_private_names():
    """Private attributes (``_name``, not dunder) of skorch's net and
    callback classes, plus ``policy_`` (LRScheduler's internal); names that
    torch's ``nn.Module`` has too (``_modules``, which the data-parallel
    code reads on torch modules) or scikit-learn's ``BaseEstimator``
    (``_validate_params``, which the library's estimators call on
    themselves) cannot be told apart here and are left out."""
    import skorch.callbacks
    import torch
    from sklearn.base import BaseEstimator

    classes = [skorch.NeuralNet] + [
        c for c in vars(skorch.callbacks).values()
        if inspect.isclass(c) and issubclass(c, skorch.callbacks.Callback)]
    names = {n for c in classes for n in dir(c)
             if n.startswith("_") and not n.startswith("__")}
    shared = set(dir(torch.nn.Module())) | set(dir(BaseEstimator))
    return (names - shared) | {"policy_"}


def test_no_private_skorch_attribute_in_the_library():
    names = skorch_private_names()
    assert {"_set_training", "_zero_grad_optimizer", "_get_scheduler"} <= names
    used = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        found = set(re.findall(r"\.(_?\w+)\b", path.read_text(encoding="utf-8")))
        hits = sorted(found & names)
        if hits:
            used[str(path.relative_to(LIBRARY))] = hits
    assert used == {}


def test_the_check_sees_private_uses():
    names = skorch_private_names()
    found = set(re.findall(r"\.(_?\w+)\b", "net._set_training(True)\ncb.policy_"))
    assert found & names == {"_set_training", "policy_"}


def test_at_most_three_neural_net_methods_overridden():
    """skorch does the work through its parameters and callbacks: the
    library's net overrides at most 3 of ``NeuralNet``'s methods, all among
    skorch's documented extension points."""
    from sklearn_clmle.embedding.training import skorch_net

    overridden = set()
    for cls in vars(skorch_net).values():
        if not (inspect.isclass(cls) and issubclass(cls, skorch.NeuralNet)):
            continue
        for base in cls.__mro__:
            if base.__module__ != skorch_net.__name__:
                continue
            overridden |= {(base.__name__, name) for name in vars(base)
                           if not name.startswith("__")
                           and callable(getattr(skorch.NeuralNet, name, None))}
    assert len(overridden) <= 3, sorted(overridden)
    assert {name for _, name in overridden} <= {
        "get_loss", "train_step_single", "get_iterator", "infer", "get_dataset"}
