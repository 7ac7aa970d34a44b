"""pytest configuration at the repository root.

Its presence puts the root on ``sys.path`` (pytest's default ``prepend``
import mode), so tests can import the ``benchmarks`` package.
"""
