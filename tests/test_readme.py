"""README's Python code blocks are executed, and what they print is compared
with their ``# value`` comments, so the quickstart cannot rot."""

import re
from pathlib import Path

import pytest

from tests._printed import expected_prints, run_block

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEXT = README.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)


def test_readme_has_python_examples():
    assert BLOCKS
    # the quickstart's values are checked, not only its running
    assert sum(len(expected_prints(b)) for b in BLOCKS) >= 5


def test_readme_is_short():
    assert len(TEXT.splitlines()) <= 200


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_prints_its_comments(index):
    run_block(BLOCKS[index], f"README.md[python block {index}]")


def test_printed_values_are_compared():
    """The checker fails on a wrong comment and on a print without one."""
    run_block("x = 2\nprint(x + 1)  # 3\nprint([1, 2, 3])  # [1, ... 3]\n", "ok")
    with pytest.raises(AssertionError, match="prints '4', its comment says '5'"):
        run_block("print(2 + 2)  # 5\n", "wrong")
    with pytest.raises(AssertionError, match="without a '# value' comment"):
        run_block("print(2 + 2)\n", "bare")


def test_values_with_a_tolerance_are_compared_as_numbers():
    """``# 0.94 ± 0.03`` accepts 0.91 to 0.97 and nothing else; a plain
    comment still compares exactly."""
    run_block("print(0.91)  # 0.94 ± 0.03\nprint(0.97)  # 0.94 ± 0.03\n"
              "print(12)  # 15 ± 3\n", "in band")
    for got in ("0.90", "0.98", "'high'"):
        with pytest.raises(AssertionError, match="its comment says '0.94 ± 0.03'"):
            run_block(f"print({got})  # 0.94 ± 0.03\n", "out of band")
    with pytest.raises(AssertionError, match="prints '0.95', its comment says '0.94'"):
        run_block("print(0.95)  # 0.94\n", "exact")


def test_readme_results_rows_are_the_committed_ones():
    """The headline table's header and rows are lines of the suite's
    committed summary, never typed by hand."""
    summary = (ROOT / "benchmarks/results/suite/suite_summary.md").read_text()
    section = TEXT.split("## Results", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) >= 4
    for row in rows:
        assert row in summary.splitlines(), f"README row not in suite_summary.md: {row}"


# repository paths README names, in prose or in commands: files, folders
# and globs (a trailing full stop is punctuation, not part of the name)
PATHS = sorted({m.rstrip(".") for m in re.findall(
    r"(?<![\w/.-])((?:benchmarks|docs|examples|sklearn_clmle|tests)/[\w./*<>-]*)",
    TEXT)} - {"docs/_build/html", "docs/_build/html/index.html"})  # make docs writes them


def test_readme_names_repository_paths():
    assert any(p.startswith("benchmarks/results/") for p in PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_readme_paths_exist(path):
    """Every repository path README names exists (a glob matches something;
    ``<data>``-style placeholders are globs too), so moved files cannot leave
    README pointing at nothing."""
    pattern = re.sub(r"<[^>]+>", "*", path)
    assert list(ROOT.glob(pattern)), f"README names {path!r}, which does not exist"
