"""LongTailNetClassifier: the CLMLE backbone with a linear head and a long-tail loss."""

import copy
import math
import time
from numbers import Integral, Real

import numpy as np
import torch
from skorch.history import History
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..utils._persistence import VersionedPickleMixin, unfit_on_interrupt
from ..utils._validation import Interval, StrOptions, _fit_context
from ._backbones import BackboneNet
from ._base import TorchInputMixin, resolve_device
from ._longtail_losses import (
    balanced_weights,
    cross_entropy_loss,
    effective_number_weights,
    focal_loss,
    ldam_loss,
    logit_adjusted_loss,
)
from ._training import _check_finite, make_optimizer

# Scale ``s`` multiplying the cosine logits of the LDAM head (Cao et al.'s value).
LDAM_SCALE = 30.0
# Rows per forward pass in predict / decision_function / transform.
_INFERENCE_BATCH = 1024

_LOSSES = ("ce", "weighted_ce", "logit_adjusted", "ldam_drw", "focal",
           "class_balanced_focal")


class _NormedLinear(nn.Module):
    """Cosine head: ``normalize(x) @ normalize(W)^T`` (LDAM's ``NormedLinear``)."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x):
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).T


class _HeadNet(BackboneNet):
    """A backbone and one classification head; flat rows are reshaped first."""

    def __init__(self, backbone, n_backbone_out, n_classes, input_shape, cosine):
        super().__init__(backbone, input_shape)
        self.head = (_NormedLinear if cosine else nn.Linear)(n_backbone_out, n_classes)

    def forward(self, x):
        return self.head(self.features(x))


class LongTailNetClassifier(
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    TorchInputMixin,
    VersionedPickleMixin,
    BaseEstimator,
):
    """A neural network classifier trained with a long-tail loss (baselines).

    Trains the default backbone of :class:`CLMLEEmbedder` (an MLP with
    ``hidden_units``, or a small CNN for images) and a linear head with one of
    the usual long-tail losses, with the same optimiser and budget options,
    so that CLMLE can be compared with them on the same network (Huang et al.,
    Section 5; ``DESIGN.md`` Section 4).

    Parameters
    ----------
    module : torch.nn.Module or None, default=None
        The backbone, mapping a batch of samples of shape ``input_shape`` to
        features; a linear head to the classes is added on top of it.  It is
        copied, never modified.  ``None`` builds the default backbone of
        :class:`CLMLEEmbedder`: an MLP with ``hidden_units`` for flat
        features; a small CNN (two conv blocks, global pooling, a
        ``hidden_units[-1]``-wide linear layer) for images given as 3-D
        ``(n, H, W)`` / 4-D ``(n, C, H, W)`` arrays or flat with an
        ``input_shape`` of length 2 or 3.
    input_shape : tuple of int or None, default=None
        Shape of one sample as the module expects it, when ``X`` is flat
        (e.g. ``(28, 28)`` for 784 pixel columns).  ``None``: ``X.shape[1:]``.
    hidden_units : tuple of int, default=(256, 128)
        Widths of the default MLP (ignored when ``module`` is given).
    loss : {"ce", "weighted_ce", "logit_adjusted", "ldam_drw", "focal", \
            "class_balanced_focal"}, default="logit_adjusted"
        Training loss, with ``n_c`` the training count of class ``c``:

        - ``"ce"``: softmax cross-entropy.
        - ``"weighted_ce"``: cross-entropy with class weights ``n / (C n_c)``
          (scikit-learn's ``"balanced"``), weighted mean over the batch.
        - ``"logit_adjusted"``: cross-entropy of ``logits + tau *
          log(n_c / n)`` (Menon et al., 2021); predictions use the plain
          logits.
        - ``"ldam_drw"``: LDAM (Cao et al., 2019) on a cosine head: the
          true-class cosine minus ``m_c = K / n_c ** (1/4)`` (``K`` such that
          the largest margin is ``ldam_max_margin``), times ``s = 30``, in a
          cross-entropy; from epoch ``drw_epoch`` on, deferred re-weighting
          with the effective-number weights of ``beta``.
        - ``"focal"``: focal loss ``-(1 - p_y) ** gamma log p_y`` (Lin et
          al., 2017).
        - ``"class_balanced_focal"``: the focal loss times the weights
          ``(1 - beta) / (1 - beta ** n_c)``, normalised to sum to ``C``
          (Cui et al., 2019).
    tau : float, default=1.0
        Temperature of the logit adjustment (``loss="logit_adjusted"``).
    gamma : float, default=2.0
        Focusing parameter of the focal losses.
    beta : float, default=0.9999
        ``beta`` of the effective number of samples, ``(1 - beta ** n_c) /
        (1 - beta)``, for ``"class_balanced_focal"`` and the deferred
        re-weighting of ``"ldam_drw"``.  Must be in ``[0, 1)``.
    ldam_max_margin : float, default=0.5
        Largest LDAM margin (that of the rarest class), in cosine units.
    drw_epoch : int or None, default=None
        For ``"ldam_drw"``: number of epochs trained without weights before
        the deferred re-weighting switches on (epochs ``drw_epoch + 1`` onward
        are re-weighted).  ``None``: ``2 * epochs // 3``.
    epochs : int, default=15
        Passes over the training set.
    batch_size : int, default=128
        Training batch size (the last batch of an epoch may be smaller).
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Optimiser (``"sgd"`` uses momentum 0.9); a class is called as
        ``optimizer(params, lr=..., weight_decay=...)``.
    learning_rate : float, default=1e-3
        Learning rate.
    weight_decay : float, default=0.0
        Weight decay.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device for training and inference; ``"auto"``: CUDA when
        available.  The fitted module is always stored on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling.  With an int, fitting twice
        on the CPU gives the same model.  The global torch random state is
        left as it was.
    verbose : int, default=0
        If positive, a tqdm progress bar over the batches, with the running
        loss.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (``module_.backbone`` and ``module_.head``), on
        the CPU, in eval mode.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    class_counts_ : ndarray of shape (n_classes,)
        Training count of each class, as used by the losses.
    drw_epoch_ : int or None
        Epochs trained before the re-weighting of ``"ldam_drw"`` (``None``
        for the other losses).
    input_shape_ : tuple of int
        Shape of one sample as fed to the backbone.
    history_ : skorch.history.History
        One row per epoch with ``epoch``, ``train_loss`` (mean over batches),
        ``step_loss`` (every batch), ``reweighted`` (whether class weights
        were applied that epoch) and ``dur``; e.g. ``history_[:, "train_loss"]``.
    n_features_in_ : int
        Number of features (``X.shape[1]``) seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit; only when ``X`` has string feature
        names.

    See Also
    --------
    CLMLEEmbedder : The cluster-based large-margin embedding on the same
        backbone.

    Notes
    -----
    ``decision_function`` returns the logits the head gives at prediction
    time: the plain logits (no logit adjustment, no LDAM margin); for
    ``"ldam_drw"`` the cosines times ``s = 30``, the scale of training.  For
    two classes it returns the difference ``logit_1 - logit_0``, as
    scikit-learn's binary classifiers.  ``predict_proba`` is the softmax of
    these logits.

    ``transform`` returns the penultimate features (the backbone's output,
    before the head), so that a fitted baseline can serve as the embedder of
    an open-set evaluation like :class:`CLMLEEmbedder` (the features are not
    normalised; normalise them for cosine similarities).

    Interrupting ``fit`` (``KeyboardInterrupt``) re-raises the interrupt and
    leaves the estimator unfitted; the global torch random state is restored.
    Pickles hold the module on the CPU.  Inputs are used as they are (scale
    pixels to ``[0, 1]`` yourself).

    References
    ----------
    Menon et al., "Long-tail learning via logit adjustment", ICLR 2021.
    Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware
    Margin Loss", NeurIPS 2019.
    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
    CVPR 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle.embedding import LongTailNetClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (40, 5)), rng.normal(3, 1, (10, 5))]
    >>> y = np.array(["common"] * 40 + ["rare"] * 10)
    >>> clf = LongTailNetClassifier(hidden_units=(16,), loss="ldam_drw",
    ...                             epochs=6, batch_size=10, learning_rate=1e-2,
    ...                             random_state=0).fit(X, y)
    >>> clf.classes_.tolist(), bool((clf.predict(X) == y).mean() > 0.9)
    (['common', 'rare'], True)
    >>> clf.predict_proba(X).shape, clf.transform(X).shape
    ((50, 2), (50, 16))
    >>> clf.drw_epoch_, clf.history_[:, "reweighted"]
    (4, [False, False, False, False, True, True])
    """

    _parameter_constraints = {
        "module": [None, torch.nn.Module],
        "input_shape": [None, tuple],
        "hidden_units": [tuple],
        "loss": [StrOptions(set(_LOSSES))],
        "tau": [Interval(Real, None, None, closed="neither")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "ldam_max_margin": [Interval(Real, 0, None, closed="left")],
        "drw_epoch": [None, Interval(Integral, 0, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions({"adam", "adamw", "sgd"}), type],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Tiny settings for the scikit-learn estimator checks (tests/test_common.py):
    # enough steps to fit the checks' blobs and iris well.
    _test_params = {
        "hidden_units": (16,),
        "epochs": 20,
        "batch_size": 16,
        "learning_rate": 1e-2,
        "device": "cpu",
    }

    def __init__(
        self,
        module=None,
        *,
        input_shape=None,
        hidden_units=(256, 128),
        loss="logit_adjusted",
        tau=1.0,
        gamma=2.0,
        beta=0.9999,
        ldam_max_margin=0.5,
        drw_epoch=None,
        epochs=15,
        batch_size=128,
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.module = module
        self.input_shape = input_shape
        self.hidden_units = hidden_units
        self.loss = loss
        self.tau = tau
        self.gamma = gamma
        self.beta = beta
        self.ldam_max_margin = ldam_max_margin
        self.drw_epoch = drw_epoch
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- validation helpers -------------------------------------------------

    def _build_net(self, n_classes):
        backbone, width = self._backbone()
        return _HeadNet(backbone, width, n_classes, self.input_shape_,
                        cosine=self.loss == "ldam_drw")

    def _epoch_loss(self, epoch):
        """The loss function of ``epoch`` (0-based) and whether it is re-weighted.

        Returns ``(fn, reweighted)`` with ``fn(logits, targets)`` a scalar.
        """
        counts = self.class_counts_
        if self.loss == "ce":
            return (lambda z, t: cross_entropy_loss(z, t)), False
        if self.loss == "weighted_ce":
            w = balanced_weights(counts)
            return (lambda z, t: cross_entropy_loss(z, t, w)), True
        if self.loss == "logit_adjusted":
            return (lambda z, t: logit_adjusted_loss(z, t, counts, self.tau)), False
        if self.loss == "focal":
            return (lambda z, t: focal_loss(z, t, self.gamma)), False
        if self.loss == "class_balanced_focal":
            w = effective_number_weights(counts, self.beta)
            return (lambda z, t: focal_loss(z, t, self.gamma, w)), True
        # ldam_drw
        reweighted = epoch >= self.drw_epoch_
        w = effective_number_weights(counts, self.beta) if reweighted else None
        return (lambda z, t: ldam_loss(z, t, counts, self.ldam_max_margin,
                                       LDAM_SCALE, w)), reweighted

    def _train(self, net, X, y, device, rng):
        history = History()
        n = len(y)
        y_t = torch.from_numpy(y)
        opt = make_optimizer(self.optimizer, net.parameters(), self.learning_rate,
                             self.weight_decay)
        n_batches = math.ceil(n / self.batch_size)
        net.train()
        with tqdm(total=self.epochs * n_batches, disable=not self.verbose,
                  desc="LongTailNetClassifier", leave=False) as bar:
            for epoch in range(self.epochs):
                history.new_epoch()
                tic = time.perf_counter()
                loss_fn, reweighted = self._epoch_loss(epoch)
                perm = torch.from_numpy(rng.permutation(n))
                losses = []
                for b, start in enumerate(range(0, n, self.batch_size)):
                    idx = perm[start:start + self.batch_size]
                    loss = loss_fn(net(X[idx].to(device)), y_t[idx].to(device))
                    _check_finite(loss, f"epoch {epoch + 1}, batch {b + 1}")
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                    bar.update(1)
                    bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.4f}")
                history.record("epoch", epoch + 1)
                history.record("reweighted", reweighted)
                history.record("step_loss", losses)
                history.record("train_loss", float(np.mean(losses)))
                history.record("dur", time.perf_counter() - tic)
        return history

    @torch.no_grad()
    def _forward(self, X, features):
        """Logits (or backbone features) of validated ``X``, float32 numpy."""
        device = resolve_device(self.device)
        net = self.module_
        if device != "cpu":
            net = copy.deepcopy(net).to(device)
        net.eval()
        chunks = []
        for start in range(0, X.shape[0], _INFERENCE_BATCH):
            xb = torch.from_numpy(
                np.array(X[start:start + _INFERENCE_BATCH], dtype=np.float32)
            ).to(device)
            out = net.features(xb) if features else net(xb)
            if not features and self.loss == "ldam_drw":
                out = LDAM_SCALE * out
            chunks.append(out.cpu().numpy())
        if not chunks:
            width = self._n_features_out if features else len(self.classes_)
            return np.empty((0, width), dtype=np.float32)
        out = np.concatenate(chunks).astype(np.float32, copy=False)
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if bad.size:
            raise ValueError(
                f"The module's output overflowed for {bad.size} row(s) of X (rows "
                f"{', '.join(map(str, bad[:5]))}): values too large for the "
                "network; rescale X as it was scaled for fit."
            )
        return out

    # -- public API ----------------------------------------------------------

    @unfit_on_interrupt
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the backbone and the head with the chosen loss.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or \
                (n_samples, height, width) or (n_samples, channels, height, width)
            Training samples (numeric, finite).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._validate_X(X, reset=True, y=y)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"y has only one class ({encoder.classes_[0]!r}); "
                "LongTailNetClassifier needs at least two classes."
            )
        self.classes_ = encoder.classes_
        y_enc = encoder.transform(y).astype(np.int64)
        self.class_counts_ = np.bincount(y_enc, minlength=len(self.classes_))
        self._input_layout = tuple(X.shape[1:])
        self.input_shape_ = self._sample_shape(X)
        if self.loss == "ldam_drw":
            self.drw_epoch_ = (2 * self.epochs // 3 if self.drw_epoch is None
                               else int(self.drw_epoch))
        else:
            self.drw_epoch_ = None
        X_t = torch.from_numpy(np.array(X, dtype=np.float32, order="C"))
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        devices = [torch.cuda.current_device()] if device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            net = self._build_net(len(self.classes_)).to(device)
            self._n_backbone_out = net.head.weight.shape[1]
            self.history_ = self._train(net, X_t, y_enc, device, rng)
        self.module_ = net.to("cpu").eval()
        return self

    def decision_function(self, X):
        """Prediction logits of ``X`` (see Notes).

        Parameters
        ----------
        X : array-like of the training samples' shape
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Logits in the order of ``classes_``; for two classes, ``logit_1 -
            logit_0``.
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        logits = self._forward(X, features=False)
        if len(self.classes_) == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities: the softmax of the prediction logits.

        Parameters
        ----------
        X : array-like of the training samples' shape
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_`` (float64).
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``.

        Parameters
        ----------
        X : array-like of the training samples' shape
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        logits = self._forward(X, features=False).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Predicted class labels (the largest prediction logit).

        Parameters
        ----------
        X : array-like of the training samples' shape
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        logits = self._forward(X, features=False)
        return self.classes_[np.argmax(logits, axis=1)]

    def transform(self, X):
        """Penultimate features of ``X``: the backbone's output, before the head.

        Lets a fitted baseline serve as an embedder (e.g. for open-set
        evaluation); the features are not normalised.

        Parameters
        ----------
        X : array-like of the training samples' shape
            Samples.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_backbone_features), float32
            Backbone features of each sample.
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        return self._forward(X, features=True)

    @property
    def _n_features_out(self):
        return self._n_backbone_out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
