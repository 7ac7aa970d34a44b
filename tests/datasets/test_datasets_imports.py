"""sklearn_clmle.datasets is numpy only: importing it must not import torch."""

import subprocess
import sys

import sklearn_clmle.datasets as module


def test_import_does_not_import_torch():
    code = (
        "import sklearn_clmle.datasets\n"
        "import sys\n"
        "bad = sorted(m for m in ('torch', 'skorch') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_are_exported_and_documented():
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        obj = getattr(module, name)
        assert obj.__module__.startswith("sklearn_clmle.datasets._")
        assert "Examples" in obj.__doc__, name
