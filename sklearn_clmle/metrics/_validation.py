"""Input checks shared by the metrics (private)."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_array

from ..utils._validation import encode_labels, normalize_rows


def check_scores_and_labels(scores, is_same):
    """1d finite float scores and 1d boolean ``is_same`` of the same length."""
    scores = check_array(scores, ensure_2d=False, dtype=np.float64, input_name="scores")
    if scores.ndim != 1:
        raise ValueError(
            f"scores should be a 1d array of pair scores; got shape {scores.shape}."
        )
    is_same = np.asarray(is_same)
    if is_same.ndim != 1 or is_same.shape[0] != scores.shape[0]:
        raise ValueError(
            f"is_same should be a 1d array with one entry per score "
            f"({scores.shape[0]}); got shape {is_same.shape}."
        )
    if is_same.dtype != bool:
        try:
            values = np.unique(is_same)
            ok = values.dtype.kind in "biuf" or values.dtype.kind == "O"
            ok = ok and bool(np.all(np.isin(values, [0, 1])))
        except TypeError:  # None or pd.NA among booleans
            values, ok = np.array(sorted(set(map(repr, is_same)))), False
        if not ok:
            raise ValueError(
                "is_same should be boolean (or 0/1): True for a pair of the "
                f"same class; got values {values[:5].tolist()}."
            )
        is_same = is_same.astype(bool)
    return scores, is_same


def check_fars(far, name="far"):
    """False-accept rate(s) as a float array, each in ``(0, 1]``."""
    arr = np.asarray(far)
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        raise ValueError(
            f"{name}={far!r} should hold false-accept rates (numbers) in (0, 1]."
        )
    arr = arr.astype(np.float64)
    if not np.all((arr > 0) & (arr <= 1)):
        raise ValueError(f"{name}={far!r} should hold false-accept rates in (0, 1].")
    return arr


def check_int(value, name, low, high=None):
    ok = isinstance(value, Integral) and not isinstance(value, bool)
    ok = ok and value >= low and (high is None or value <= high)
    if not ok:
        upper = "" if high is None else f" and <= {high}"
        raise ValueError(f"{name}={value!r} should be an integer >= {low}{upper}.")
    return int(value)


def check_embeddings(emb, name):
    """2d finite float array with unit-norm rows (zero rows refused)."""
    emb = check_array(emb, dtype=[np.float64, np.float32], input_name=name)
    return normalize_rows(emb, name=name)


def check_labels(labels, n, name):
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(
            f"{name} should be a 1d array with one label per row ({n}); got "
            f"shape {labels.shape}."
        )
    encode_labels(labels, name)  # refuses missing and unsortable labels
    return labels
