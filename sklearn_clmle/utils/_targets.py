"""Targets of the classifiers and embedders (private): class labels, or a
binary indicator matrix for multi-label data, checked and encoded once for
all (labels by ``encode_labels``)."""

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ._validation import encode_labels


@dataclass
class EncodedTargets:
    """What ``fit`` learns from ``y``.

    ``classes``: the labels (``np.arange(n_labels)`` for multi-label ``y``);
    ``encoded``: int64 class indices of shape ``(n,)``, or a float32 0/1
    matrix of shape ``(n, n_labels)``; ``counts``: samples per class, or of
    shape ``(2, n_labels)`` the negatives and positives of each label;
    ``dtype``: the dtype of multi-label ``y``, that of ``predict``'s output.
    """

    classes: np.ndarray
    encoded: np.ndarray
    counts: np.ndarray
    multilabel: bool
    dtype: np.dtype


def encode_targets(y, estimator_name, *, warn_column=True, multilabel=True,
                   min_classes=2):
    """Encode validated ``y`` (1-D labels or a 2-D binary indicator matrix).

    A sparse indicator matrix is made dense; a column vector is raveled, with
    a ``DataConversionWarning`` if ``warn_column`` (as scikit-learn's
    classifiers do; the transformers ravel it silently).  Refuses fewer
    than ``min_classes`` classes, multi-class multi-output targets and
    labels that are constant (all 0 or all 1); ``multilabel``, if a string,
    refuses any 2-D ``y`` with that explanation.  Class labels are sorted
    and encoded by ``encode_labels``.
    """
    y = y.toarray() if sparse.issparse(y) else np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=warn_column)
    if y.ndim == 2 and isinstance(multilabel, str):
        kind = type_of_target(y, input_name="y")
        raise ValueError(
            f"y has shape {y.shape} and type {kind!r}; {estimator_name} "
            f"expects a 1-D class vector ({multilabel})."
        )
    check_classification_targets(y)
    if y.ndim == 2:
        return _encode_multilabel(y)
    classes, encoded, counts = encode_labels(y, "y")
    if len(classes) < min_classes:
        raise ValueError(
            f"y has only one class ({classes.tolist()[0]!r}); "
            f"{estimator_name} needs at least two classes."
        )
    return EncodedTargets(classes, encoded.astype(np.int64), counts, False, y.dtype)


def _encode_multilabel(y):
    kind = type_of_target(y, input_name="y")
    if kind != "multilabel-indicator":
        raise ValueError(
            f"y has shape {y.shape} and target type {kind!r}; expected a 1-D "
            "vector of class labels or a binary indicator matrix (multi-label, "
            "values 0 and 1)."
        )
    positive = y != 0
    n_pos = positive.sum(axis=0)
    constant = np.flatnonzero((n_pos == 0) | (n_pos == y.shape[0]))
    if constant.size:
        raise ValueError(
            f"Multi-label y: label(s) {constant[:10].tolist()} are all 0 or all 1 "
            "in training; every label needs both positive and negative samples."
        )
    counts = np.stack([y.shape[0] - n_pos, n_pos]).astype(np.int64)
    classes = np.arange(y.shape[1])
    return EncodedTargets(classes, positive.astype(np.float32), counts, True, y.dtype)


def encode_class_columns(y, estimator_name, *, multilabel=True):
    """The embedders' targets: ``(Y, classes, multilabel)``, ``Y`` of shape
    ``(n_samples, n_labels)`` int64 class indices (0/1 per label for
    multi-label ``y``, one column for class labels), ``classes`` their
    ``classes_`` (``[0, 1]`` for every label of multi-label ``y``).
    ``multilabel``: as in ``encode_targets``."""
    targets = encode_targets(y, estimator_name, warn_column=False,
                             multilabel=multilabel)
    if targets.multilabel:
        return (targets.encoded.astype(np.int64),
                [np.array([0, 1]) for _ in targets.classes], True)
    return targets.encoded[:, None], targets.classes, False
