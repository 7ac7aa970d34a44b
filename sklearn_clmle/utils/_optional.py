"""Lazy imports of the optional engines (private)."""


def import_faiss():
    """The ``faiss`` module, or an ``ImportError`` naming the extra to install.

    faiss is imported only when an estimator is asked for it
    (``algorithm="faiss"``), so that the library imports without it.
    """
    try:
        import faiss
    except ImportError as exc:
        raise ImportError(
            "algorithm='faiss' needs the optional faiss package: "
            "pip install sklearn-clmle[faiss] (which installs faiss-cpu; "
            "or pip install faiss-cpu directly, or faiss-gpu for GPUs)."
        ) from exc
    return faiss
