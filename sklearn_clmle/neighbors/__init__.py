"""Nearest-cluster classification (numpy/scipy only)."""

from ._nearest_cluster import KNearestClusterClassifier

__all__ = ["KNearestClusterClassifier"]
