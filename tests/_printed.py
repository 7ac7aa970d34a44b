"""Run a documented code block and compare what it prints with its comments.

In README's and the user guide's Python blocks a line that calls ``print`` ends
with a comment giving what it prints: ``print(round(score, 2))  # 0.93``.
``run_block`` executes the block with a ``print`` that records, per source
line, what was printed, and checks each printing line's output against its
comment with doctest's rules (``...`` matches anything, runs of whitespace
are equal), so the documented values cannot drift from the code's.

A value that comes from training is written with its tolerance,
``# 0.94 ± 0.03``, and compared as a number within it: float sums in another
order (another thread count, or torch's and the BLAS's vector kernels on
another CPU: AVX-512, AVX2 or none) move a trained model's score and a
budget read from a curve, so such values hold on any x86-64 CPU only within
a band.  Deterministic values (shapes, counts, cluster sizes) are written
plainly and compared exactly.

Blocks run with torch on one thread, as the benchmarks and ``make demo`` run
it and as the documents say.
"""

import doctest
import io
import re
import sys
import textwrap

_CHECKER = doctest.OutputChecker()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_PRINT_LINE = re.compile(r"^\s*print\(.*\)\s*#\s?(?P<expected>.*)$")
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_TOLERANCE = re.compile(rf"^(?P<value>{_NUMBER})\s*±\s*(?P<tolerance>{_NUMBER})$")


def matches(want, got):
    """Whether printed text ``got`` matches the comment ``want``: a number
    within the tolerance of ``value ± tolerance``, else doctest's rules."""
    band = _TOLERANCE.match(want)
    if band is None:
        return _CHECKER.check_output(want + "\n", got, _FLAGS)
    try:
        value = float(got)
    except ValueError:
        return False
    return abs(value - float(band["value"])) <= float(band["tolerance"]) + 1e-12


def expected_prints(code):
    """``{line number: expected text}`` of the lines that call ``print``;
    a ``print`` line without a comment is an error (its value would go
    unchecked)."""
    expected = {}
    for number, line in enumerate(code.splitlines(), start=1):
        if not re.match(r"^\s*print\(", line):
            continue
        match = _PRINT_LINE.match(line)
        if match is None:
            raise AssertionError(
                f"line {number} prints without a '# value' comment: {line.strip()!r}")
        expected[number] = match["expected"].strip()
    return expected


def run_block(code, name):
    """Execute ``code`` (dedented) and compare every printing line's output
    with its comment; returns ``{line number: printed text}``."""
    code = textwrap.dedent(code)
    expected = expected_prints(code)
    printed = {}

    def recording_print(*args, **kwargs):
        frame = sys._getframe(1)
        if frame.f_code.co_filename != name:
            return print(*args, **kwargs)
        buffer = io.StringIO()
        print(*args, **{**kwargs, "file": buffer})
        printed[frame.f_lineno] = printed.get(frame.f_lineno, "") + buffer.getvalue()
        return None

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exec(compile(code, name, "exec"), {"print": recording_print})
    finally:
        torch.set_num_threads(threads)
    assert set(printed) == set(expected), (
        f"{name}: printing lines {sorted(expected)} but lines "
        f"{sorted(printed)} printed (each must print exactly once)")
    for number, want in expected.items():
        got = printed[number]
        assert matches(want, got), (
            f"{name}, line {number}: prints {got.strip()!r}, "
            f"its comment says {want!r}")
    return printed
