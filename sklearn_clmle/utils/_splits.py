"""Stratified splits of encoded labels (private): the folds and the
hold-outs on which ``KNearestClusterClassifier``'s ``"auto"`` settings and
``CLMLEClassifier``'s candidates are judged.  A class of one row is never
held out (it stays in every training part), so every part trains on every
class."""

import numpy as np


def stratified_folds(y_idx, n_folds, rng):
    """``n_folds`` stratified ``(train, held)`` index pairs: the rows of
    every class with at least two are dealt to the folds in turn after a
    shuffle (so each such class keeps a training row in every part), each
    class starting where the previous one stopped (so that small classes do
    not all land in the first fold); a class of one row stays in every
    training part.  Folds that hold out nothing are dropped."""
    fold = np.full(y_idx.shape[0], -1)
    counts = np.bincount(y_idx)
    start = 0
    for c in np.flatnonzero(counts >= 2):
        idx = rng.permutation(np.flatnonzero(y_idx == c))
        fold[idx] = (np.arange(idx.shape[0]) + start) % n_folds
        start += idx.shape[0]
    splits = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f))
              for f in range(n_folds)]
    return [(tr, he) for tr, he in splits if he.size]


def stratified_holdout(y_idx, share, rng, max_rows):
    """One stratified ``(train, held)`` pair, or ``None`` when no class has
    two rows: ``round(share * n_c)`` rows of every class with two or more
    (at least one), the share lowered so that at most ``max_rows`` are held
    out."""
    counts = np.bincount(y_idx)
    n = y_idx.shape[0]
    share = min(share, max_rows / n)
    train, held = [], []
    for c in np.flatnonzero(counts):
        idx = rng.permutation(np.flatnonzero(y_idx == c))
        k = 0 if counts[c] < 2 else max(1, int(round(share * counts[c])))
        held.append(idx[:k])
        train.append(idx[k:])
    held = np.concatenate(held)
    if held.size == 0:
        return None
    return np.sort(np.concatenate(train)), np.sort(held)
