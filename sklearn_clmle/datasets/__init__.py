"""Data loaders, long-tailed subsampling and imbalanced multi-label mosaics
(numpy only, never downloads; glyph rendering imports Pillow lazily)."""

from ._fashion_mnist import load_fashion_mnist
from ._font_glyphs import load_font_glyphs
from ._keel import load_keel
from ._long_tailed import long_tailed_sizes, make_long_tailed
from ._mosaics import make_mosaics

__all__ = [
    "load_fashion_mnist",
    "load_font_glyphs",
    "load_keel",
    "long_tailed_sizes",
    "make_long_tailed",
    "make_mosaics",
]
