"""Nearest-cluster classification (numpy/scipy only)."""

__all__ = []
