"""Argument checks shared by the dataset makers (private)."""

from numbers import Integral

import numpy as np

__all__ = ["check_class_labels", "check_int", "check_same_length"]


def check_int(value, name, low):
    """``value`` as an int, or a ValueError naming ``name`` and the bound."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name}={value!r} should be an integer >= {low}.")
    return int(value)


def check_class_labels(labels, name):
    """``labels`` as a 1d array, or a ValueError naming ``name``."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"{name} should be a 1d array of class labels; got an array of "
            f"shape {labels.shape}."
        )
    return labels


def check_same_length(n_first, n_second, first, second):
    """A ValueError unless ``first`` and ``second`` have as many samples."""
    if n_first != n_second:
        raise ValueError(
            f"{first} and {second} should have the same number of samples; got "
            f"{n_first} and {n_second}."
        )
