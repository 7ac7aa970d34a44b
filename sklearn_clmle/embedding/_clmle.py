"""CLMLEEmbedder: a torch backbone trained with the cluster-based large-margin loss."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._persistence import VersionedPickleMixin
from ..utils._validation import Interval, StrOptions
from ._auto import class_margins, margins, resolve
from ._base import (EMBEDDER_TEST_PARAMS, F32_MAX, SHARED_CONSTRAINTS,
                    WARMUP_CONSTRAINTS, TorchInputMixin, resolve_device)
from ._budget import Budget
from ._curve import best_round, curve_monitor, curve_stopping, head_log_proba
from ._docs import fill_doc
from ._embedder import EmbedderMixin
from .losses.longtail import softmax_classifiers
from .nn.backbones import EmbeddingNet
from .training.clmle_rounds import SoftmaxModel, clmle_phases, train


@fill_doc
class CLMLEEmbedder(
    ClassNamePrefixFeaturesOutMixin,
    EmbedderMixin,
    TorchInputMixin,
    VersionedPickleMixin,
    BaseEstimator,
):
    """Learn unit-norm embeddings with the CLMLE cluster-based large-margin loss.

    Trains a torch backbone so that, on the unit hypersphere, every class is a
    set of tight, equal-size clusters with a margin ``a1`` to the clusters of
    other classes and ``a2`` to the other clusters of its own class (Huang et
    al., Section 3).  Training alternates between (1) extracting the
    embeddings of all training samples and splitting each class into
    ``max(1, n_c // cluster_size)`` equal-size clusters with
    :class:`~sklearn_clmle.SphericalKMeans`, and (2) ``steps_per_round``
    optimiser steps on batches of ``n_clusters_per_batch`` clusters: a class
    drawn uniformly, its query cluster, and the clusters nearest to it.  The
    first clustering uses the embeddings after a short softmax warm-up.

    Parameters
    ----------
    module : torch.nn.Module, torch.nn.Module subclass or None, default=None
        The backbone, mapping a batch of samples of shape ``input_shape`` to
        features; a linear head to ``embedding_dim`` is added on top of it (one
        per label for multi-label ``y``).  It is copied, never modified.  Pass
        a pre-trained module with ``warmup_epochs=0`` to start clustering from
        its features.  ``None`` builds the default backbone: an MLP with
        ``hidden_units`` for flat features; a small CNN (two conv blocks, global
        pooling, a ``hidden_units[-1]``-wide linear layer) for images given as
        3-D ``(n, H, W)`` / 4-D ``(n, C, H, W)`` arrays or flat with an
        ``input_shape`` of length 2 or 3.
        {{module_class_notes}}
    {{input_shape}}
    hidden_units : tuple of int or "auto", default="auto"
        Widths of the default MLP (ignored when ``module`` is given).
        ``"auto"``: ``(w, w // 2)`` with ``w`` the power of two at or above
        the larger of four times the input features and sixteen times the
        classes, between 64 and 256, and at most the power of two at or
        below the training rows.
    embedding_dim : int, default=64
        Dimension ``d`` of the embedding of each head.
    cluster_size : int or "auto", default="auto"
        Cluster size ``l``: class ``c`` gets ``max(1, n_c // l)`` clusters.
        The paper uses 200.  ``"auto"``: ``clip(round(sqrt(n)), 10, 200)``
        for ``n`` training samples.
    n_clusters_per_batch : int, default=12
        ``M``, the clusters in one batch (all of them if there are fewer).
    n_samples_per_cluster : int or "auto", default="auto"
        Samples drawn from each batch cluster; a cluster (or a class) with
        fewer members is sampled *with replacement*.  The batch size is
        ``n_clusters_per_batch * n_samples_per_cluster``.  The paper uses 20.
        ``"auto"``: ``min(20, cluster_size)``.
    margin_between : float or "auto", default="auto"
        ``a1``, in cosine units (the loss multiplies it by ``scale``).
        ``"auto"``: a twentieth of the bound of Section 3.2 taken in
        ``embedding_dim`` dimensions, ``0.05 * (1 - cos theta_C)`` with ``cos
        theta_C`` the nearest-neighbour cosine of ``C`` classes spread on the
        sphere: ``-1 / (C - 1)`` up to ``embedding_dim + 1`` classes (0.056
        at 10), 0.037 at 1,000 classes in 64 dimensions (see the user guide;
        ``CLMLEClassifier`` compares larger levels on held-out rows).
    margin_power : float, default=0.25
        Larger between-class margins for rarer classes (LDAM's ``n_c ** -1/4``
        rule, Cao et al. 2019, inside Eq. 9): class ``c`` uses ``a1 * min((n_max
        / n_c) ** margin_power, 2)``.  ``0``: one ``a1`` for all, the paper's.
    margin_within : float or "auto", default="auto"
        ``a2``, in cosine units.  ``"auto"``: a twentieth of the tightest
        bound of Section 3.2 over the classes, in ``embedding_dim``
        dimensions: that of ``n / min_c n_c`` regions as large as the rarest
        class's share.
    scale : float, default=64.0
        Multiplies the similarities and the margins in the loss (an inverse
        temperature); ``1.0`` is the paper's loss (see Notes).
        ``KNearestClusterClassifier()`` chooses its own temperature for these
        embeddings (``scale="auto"``, on held-out training samples).
    query : {"hardest", "uniform"}, default="hardest"
        Query cluster of the drawn class: the one with the highest mean cached
        loss (Section 3.3), or one at random (the ablation).
    cost_sensitive : bool, default=True
        Weight each sample's loss by the inverse frequency of its class in the
        batch.
    n_rounds : int or "auto", default="auto"
        Alternation rounds (re-clustering followed by training steps).
        ``"auto"``: 5; with held-out rows (``train_split``) and ``epochs``
        and ``steps_per_round`` also ``"auto"``, as many as the validation
        curve asks for (see ``epochs``).
    steps_per_round : int or "auto", default="auto"
        Optimiser steps per round.  ``"auto"``: the steps that make warm-up
        and rounds together see ``epochs`` passes over the training set.
    epochs : int or "auto", default="auto"
        Training budget in passes over the training set, warm-up included;
        used only to set ``steps_per_round="auto"``.  ``"auto"``:
        ``clip(60000 / n, 15, 100)`` for ``n`` training samples.  With
        held-out rows and ``n_rounds``, ``steps_per_round`` ``"auto"``, read
        from a validation curve instead: up to 25 rounds sharing the more of
        ``clip(3 * 60000 / n, 30, 300)`` passes and 4,000 steps (300 passes
        at most), stopped 4 rounds after the lowest held-out balanced loss
        of the softmax head; ``best_round_``: the earliest within one SE.
    warmup_epochs : int, default=5
        Epochs of softmax training of the backbone and heads before the first
        clustering (a linear classifier on each head, discarded afterwards).
        ``0`` skips the warm-up, e.g. for a pre-trained ``module``.
    warmup_class_weight : {"balanced", "logit_adjusted"} or None, default="logit_adjusted"
        Imbalance handling of the warm-up cross-entropy (per label, binary
        cross-entropy, for multi-label ``y``) and of the softmax term below:
        ``"balanced"`` weighs each class by ``n / (C n_c)``;
        ``"logit_adjusted"`` adds ``log(n_c / n)`` to the training logits
        (``log(n_pos / n_neg)`` per label), Menon et al.'s logit adjustment;
        ``None``: plain cross-entropy (the paper's pre-training).
    warmup_batch_size : int or None, default=None
        Batch size of the warm-up; ``None``: the cluster-phase batch size
        ``n_clusters_per_batch * n_samples_per_cluster``.
    softmax_weight : float, default=1.0
        Weight of the warm-up's softmax loss (same classifiers, same class
        weights), kept as an auxiliary term next to the cluster loss during the
        rounds.  ``0`` trains the rounds with the cluster loss alone, as in the
        paper.
    {{optimizer, learning_rate}}
    weight_decay : float or "auto", default="auto"
        Weight decay.  ``"auto"``: ``1e-3`` below 5,000 training samples
        (small sets over-fit the default network), else 0.
    {{batch_size, device, random_state, distributed, callbacks, train_split, verbose}}

    Attributes
    ----------
    module_ : EmbeddingNet
        The trained network (backbone and heads), on the CPU, in eval mode.
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Class labels; for multi-label ``y``, ``[0, 1]`` for every label.
    n_labels_ : int
        Number of heads: 1, or the number of columns of a multi-label ``y``.
    margin_between_ : ndarray of shape (`n_labels_`,)
        ``a1`` used for each head (that of its most frequent class).
    class_margins_between_ : list of ndarray of shape (n_classes,)
        Per head, the between-class margin of each class (``margin_power``).
    margin_within_ : ndarray of shape (`n_labels_`,)
        ``a2`` used for each head.
    {{input_shape_}}
    hidden_units_, cluster_size_, n_samples_per_cluster_ : tuple, int, int
        The settings used: the parameters, or what ``"auto"`` resolved to.
    epochs_, steps_per_round_, weight_decay_ : int, int, float
        The settings used (``epochs_``: the passes made), as resolved.
    best_round_ : int or None
        The round the budget was read at from a validation curve (the
        earliest within one standard error of the lowest held-out head
        loss; the lowest ``valid_loss`` without a softmax term), else
        ``None``.
    budget_ : Budget
        The training budget used (``warmup_epochs``, ``n_rounds``,
        ``steps_per_round``, ``batch``, ``n_samples``, ``epochs``), stopped
        at ``best_round_`` for a curve; ``budget_.params()`` repeats it.
    softmax_head_ : torch.nn.ModuleList
        The linear classifier of the softmax term on each head, kept from
        training (see ``head_log_proba``), on the CPU.
    history_ : skorch.history.History
        skorch's history of the fit: one row (skorch epoch) per warm-up
        epoch (``phase="warmup"``) and per round (``phase="cluster"``, with
        ``round``, ``n_clusters`` and ``cluster_sizes`` per label), with
        skorch's ``epoch``, ``train_loss`` (batch-size weighted), ``batches``
        and ``dur``; ``step_loss`` lists the loss of every step; with a
        ``train_split``, ``valid_loss`` (see Notes).
    {{callbacks_, world_size_, n_features_in_, feature_names_in_}}

    See Also
    --------
    KNearestClusterClassifier : The k-nearest-cluster rule (Eq. 10) to use on
        these embeddings.
    SphericalKMeans : The per-class clustering.

    Notes
    -----
    Loss (Eq. 9) with ``s_k = scale * f(x)^T mu_k``, ``mu_k`` the unnormalised
    mean of the sampled members of cluster ``k``: ``[lse_{other class} s_k -
    s_m + scale a1]_+ + [lse_{same class, k != m} s_k - s_m + scale a2]_+``,
    an empty set contributing 0.  See ``ClusterLoss``.

    Multi-label ``y`` (``T`` columns): one head per label, each with its own
    clusters and loss term (see the user guide); ``transform`` returns the
    ``T`` embeddings side by side, label ``j`` in columns ``j * d`` onward.

    {{failure_notes}}

    ``scale`` (64) deviates from the paper, which has none: with unit
    cosines the loss barely separates clusters.

    {{phases_notes}}
    In a round, ``valid_loss`` puts each held-out row in its class's nearest
    training cluster.

    {{data_parallel_notes}}

    {{references_clmle}}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle import CLMLEEmbedder
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (40, 5)), rng.normal(3, 1, (10, 5))]
    >>> y = np.r_[np.zeros(40, int), np.ones(10, int)]
    >>> emb = CLMLEEmbedder(embedding_dim=8, hidden_units=(16,), cluster_size=10,
    ...                     n_clusters_per_batch=4, n_samples_per_cluster=5,
    ...                     n_rounds=2, steps_per_round=5, warmup_epochs=2,
    ...                     random_state=0)
    >>> Z = emb.fit_transform(X, y)
    >>> Z.shape, Z.dtype
    ((50, 8), dtype('float32'))
    >>> np.allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
    True
    >>> emb.history_[-1, "n_clusters"]
    [5]
    """

    _parameter_constraints = {
        **SHARED_CONSTRAINTS,
        **WARMUP_CONSTRAINTS,
        "hidden_units": [tuple, StrOptions({"auto"})],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "cluster_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "n_clusters_per_batch": [Interval(Integral, 2, None, closed="left")],
        "n_samples_per_cluster": [StrOptions({"auto"}),
                                  Interval(Integral, 1, None, closed="left")],
        "margin_between": [StrOptions({"auto"}),
                          Interval(Real, 0, F32_MAX, closed="left")],
        "margin_power": [Interval(Real, 0, F32_MAX, closed="left")],
        "margin_within": [StrOptions({"auto"}),
                         Interval(Real, 0, F32_MAX, closed="left")],
        "scale": [Interval(Real, 0, F32_MAX, closed="neither")],
        "query": [StrOptions({"hardest", "uniform"})],
        "cost_sensitive": ["boolean"],
        "n_rounds": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "steps_per_round": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "epochs": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "softmax_weight": [Interval(Real, 0, F32_MAX, closed="left")],
        "weight_decay": [StrOptions({"auto"}),
                         Interval(Real, 0, F32_MAX, closed="left")],
    }

    _multi_output_y = True  # multi-label indicator matrices

    _test_params = EMBEDDER_TEST_PARAMS

    def __init__(
        self,
        module=None,
        *,
        input_shape=None,
        hidden_units="auto",
        embedding_dim=64,
        cluster_size="auto",
        n_clusters_per_batch=12,
        n_samples_per_cluster="auto",
        margin_between="auto",
        margin_power=0.25,
        margin_within="auto",
        scale=64.0,
        query="hardest",
        cost_sensitive=True,
        n_rounds="auto",
        steps_per_round="auto",
        epochs="auto",
        warmup_epochs=5,
        warmup_class_weight="logit_adjusted",
        warmup_batch_size=None,
        softmax_weight=1.0,
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay="auto",
        batch_size=256,
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
        self.embedding_dim = embedding_dim
        self.cluster_size = cluster_size
        self.n_clusters_per_batch = n_clusters_per_batch
        self.n_samples_per_cluster = n_samples_per_cluster
        self.margin_between = margin_between
        self.margin_power = margin_power
        self.margin_within = margin_within
        self.scale = scale
        self.query = query
        self.cost_sensitive = cost_sensitive
        self.n_rounds = n_rounds
        self.steps_per_round = steps_per_round
        self.epochs = epochs
        self.warmup_epochs = warmup_epochs
        self.warmup_class_weight = warmup_class_weight
        self.warmup_batch_size = warmup_batch_size
        self.softmax_weight = softmax_weight
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.distributed = distributed
        self.callbacks = callbacks
        self.train_split = train_split
        self.verbose = verbose
        self._set_module_params(module_params)

    def _build_net(self, Y):
        backbone, width = self._backbone(self.hidden_units_)
        return SoftmaxModel(
            EmbeddingNet(backbone, width, self.embedding_dim, Y.shape[1], self.input_shape_),
            softmax_classifiers(Y, self.embedding_dim, self._multilabel))

    def _fit(self, X, y):
        X, Y, valid = self._hold_out(X, self._encode_targets(y))
        self.n_labels_ = Y.shape[1]
        self.margin_between_, self.margin_within_ = margins(
            Y, self.margin_between, self.margin_within, self.embedding_dim)
        self.class_margins_between_ = class_margins(
            Y, self.margin_between_, self.margin_power)
        n_classes = max(len(np.unique(Y[:, j])) for j in range(Y.shape[1]))
        settings = resolve(self, X.shape[0], int(np.prod(X.shape[1:])), n_classes)
        budget = Budget.of(self, batch=settings.batch, n_samples=X.shape[0],
                           curve=valid is not None)
        for name in ("hidden_units", "cluster_size", "n_samples_per_cluster",
                     "weight_decay"):
            setattr(self, f"{name}_", getattr(settings, name))
        self.n_rounds_, self.steps_per_round_ = budget.n_rounds, budget.steps_per_round
        callbacks, monitor = self.callbacks, None
        if budget.curve:
            extra, monitor = curve_monitor(self._multilabel, settings.softmax_weight)
            callbacks = [*(callbacks or []), *extra,
                         ("curve_budget", curve_stopping(monitor, self.verbose))]
        model, self.history_ = self._train_module(
            X, Y, lambda: self._build_net(Y),
            lambda model, X_t, device, rng, dp: train(
                X_t, Y, device, dp,
                **clmle_phases(settings, budget, model, X_t, Y, rng, dp,
                               self.class_margins_between_, self.margin_within_,
                               self._multilabel),
                verbose=self.verbose, callbacks=callbacks, valid=valid),
        )
        self.module_, self.softmax_head_ = model.net, model.classifiers
        self.best_round_ = best_round(self.history_, monitor) if monitor else None
        self.budget_ = budget.up_to(self.best_round_) if monitor else budget
        self.epochs_ = self.budget_.epochs

    def head_log_proba(self, X):
        """Log-probabilities of the softmax head kept from training.

        The softmax term's linear classifier on the raw head, without the
        training offset (for ``warmup_class_weight="logit_adjusted"`` an
        estimate of the class-balanced posterior); single-label ``y`` only.

        {{params_X_samples}}

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes), float64
            Rows are log-probabilities over ``classes_``.
        """
        check_is_fitted(self)
        if self.n_labels_ != 1:
            raise ValueError(
                "head_log_proba is defined for single-label y; this "
                f"CLMLEEmbedder was fitted on {self.n_labels_} labels.")
        return head_log_proba(self.module_, self.softmax_head_[0],
                              self._validate_X(X, reset=False)[0], self.batch_size,
                              resolve_device(self.device))

    @property
    def _n_heads(self):
        return self.n_labels_
