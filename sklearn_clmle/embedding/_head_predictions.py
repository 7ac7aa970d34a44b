"""Predictions of LongTailNetClassifier (private): logits, probabilities,
labels and the penultimate features of a fitted network, in batches."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import resolve_device
from ._docs import fill_doc
from .training.engine import extract, on_device

# Losses whose head is cosine (normalised weights and features), so that the
# logits are ``angular_scale * cos``.
COSINE_LOSSES = ("ldam_drw", "cosface", "arcface")

# Rows per forward pass in predict / decision_function / transform (on a
# CPU, convolutional backbones run faster at a few hundred rows than at 1024).
INFERENCE_BATCH = 256


@fill_doc
class HeadPredictionsMixin:
    """``decision_function``, ``predict_proba``, ``predict_log_proba``,
    ``predict`` and ``transform`` of a fitted ``LongTailNetClassifier``
    (reads ``module_``, ``classes_``, ``loss``, ``angular_scale``,
    ``device`` and the private ``_multilabel``, ``_y_dtype``)."""

    def _forward(self, X, features):
        """Logits (or backbone features) of validated ``X``, float32 numpy:
        the head's outputs, times ``angular_scale`` for a cosine head (its
        cosines), or with ``features=True`` the backbone's features."""
        scale = self.angular_scale if self.loss in COSINE_LOSSES else None
        n_out, n_features = self.module_.head.weight.shape
        if features:
            output, width = (lambda net, xb: net.features(xb)), n_features
        elif scale is not None:
            output, width = (lambda net, xb: scale * net(xb)), n_out
        else:
            output, width = (lambda net, xb: net(xb)), n_out
        device = resolve_device(self.device)
        out = extract(on_device(self.module_, device), X, INFERENCE_BATCH, device,
                      output=output, width=width)
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if bad.size:
            raise ValueError(
                f"The module's output overflowed for {bad.size} row(s) of X (rows "
                f"{', '.join(map(str, bad[:5]))}): values too large for the "
                "network; rescale X as it was scaled for fit."
            )
        return out

    def _outputs(self, X, features=False):
        """``_forward`` of the fitted estimator on ``X``, validated here."""
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        return self._forward(X, features)

    def decision_function(self, X):
        """Prediction logits of ``X`` (see Notes).

        {{params_X_samples}}

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Logits in the order of ``classes_``; for two classes, ``logit_1 -
            logit_0``; for multi-label ``y``, of shape ``(n_samples,
            n_labels)``, one logit per label.
        """
        logits = self._outputs(X)
        if len(self.classes_) == 2 and not self._multilabel:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities: the softmax of the prediction logits.

        For multi-label ``y``, the sigmoid of each label's logit.

        {{params_X_samples}}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Probabilities in the order of ``classes_`` (float64); for
            multi-label ``y``, the probability of each label being 1.
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``.

        {{params_X_samples}}

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Log-probabilities in the order of ``classes_``.
        """
        logits = self._outputs(X).astype(np.float64)
        if self._multilabel:
            return -np.logaddexp(0.0, -logits)  # log sigmoid
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Predicted class labels (the largest prediction logit).

        For multi-label ``y``, the labels whose logit is positive.

        {{params_X_samples}}

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``; for multi-label ``y``, the 0/1 indicator
            matrix, in the dtype of the training ``y``.
        """
        logits = self._outputs(X)
        if self._multilabel:
            return (logits > 0).astype(self._y_dtype)
        return self.classes_[np.argmax(logits, axis=1)]

    def transform(self, X):
        """Penultimate features of ``X``: the backbone's output, before the head.

        Lets a fitted baseline serve as an embedder (e.g. for open-set
        evaluation); the features are not normalised.

        {{params_X_samples}}

        Returns
        -------
        Z : ndarray of shape (n_samples, n_backbone_features), float32
            Backbone features of each sample.
        """
        return self._outputs(X, features=True)
