"""The paper's two face tasks on real images that exist offline, split like
``benchmarks/suite/``: ``datasets`` (open-set split, mosaics), ``methods``
(configurations, one factory per method on the same backbone and budget),
``report`` (verification, identification and attribute scores, tables,
plots).  ``benchmarks/bench_face_tasks.py`` runs them."""
