"""Data loaders and long-tailed subsampling (numpy only, never downloads)."""

from ._fashion_mnist import load_fashion_mnist
from ._keel import load_keel
from ._long_tailed import long_tailed_sizes, make_long_tailed

__all__ = [
    "load_fashion_mnist",
    "load_keel",
    "long_tailed_sizes",
    "make_long_tailed",
]
