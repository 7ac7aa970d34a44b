"""README's Python code blocks are executed, so the quickstart cannot rot."""

import re
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index):
    # a block inside a list item is indented as the item is
    code = textwrap.dedent(BLOCKS[index])
    exec(compile(code, f"README.md[python block {index}]", "exec"), {})


ROOT = README.parent
# repository paths README names, in prose or in commands: files, folders
# and globs (a trailing full stop is punctuation, not part of the name)
PATHS = sorted({m.rstrip(".") for m in re.findall(
    r"(?<![\w/.-])((?:benchmarks|examples|sklearn_clmle|tests)/[\w./*<>-]*)",
    README.read_text())})


def test_readme_names_repository_paths():
    assert any(p.startswith("benchmarks/results/") for p in PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_readme_paths_exist(path):
    """Every repository path README names exists (a glob matches something;
    ``<data>``-style placeholders are globs too), so moved files cannot leave
    README pointing at nothing."""
    pattern = re.sub(r"<[^>]+>", "*", path)
    assert list(ROOT.glob(pattern)), f"README names {path!r}, which does not exist"
