"""The k-nearest-cluster rule and the head at prediction time
(private): ``KNearestClusterClassifier``'s scoring of validated queries, by
blocks of rows, each block normalised on its own so that no normalised copy
of the whole query matrix is made."""

import numpy as np
from scipy import sparse

from ..utils._parallel import effective_n_threads, for_blocks
from ..utils._validation import normalize_rows, row_norms_checked
from . import _head, _scoring

# Query rows x centroids below which the rule runs in the calling thread.
_PARALLEL_MIN_WORK = 2**24


class NearestClusterRuleMixin:
    """Scoring of a fitted ``KNearestClusterClassifier`` (single-label):
    reads ``classes_``, ``class_prior_``, ``cluster_centers_``,
    ``_cluster_class_idx``, ``_index``, the resolved ``scale_``,
    ``prior_correction_``, ``aggregate_``, ``head_`` and ``head_estimator_``,
    and ``n_neighbors``."""

    @staticmethod
    def _unit_rows(X):
        """Validated ``X`` made ready for ``_row_block``: all-zero rows are
        refused here, by their row numbers; a sparse ``X`` is normalised,
        dense rows are scaled to unit norm block by block (``_row_block``),
        so that no normalised copy of the whole ``X`` is made."""
        if sparse.issparse(X):
            return normalize_rows(X, name="X")
        row_norms_checked(X, name="X")
        return X

    @staticmethod
    def _row_block(X, start, stop):
        """Unit-norm rows ``start:stop`` of ``X`` prepared by ``_unit_rows``."""
        if sparse.issparse(X):
            return X[start:stop]
        return normalize_rows(X[start:stop], name="X")

    def _rule(self, X, dense):
        """Run the rule over blocks of ``X`` prepared by ``_unit_rows``
        (single-label).

        Returns the predicted class indices, or with ``dense=True`` the
        ``(n_samples, n_classes)`` scores and the floor of absent classes.
        """
        is_sparse = sparse.issparse(X)
        n, n_classes = X.shape[0], len(self.classes_)
        n_nb = min(self.n_neighbors, self.cluster_centers_.shape[0])
        offset = -self.prior_correction_ * np.log(self.class_prior_)
        floor = _scoring.floor_score(self.scale_, n_nb)
        out = np.empty((n, n_classes)) if dense else np.empty(n, dtype=np.intp)

        # sparse rows times dense centroids wants the centroids C-contiguous
        # (one transposed copy per call, shared read-only by the blocks)
        centers_t = np.ascontiguousarray(self.cluster_centers_.T) if is_sparse else None

        def block(start, stop):
            idx, sims = self._index.query(self._row_block(X, start, stop), n_nb,
                                          centers_t=centers_t)
            rows, classes, scores = _scoring.segment_scores(
                sims, self._cluster_class_idx[idx], n_classes, self.scale_,
                self.aggregate_,
            )
            scores = scores + offset[classes]
            if dense:
                out[start:stop] = _scoring.dense_scores(
                    rows, classes, scores, stop - start, n_classes, floor
                )
            else:
                out[start:stop] = _scoring.best_class(rows, classes, scores, stop - start)

        step = self._index.block_rows(n_nb, n_classes, X)
        # Threads pay off only on large products: starting them costs about a
        # millisecond each, the whole rule on 2,000 queries x 500 centroids a
        # few milliseconds.
        small = n * self.cluster_centers_.shape[0] < _PARALLEL_MIN_WORK
        n_threads = 1 if small or self._index.own_threads else effective_n_threads()
        for_blocks(block, n, step, n_threads)
        return (out, floor) if dense else out

    def _scores(self, X):
        """Final dense scores of validated single-label ``X`` and the floor
        of classes out of the running (``None`` with a head: every class
        has a finite score)."""
        X = self._unit_rows(X)
        if self.head_ == "linear":  # the rule does not vote
            return self._head_log_proba(X), None
        scores, floor = self._rule(X, dense=True)
        if self.head_ == "none":
            return scores, floor
        return _head.combine(self.head_, scores, floor, self._head_log_proba(X)), None

    def _head_log_proba(self, X):
        """The head's adjusted log-probabilities of ``X`` prepared by
        ``_unit_rows``, by blocks of rows on single-threaded BLAS (see
        ``for_blocks``), so that calls from several threads at once give a
        lone call's bits."""
        n, n_classes = X.shape[0], len(self.classes_)
        log_prior = np.log(self.class_prior_)
        out = np.empty((n, n_classes))

        def block(start, stop):
            out[start:stop] = _head.adjusted_log_proba(
                self.head_estimator_, self._row_block(X, start, stop), log_prior,
                n_classes)

        step = _scoring.block_rows(n_classes)
        small = n * n_classes < _PARALLEL_MIN_WORK
        for_blocks(block, n, step, 1 if small else effective_n_threads())
        return out
