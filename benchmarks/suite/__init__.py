"""The long-tail benchmark suite behind ``python -m benchmarks.run``.

``datasets`` builds the train / test splits, ``methods`` the estimators (one
factory per method, all on the same backbone and budget), ``report`` the
metrics, tables and plots.
"""
