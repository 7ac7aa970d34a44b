"""``EmbedderMixin`` (private): what the embedders (``CLMLEEmbedder``,
``MetricEmbedder``) share on top of ``_base.TorchInputMixin``: encoded
targets, the held-out rows of ``train_split``, ``transform`` and tags."""

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks.scoring import ScoringBase

from ..utils._targets import encode_class_columns
from ._base import resolve_device
from ._docs import fill_doc
from .training.engine import embed_checked
from .training.skorch_net import held_out_rows


@fill_doc
class EmbedderMixin(TransformerMixin):
    """``transform`` of the embedders: unit-norm embeddings, one block of
    ``embedding_dim`` per head (``_n_heads``), ``batch_size`` rows at a time;
    and their tags (dense numeric input, ``y`` required, float32 out).  A
    ``TransformerMixin``, so that ``set_output`` wraps this ``transform``."""

    _n_heads = 1
    # a string: multi-label y is refused with this explanation
    _multilabel_refusal = None

    def _encode_targets(self, y):
        """``Y`` of shape (n_samples, n_labels), int64 class indices (0/1 for
        multi-label ``y``); sets ``classes_`` and ``_multilabel``."""
        Y, self.classes_, self._multilabel = encode_class_columns(
            y, type(self).__name__, multilabel=self._multilabel_refusal or True)
        return Y

    def _check_scoring_callbacks(self):
        """Refuse skorch scoring callbacks that cannot score an embedder: a
        string (or ``None``) scorer needs a classifier's ``predict``, a cached
        score the module's raw outputs.  A callable on the held-out rows works
        (see the message)."""
        for cb in self.callbacks or []:
            cb = cb[1] if isinstance(cb, tuple) else cb
            if not isinstance(cb, ScoringBase):
                continue
            if callable(cb.scoring) and not cb.use_caching and not cb.on_train:
                continue
            raise ValueError(
                f"callbacks: {type(cb).__name__}(scoring={cb.scoring!r}, "
                f"on_train={cb.on_train!r}, use_caching={cb.use_caching!r}) "
                f"cannot score {type(self).__name__}: an embedder has no "
                "predict for a scorer to call. Score the held-out rows of "
                "train_split with a callable: EpochScoring(scoring=fn, "
                "use_caching=False, lower_is_better=False), where fn(net, X, "
                "y) gets the held-out rows X (a float32 tensor) and their "
                "encoded classes y, and net.transform(X) gives their "
                "embeddings (e.g. score a KNearestClusterClassifier on them)."
            )

    def _hold_out(self, X, Y):
        """``(X_train, Y_train, valid)``: the training rows of ``train_split``
        and the held-out ones as ``(float32, int64)`` tensors (``valid`` is
        ``None`` without a split).  ``Y``: encoded targets, one column a
        label; the split receives the single column, or the indicator
        matrix.  Every class of every label must keep training rows.
        Scoring callbacks are checked first (``_check_scoring_callbacks``)."""
        self._check_scoring_callbacks()
        if self.train_split is None:
            return X, Y, None
        self._refuse_split_when_data_parallel()
        train, valid = held_out_rows(self.train_split,
                                     Y[:, 0] if Y.shape[1] == 1 else Y)
        for j in range(Y.shape[1]):
            lost = np.setdiff1d(Y[:, j], Y[train, j])
            if lost.size:
                what = (f"value {lost[0]} of label {j}" if Y.shape[1] > 1
                        else f"class {np.asarray(self.classes_)[lost[0]].tolist()!r}")
                raise ValueError(
                    f"train_split={self.train_split!r} left no training row "
                    f"of {what}: every class needs training rows; use a "
                    "stratified split (e.g. ValidSplit(0.2, stratified=True)) "
                    "or hold out fewer rows.")
        if valid is not None:
            valid = (torch.from_numpy(np.array(X[valid], dtype=np.float32, order="C")),
                     torch.from_numpy(np.array(Y[valid], dtype=np.int64)))
        return X[train], Y[train], valid

    def transform(self, X):
        """Unit-norm embeddings of ``X``, computed ``batch_size`` rows at a time.

        {{params_X_samples}}

        Returns
        -------
        Z : ndarray of shape (n_samples, n_heads * embedding_dim), float32
            Embedding of each sample: one head (``MetricEmbedder``, and
            ``CLMLEEmbedder`` for class labels), or for multi-label ``y`` one
            unit-norm block per label, in label order.
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        return embed_checked(self.module_, X, self.batch_size,
                             resolve_device(self.device), self._n_heads)

    @property
    def _n_features_out(self):
        return self.embedding_dim * self._n_heads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
