"""Data loaders and long-tailed subsampling."""

__all__ = []
