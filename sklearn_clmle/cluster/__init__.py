"""Clustering on the unit hypersphere (numpy/scipy only)."""

from ._spherical_kmeans import SphericalKMeans

__all__ = ["SphericalKMeans"]
