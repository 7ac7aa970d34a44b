"""Metrics for open-set verification and identification."""

__all__ = []
