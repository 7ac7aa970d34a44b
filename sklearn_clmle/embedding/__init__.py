"""Deep embeddings trained with the CLMLE loss (the only torch subpackage)."""

__all__ = []
