"""LongTailNetClassifier: the CLMLE backbone with a linear or cosine head and a
long-tail (or angular-margin) loss; multi-label targets get one sigmoid each."""

import math
from numbers import Integral, Real

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)

from ..utils._persistence import VersionedPickleMixin
from ..utils._targets import encode_targets
from ..utils._validation import Interval, StrOptions

from ._budget import curve_cap, head_epochs
from ._curve import best_round, curve_stopping
from ._base import F32_MAX, SHARED_CONSTRAINTS, TorchInputMixin
from ._docs import fill_doc
from ._head_predictions import COSINE_LOSSES as _COSINE_LOSSES
from ._head_predictions import HeadPredictionsMixin

# epochs="auto" with held-out rows: stop this many epochs after the best.
HEAD_PATIENCE = 10
from .nn.heads import HeadNet
from .training.engine import OptimizerSpec
from .training.supervised import (
    LOSSES,
    MULTILABEL_LOSSES,
    HeadLoss,
    train_head_net,
    warn_if_never_reweighted,
)


@fill_doc
class LongTailNetClassifier(
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    HeadPredictionsMixin,
    TorchInputMixin,
    VersionedPickleMixin,
    BaseEstimator,
):
    """A neural network classifier trained with a long-tail loss (baselines).

    Trains the default backbone family of :class:`CLMLEEmbedder` (an MLP
    with ``hidden_units``, or a small CNN for images) and a linear head with
    one of the usual long-tail losses, with the same optimiser and budget
    options (``epochs``: passes over the training set), so that CLMLE can be
    compared with them on the same network (Huang et al., Section 5).  At
    the defaults the widths differ: ``hidden_units=(256, 128)`` here, the
    embedder's ``"auto"`` widths there (the same for images and wide
    tables, narrower for small ones); pass the embedder's fitted
    ``hidden_units_`` for the very same backbone.  The angular-margin losses
    (CosFace, ArcFace) train a cosine head, for open-set face-verification
    baselines on the penultimate features.  A binary indicator matrix ``y``
    (multi-label) trains one sigmoid output per label with binary
    cross-entropy.

    Parameters
    ----------
    module : torch.nn.Module, torch.nn.Module subclass or None, default=None
        The backbone, mapping a batch of samples of shape ``input_shape`` to
        features; a head to the classes (or labels) is added on top of it.  It is
        copied, never modified.  ``None`` builds the default backbone of
        :class:`CLMLEEmbedder`: an MLP with ``hidden_units`` for flat
        features; a small CNN (two conv blocks, global pooling, a
        ``hidden_units[-1]``-wide linear layer) for images given as 3-D
        ``(n, H, W)`` / 4-D ``(n, C, H, W)`` arrays or flat with an
        ``input_shape`` of length 2 or 3.
        {{module_class_notes}}
    {{input_shape, hidden_units}}
    loss : str, default="logit_adjusted"
        Training loss, one of the following, with ``n_c`` the training count
        of class ``c``:

        - ``"ce"``: softmax cross-entropy.
        - ``"weighted_ce"``: cross-entropy with class weights ``n / (C n_c)``
          (scikit-learn's ``"balanced"``), weighted mean over the batch.
        - ``"logit_adjusted"``: cross-entropy of ``logits + tau *
          log(n_c / n)`` (Menon et al., 2021); predictions use the plain
          logits.
        - ``"ldam_drw"``: LDAM (Cao et al., 2019) on a cosine head: the
          true-class cosine minus ``m_c = K / n_c ** (1/4)`` (``K`` such that
          the largest margin is ``ldam_max_margin``), times ``s =
          angular_scale``, in a cross-entropy; from epoch ``drw_epoch`` on,
          deferred re-weighting with the effective-number weights of
          ``beta``.
        - ``"focal"``: ``-(1 - p_y) ** gamma log p_y`` (Lin et al., 2017).
        - ``"class_balanced_focal"``: the focal loss times the weights
          ``(1 - beta) / (1 - beta ** n_c)``, normalised to sum to ``C``
          (Cui et al., 2019).
        - ``"cosface"``: CosFace (Wang et al., 2018) on a cosine head:
          cross-entropy of ``s * cos theta_j``, ``s * (cos theta_y - m)``
          for the true class (``s = angular_scale``, ``m = angular_margin``).
        - ``"arcface"``: ArcFace (Deng et al., 2019) on the same head: the
          true-class logit is ``s * cos(theta_y + m)``, ``m`` in radians.

        Multi-label ``y`` takes ``"ce"`` (binary cross-entropy) and
        ``"weighted_ce"`` (positives of label ``j`` weighted ``n / (2
        n_pos_j)``, negatives ``n / (2 n_neg_j)``); others are refused.
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
    angular_scale : float, default=30.0
        Scale ``s`` of the cosine logits of the cosine-head losses
        (``"ldam_drw"``, ``"cosface"``, ``"arcface"``), in training and in
        the prediction logits.  Must be positive.
    angular_margin : float or "auto", default="auto"
        Margin ``m`` of ``"cosface"`` (in cosine units) and ``"arcface"`` (in
        radians), in ``[0, pi)``.  ``"auto"``: the papers' values, 0.35 for
        CosFace and 0.5 for ArcFace.  Ignored by the other losses.
    drw_epoch : int or None, default=None
        For ``"ldam_drw"``: number of epochs trained without weights before
        the deferred re-weighting switches on (epochs ``drw_epoch + 1`` onward
        are re-weighted).  ``None``: ``2 * epochs // 3``.
    epochs : int or "auto", default="auto"
        Passes over the training set.  ``"auto"``: with a ``train_split``,
        read from the held-out rows' curve: up to ``clip(3 * 60000 / n, 30,
        300)`` epochs, stopping 10 epochs after the lowest ``valid_loss``,
        whose weights are kept (``epochs_`` is that epoch); without held-out
        rows 4,000 optimiser steps, ``clip(4000 / ceil(n / batch_size), 15,
        200)`` epochs (200 below 2,560 rows at batch 128, 15 from 34,000).
    batch_size : int, default=128
        Training batch size (the last batch of an epoch may be smaller).
    {{optimizer, learning_rate}}
    weight_decay : float, default=0.0
        Weight decay.
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling (an int: the same model
        twice on the CPU); torch's global random state is left as it was.
    {{distributed}}
    callbacks : list of skorch callbacks or None, default=None
        skorch callbacks (or ``(name, callback)`` pairs) run during ``fit``
        beside the library's own, e.g. ``EarlyStopping``, ``LRScheduler``,
        ``EpochScoring("balanced_accuracy", lower_is_better=False)``.  Each
        is cloned at ``fit``; fitted copies are in ``callbacks_``.
    train_split : callable or None, default=None
        skorch's validation split, e.g. ``ValidSplit(0.2, stratified=True)``:
        held-out rows are not trained on; their ``valid_loss`` is recorded
        every epoch.  ``None``: all rows.  Refused under ``torchrun``.
    verbose : int, default=0
        If positive, skorch's table of the epochs (``train_loss``, ``dur``,
        the callbacks' scores).

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (``module_.backbone`` and ``module_.head``), on
        the CPU, in eval mode.
    classes_ : ndarray of shape (n_classes,)
        Class labels; for multi-label ``y``, ``np.arange(n_labels)`` (as
        :class:`~sklearn.neural_network.MLPClassifier`).
    class_counts_ : ndarray of shape (n_classes,) or (2, n_labels)
        Training count of each class, as used by the losses; for multi-label
        ``y``, the negatives (row 0) and positives (row 1) of each label.
    epochs_ : int
        The epochs used: ``epochs``, what ``"auto"``'s formula gave, or with
        a ``train_split`` the epoch of lowest ``valid_loss`` (the weights
        kept).
    drw_epoch_ : int or None
        Epochs trained before the re-weighting of ``"ldam_drw"`` (``None``
        for the other losses).  A ``UserWarning`` says when training stopped
        (e.g. by ``EarlyStopping``) before the re-weighting began.
    angular_margin_ : float or None
        Margin used by ``"cosface"`` or ``"arcface"`` (``angular_margin``
        with ``"auto"`` resolved); ``None`` for the other losses.
    {{input_shape_}}
    history_ : skorch.history.History
        skorch's history of the fit: one row per epoch with ``epoch``,
        ``train_loss``, ``batches``, ``dur``, with a ``train_split``
        ``valid_loss``, the callbacks' scores, ``step_loss`` (every batch's
        loss) and ``reweighted`` (class weights applied that epoch).
    {{callbacks_, world_size_, n_features_in_, feature_names_in_}}

    See Also
    --------
    CLMLEEmbedder : The cluster-based large-margin embedding on the same
        backbone.

    Notes
    -----
    ``decision_function`` returns the plain logits (no adjustment, no
    margin; for the cosine heads the cosines times ``angular_scale``), their
    difference for two classes; ``predict_proba`` is their softmax.

    ArcFace's ``cos(theta_y + m)`` is computed in its reference code's
    numerically safe form (``losses.longtail.arcface_target_cosine``).  With
    multi-label ``y`` the head has one sigmoid output per label:
    ``decision_function`` returns ``(n_samples, n_labels)`` logits,
    ``predict_proba`` their sigmoids (as ``MLPClassifier``), ``predict`` the
    indicator of ``logit > 0``.  ``transform`` returns the penultimate
    features (not normalised), so that a fitted baseline can serve as the
    embedder of an open-set evaluation; the user guide has the details.

    {{failure_notes}}

    {{data_parallel_notes}}

    References
    ----------
    Menon et al., "Long-tail learning via logit adjustment", ICLR 2021.
    Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware
    Margin Loss", NeurIPS 2019.
    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
    CVPR 2019.
    Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face
    Recognition", CVPR 2018; Wang et al., "Additive Margin Softmax for Face
    Verification", IEEE Signal Processing Letters 2018.
    Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
    Recognition", CVPR 2019.

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

    Multi-label targets, one sigmoid output per label:

    >>> Y = np.c_[y == "rare", X[:, 0] > 0].astype(int)
    >>> ml = LongTailNetClassifier(hidden_units=(16,), loss="weighted_ce",
    ...                            epochs=6, batch_size=10, learning_rate=1e-2,
    ...                            random_state=0).fit(X, Y)
    >>> ml.classes_.tolist(), ml.predict(X).shape, ml.predict_proba(X).shape
    ([0, 1], (50, 2), (50, 2))
    """

    _parameter_constraints = {
        **SHARED_CONSTRAINTS,
        "hidden_units": [tuple],
        "loss": [StrOptions(set(LOSSES))],
        "tau": [Interval(Real, -F32_MAX, F32_MAX, closed="neither")],
        "gamma": [Interval(Real, 0, F32_MAX, closed="left")],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "ldam_max_margin": [Interval(Real, 0, F32_MAX, closed="left")],
        "angular_scale": [Interval(Real, 0, F32_MAX, closed="neither")],
        "angular_margin": [StrOptions({"auto"}),
                           Interval(Real, 0, math.pi, closed="left")],
        "drw_epoch": [None, Interval(Integral, 0, None, closed="left")],
        "epochs": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, F32_MAX, closed="left")],
    }

    # y may be a multi-label indicator matrix (TorchInputMixin._validate_X).
    _multi_output_y = True

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
        angular_scale=30.0,
        angular_margin="auto",
        drw_epoch=None,
        epochs="auto",
        batch_size=128,
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        device="auto",
        random_state=None,
        distributed="auto",
        callbacks=None,
        train_split=None,
        verbose=0,
        **module_params,
    ):
        self.module = module
        self.input_shape = input_shape
        self.hidden_units = hidden_units
        self.loss = loss
        self.tau = tau
        self.gamma = gamma
        self.beta = beta
        self.ldam_max_margin = ldam_max_margin
        self.angular_scale = angular_scale
        self.angular_margin = angular_margin
        self.drw_epoch = drw_epoch
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.distributed = distributed
        self.callbacks = callbacks
        self.train_split = train_split
        self.verbose = verbose
        self._set_module_params(module_params)

    # -- validation helpers -------------------------------------------------

    def _build_net(self, n_outputs):
        backbone, width = self._backbone()
        return HeadNet(backbone, width, n_outputs, self.input_shape_,
                       cosine=self.loss in _COSINE_LOSSES)

    def _head_loss(self):
        """The loss of this fit with its settings (``training.supervised``)."""
        return HeadLoss.resolve(
            self.loss, self.class_counts_, self._multilabel, epochs=self.epochs_,
            drw_epoch=self.drw_epoch, angular_margin=self.angular_margin,
            tau=self.tau, gamma=self.gamma, beta=self.beta,
            ldam_max_margin=self.ldam_max_margin, angular_scale=self.angular_scale)

    def _fit(self, X, y):
        self._refuse_split_when_data_parallel()
        targets = encode_targets(y, type(self).__name__)
        self._multilabel = targets.multilabel
        self._y_dtype = targets.dtype
        self.classes_ = targets.classes
        self.class_counts_ = targets.counts
        y_enc = targets.encoded
        curve = self.epochs == "auto" and self.train_split is not None
        if self.epochs != "auto":
            self.epochs_ = self.epochs
        else:
            n = X.shape[0]
            self.epochs_ = curve_cap(n) if curve else head_epochs(n, self.batch_size)
        callbacks = self.callbacks
        if curve:
            callbacks = [*(callbacks or []), ("curve_budget", curve_stopping(
                "valid_loss", self.verbose, patience=HEAD_PATIENCE, load_best=True))]
        loss = self._head_loss()
        self.drw_epoch_, self.angular_margin_ = loss.drw_epoch, loss.angular_margin
        self.module_, self.history_ = self._train_module(
            X, y_enc, lambda: self._build_net(len(self.classes_)),
            lambda net, X_t, device, rng, dp: train_head_net(
                net, X_t, y_enc, device, rng, dp, loss=loss,
                optimizer=OptimizerSpec(self.optimizer, self.learning_rate,
                                        self.weight_decay),
                epochs=self.epochs_, batch_size=self.batch_size,
                verbose=self.verbose, callbacks=callbacks,
                train_split=self.train_split),
        )
        self._n_backbone_out = self.module_.head.weight.shape[1]
        # stacklevel: the user's fit, above fit's two decorators and this
        warn_if_never_reweighted(len(self.history_), self.drw_epoch_,
                                 self.epochs_, stacklevel=6)
        if curve:
            self.epochs_ = best_round(self.history_, "valid_loss", phase=None,
                                      key="epoch")

    @property
    def _n_features_out(self):
        return self._n_backbone_out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        # multi-label indicator targets, with the losses that support them
        tags.classifier_tags.multi_label = self.loss in MULTILABEL_LOSSES
        return tags
