"""Closed-set identification against a gallery with distractors: CMC, rank-k."""

import numpy as np

from ._validation import check_embeddings, check_int, check_labels

# Similarities are computed for blocks of probes of about this many entries.
_BLOCK_ENTRIES = 2**22


def _first_match_ranks(probe, probe_codes, gallery, gallery_codes):
    """Rank (1-based) of each probe's first correct gallery match."""
    ranks = np.empty(probe.shape[0], dtype=np.int64)
    block = max(1, _BLOCK_ENTRIES // max(1, gallery.shape[0]))
    for start in range(0, probe.shape[0], block):
        stop = min(start + block, probe.shape[0])
        sims = probe[start:stop] @ gallery.T
        genuine = gallery_codes[None, :] == probe_codes[start:stop, None]
        best = np.where(genuine, sims, -np.inf).max(axis=1)
        beaten = (sims >= best[:, None]) & ~genuine
        ranks[start:stop] = 1 + beaten.sum(axis=1)
    return ranks


def _ranks(probe_emb, probe_labels, gallery_emb, gallery_labels):
    """Validated inputs -> rank of each probe's first correct match, n_gallery."""
    probe = check_embeddings(probe_emb, "probe_emb")
    gallery = check_embeddings(gallery_emb, "gallery_emb")
    if probe.shape[1] != gallery.shape[1]:
        raise ValueError(
            f"probe_emb and gallery_emb should have the same number of "
            f"features; got {probe.shape[1]} and {gallery.shape[1]}."
        )
    probe_labels = check_labels(probe_labels, probe.shape[0], "probe_labels")
    gallery_labels = check_labels(gallery_labels, gallery.shape[0], "gallery_labels")
    kinds = {probe_labels.dtype.kind in "US", gallery_labels.dtype.kind in "US"}
    if len(kinds) == 2 and "O" not in (probe_labels.dtype.kind,
                                       gallery_labels.dtype.kind):
        # numpy would turn the numbers into strings: 1 would match "1"
        raise TypeError(
            f"probe_labels ({probe_labels.dtype}) and gallery_labels "
            f"({gallery_labels.dtype}) should hold labels of one kind: both "
            "strings or both numbers."
        )
    labels, codes = np.unique(
        np.concatenate([probe_labels, gallery_labels]), return_inverse=True
    )
    codes = codes.ravel()
    probe_codes, gallery_codes = codes[: probe.shape[0]], codes[probe.shape[0] :]
    orphans = np.setdiff1d(probe_codes, gallery_codes)
    if orphans.size:
        shown = labels[orphans[:5]].tolist()
        raise ValueError(
            f"{orphans.size} probe label(s) have no item in the gallery, e.g. "
            f"{shown}; every probe identity needs at least one gallery item."
        )
    dtype = np.result_type(probe.dtype, gallery.dtype)
    return _first_match_ranks(
        probe.astype(dtype, copy=False),
        probe_codes,
        gallery.astype(dtype, copy=False),
        gallery_codes,
    ), gallery.shape[0]


def cmc_curve(probe_emb, probe_labels, gallery_emb, gallery_labels, *, max_rank=None):
    """Cumulative match characteristic of probes searched in a gallery.

    Each probe is compared with every gallery item by cosine similarity and
    the gallery is sorted by decreasing similarity.  The rank of a probe is
    the position of the first gallery item with the probe's label; the CMC
    at rank ``k`` is the fraction of probes whose rank is at most ``k``.
    Gallery items whose label matches no probe are *distractors*: they never
    count as a match, only push the true matches down (as in MegaFace).

    Parameters
    ----------
    probe_emb : array-like of shape (n_probes, n_features)
        Embeddings of the probes (queries).  Rows need not have unit norm.

    probe_labels : array-like of shape (n_probes,)
        Identity of each probe; every one must appear in ``gallery_labels``.

    gallery_emb : array-like of shape (n_gallery, n_features)
        Embeddings of the gallery, including any distractors.  The probes
        themselves should not be in the gallery.

    gallery_labels : array-like of shape (n_gallery,)
        Identity of each gallery item.

    max_rank : int, default=None
        Length of the curve; ``None`` means ``n_gallery``.

    Returns
    -------
    cmc : ndarray of shape (max_rank,)
        ``cmc[k - 1]`` is the rank-``k`` identification accuracy;
        non-decreasing.

    Raises
    ------
    ValueError
        If a probe's label has no item in the gallery, or on inconsistent
        shapes.

    See Also
    --------
    rank_k_accuracy : A single point of the curve.

    Notes
    -----
    Ties are counted against the probe: a gallery item of another identity
    whose similarity *equals* that of the best correct match is ranked before
    it.  Degenerate embeddings (all equal) thus score the worst rank, not the
    best.  Several gallery items of the probe's identity are allowed; the
    most similar one counts.

    Examples
    --------
    >>> from sklearn_clmle.metrics import cmc_curve
    >>> gallery = [[1, 0], [0, 1], [-1, 0]]
    >>> probes = [[1, 0.1], [0.1, 1], [-1, 0.9]]
    >>> cmc_curve(probes, [0, 1, 0], gallery, [0, 1, 2]).tolist()
    [0.666..., 0.666..., 1.0]
    """
    if max_rank is not None:
        max_rank = check_int(max_rank, "max_rank", 1)
    ranks, n_gallery = _ranks(probe_emb, probe_labels, gallery_emb, gallery_labels)
    max_rank = n_gallery if max_rank is None else max_rank
    # ranks are at most n_gallery: the curve is 1 beyond it (only the part up
    # to n_gallery is counted, so a huge max_rank costs no histogram)
    top = min(max_rank, n_gallery)
    hist = np.bincount(np.minimum(ranks, top + 1), minlength=top + 2)
    cmc = np.cumsum(hist[1 : top + 1]) / ranks.size
    if max_rank > top:
        cmc = np.concatenate([cmc, np.ones(max_rank - top)])
    return cmc


def rank_k_accuracy(probe_emb, probe_labels, gallery_emb, gallery_labels, *, k=1):
    """Rank-``k`` identification accuracy of probes against a gallery.

    The fraction of probes for which an item of their identity is among the
    ``k`` gallery items most similar to them (cosine similarity; ties
    counted against the probe).  See :func:`cmc_curve`.

    Parameters
    ----------
    probe_emb : array-like of shape (n_probes, n_features)
        Embeddings of the probes.

    probe_labels : array-like of shape (n_probes,)
        Identity of each probe.

    gallery_emb : array-like of shape (n_gallery, n_features)
        Embeddings of the gallery, including any distractors.

    gallery_labels : array-like of shape (n_gallery,)
        Identity of each gallery item.

    k : int, default=1
        The rank, ``k >= 1``; rank-1 is the usual identification accuracy.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> from sklearn_clmle.metrics import rank_k_accuracy
    >>> gallery = [[1, 0], [0, 1], [-1, 0]]
    >>> probes = [[1, 0.1], [0.1, 1], [-1, 0.9]]
    >>> rank_k_accuracy(probes, [0, 1, 0], gallery, [0, 1, 2], k=3)
    1.0
    """
    k = check_int(k, "k", 1)
    ranks, _ = _ranks(probe_emb, probe_labels, gallery_emb, gallery_labels)
    return float(np.mean(ranks <= k))
