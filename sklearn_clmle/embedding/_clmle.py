"""CLMLEEmbedder: a torch backbone trained with the cluster-based large-margin loss."""

import math
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin

from ..utils._persistence import VersionedPickleMixin, unfit_on_failure
from ..utils._validation import Interval, StrOptions, _fit_context
from ._auto import resolve
from ._base import (
    F32_MAX,
    SHARED_CONSTRAINTS,
    WARMUP_CONSTRAINTS,
    EmbedderMixin,
    TorchInputMixin,
)
from ._targets import encode_targets
from .losses.cluster import ClusterLoss
from .losses.longtail import SoftmaxTerm
from .nn.backbones import EmbeddingNet
from .samplers.cluster_batches import ClusterBatchSampler
from .samplers.clustering import PerClassClustering
from .training.clmle_rounds import cluster_rounds, train
from .training.engine import OptimizerSpec, Schedule


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
        A ``torch.nn.Module`` *class* is instantiated at ``fit`` with the
        ``module__*`` parameters, e.g. ``module=MyNet, module__width=64``;
        they are parameters like any other (``get_params``, ``set_params``,
        ``GridSearchCV``), as in skorch.
    input_shape : tuple of int or None, default=None
        Shape of one sample as the module expects it, when ``X`` is flat
        (e.g. ``(28, 28)`` for 784 pixel columns).  ``None``: ``X.shape[1:]``.
    hidden_units : tuple of int or "auto", default="auto"
        Widths of the default MLP (ignored when ``module`` is given).
        ``"auto"``: ``(w, w // 2)`` with ``w`` the power of two at or above
        four times the number of input features, between 64 and 256 (so
        ``(256, 128)`` for images, ``(64, 32)`` for a 10-column table).
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
        ``a1``, in cosine units.  ``"auto"``: half the bound of Section 3.2,
        ``0.5 * (1 - cos(2 pi / C))`` with ``C`` classes.
    margin_power : float, default=0.25
        Larger between-class margins for rarer classes: class ``c`` uses
        ``a1 * min((n_max / n_c) ** margin_power, 2)``, with ``n_max`` the
        largest class (LDAM's ``n_c ** -1/4`` rule, Cao et al. 2019, inside
        Eq. 9); at most twice ``a1``, which for the ``"auto"`` margin is the
        Section 3.2 bound.  ``0`` gives every class the same ``a1``, as in the
        paper.  See Notes for what it did on validation splits.
    margin_within : float or "auto", default="auto"
        ``a2``, in cosine units.  ``"auto"``: half the tightest bound of
        Section 3.2 over the classes, ``0.5 * (1 - cos(2 pi min_c n_c / n))``.
    scale : float, default=64.0
        Multiplies the similarities and the margins in the loss (an inverse
        temperature); ``1.0`` is the paper's loss.  The default was chosen on a
        validation split of long-tailed Fashion-MNIST (see Notes).
        ``KNearestClusterClassifier()`` chooses its own temperature for these
        embeddings (``scale="auto"``, on held-out training samples); on our
        validation embeddings it picked 4 to 64, mostly 8 to 16.
    query : {"hardest", "uniform"}, default="hardest"
        Query cluster of the drawn class: the one with the highest mean cached
        loss (Section 3.3), or one at random (the ablation).
    cost_sensitive : bool, default=True
        Weight each sample's loss by the inverse frequency of its class in the
        batch.
    n_rounds : int, default=5
        Alternation rounds (re-clustering followed by training steps).
    steps_per_round : int or "auto", default="auto"
        Optimiser steps per round.  ``"auto"``: the steps that make warm-up
        and rounds together see ``epochs`` passes over the training set.
    epochs : int or "auto", default="auto"
        Training budget in passes over the training set, warm-up included;
        used only to set ``steps_per_round="auto"``.  ``"auto"``:
        ``clip(60000 / n, 15, 100)`` for ``n`` training samples (15 passes
        from 4,000 samples up, 100 below 600).
    warmup_epochs : int, default=5
        Epochs of softmax training of the backbone and heads before the first
        clustering (a linear classifier on each head, discarded afterwards).
        ``0`` skips the warm-up, e.g. for a pre-trained ``module``.
    warmup_class_weight : {"balanced", "logit_adjusted"} or None, \
            default="logit_adjusted"
        Imbalance handling of the warm-up cross-entropy (per label, binary
        cross-entropy, for multi-label ``y``) and of the softmax term below:
        ``"balanced"`` weighs each class by ``n / (C n_c)``;
        ``"logit_adjusted"`` adds ``log(n_c / n)`` to the training logits
        (``log(n_pos / n_neg)`` per label), Menon et al.'s logit adjustment;
        ``None``: plain cross-entropy.  The logit-adjusted default was
        chosen on validation splits (``benchmarks/results/clmle/ablation.md``);
        the paper's warm-up is plain softmax pre-training.
    warmup_batch_size : int or None, default=None
        Batch size of the warm-up; ``None``: the cluster-phase batch size
        ``n_clusters_per_batch * n_samples_per_cluster``.
    softmax_weight : float, default=1.0
        Weight of the warm-up's softmax loss (same classifiers, same class
        weights), kept as an auxiliary term next to the cluster loss during the
        rounds.  ``0`` trains the rounds with the cluster loss alone, as in the
        paper.  With the logit-adjusted softmax, ``1.0`` raised balanced
        accuracy on validation splits by about 0.5 points on long-tailed
        Fashion-MNIST and 1.2 on digits, and on the suite's test splits by
        about 2 points on digits and 4-5 on the yeast table, within noise on
        Fashion-MNIST (``benchmarks/results/clmle/ablation.md``).
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Optimiser of both phases (``"sgd"`` uses momentum 0.9); a class is
        called as ``optimizer(params, lr=..., weight_decay=...)``.
    learning_rate : float, default=1e-3
        Learning rate.
    weight_decay : float or "auto", default="auto"
        Weight decay.  ``"auto"``: ``1e-3`` below 5,000 training samples
        (small sets over-fit the default network), else 0.
    batch_size : int, default=256
        Rows per forward pass in ``transform`` and feature re-extraction.  On
        a CPU the default small CNN ran about twice as fast at 240 rows as at
        1024 (its activations stay in cache) and the MLP 15 % slower
        (``benchmarks/results/embedder/embedder.md``); raise it on a GPU.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device for training and ``transform``; ``"auto"``: CUDA when
        available.  The fitted module is always stored on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, batch sampling and k-means.
        With an int, fitting twice on the CPU gives the same embeddings.  The
        global torch random state is left as it was.
    distributed : "auto" or bool, default="auto"
        Data-parallel training over ``torch.distributed`` (see Notes).
        ``"auto"``: when the script has initialised the default process group
        with more than one process (e.g. launched with ``torchrun
        --nproc_per_node=N``), the processes train one model together, each
        on its slice of every batch; otherwise a plain fit.  ``True``: the
        same, and an error without a process group.  ``False``: a plain,
        independent fit on every process.
    callbacks : list of skorch callbacks or None, default=None
        skorch callbacks (or ``(name, callback)`` pairs) run during ``fit``,
        which runs on skorch's ``NeuralNet`` with one skorch epoch per warm-up
        epoch and per round, e.g. ``EarlyStopping(monitor="train_loss")``,
        ``LRScheduler``, ``Checkpoint``.  Each is cloned at ``fit``; the
        objects passed are not changed.
    verbose : int, default=0
        If positive, skorch's table of the epochs (one row per warm-up epoch
        and per round: ``train_loss``, ``dur``, the callbacks' scores).

    Attributes
    ----------
    module_ : EmbeddingNet
        The trained network (backbone and heads), on the CPU, in eval mode.
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Class labels; for multi-label ``y``, ``[0, 1]`` for every label.
    n_labels_ : int
        Number of heads: 1, or the number of columns of a multi-label ``y``.
    margin_between_ : ndarray of shape (n_labels_,)
        ``a1`` used for each head (that of its most frequent class).
    class_margins_between_ : list of ndarray of shape (n_classes,)
        Per head, the between-class margin of each class (``margin_power``).
    margin_within_ : ndarray of shape (n_labels_,)
        ``a2`` used for each head.
    input_shape_ : tuple of int
        Shape of one sample as fed to the backbone.
    hidden_units_, cluster_size_, n_samples_per_cluster_, epochs_, \
            steps_per_round_, weight_decay_ : tuple, int, int, int, int, float
        The settings used: the parameters, or what ``"auto"`` resolved to.
    history_ : skorch.history.History
        skorch's history of the fit: one row (skorch epoch) per warm-up
        epoch (``phase="warmup"``) and per round (``phase="cluster"``, with
        ``round``, ``n_clusters`` and ``cluster_sizes`` per label), with
        skorch's ``epoch``, ``train_loss`` (batch-size weighted), ``batches``
        and ``dur``; ``step_loss`` lists the loss of every step.  For
        instance ``history_[-1, "step_loss"]`` or ``history_[:, "train_loss"]``.
    world_size_ : int
        Number of processes that trained the model (1 for a plain fit).
    n_features_in_ : int
        Number of features (``X.shape[1]``) seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit; only when ``X`` has string feature
        names.

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

    Multi-label ``y`` (an indicator matrix with ``T`` columns): one head per
    label on the shared backbone, each with its own per-class clusters and
    loss term; step ``t`` draws its batch with the sampler of label ``t mod
    T`` and the loss is the mean of the ``T`` terms on that batch, each sample
    grouped by its cluster in that label (the cost-sensitive weights balance
    the labels the batch was not drawn for).  ``transform`` returns the ``T``
    unit-norm embeddings side by side: columns ``j * d .. (j + 1) * d - 1``
    belong to label ``j``.

    A ``fit`` that fails (an exception from a user ``module``, a non-finite
    loss) or is interrupted (``KeyboardInterrupt``, e.g. Ctrl-C) re-raises
    the exception, with a note naming the training step (warm-up epoch and
    batch, or round and step), and leaves the estimator unfitted, as a new
    one (no half-trained module is kept); the global torch random state is
    restored.  Pickles hold
    the module on the CPU, so a model trained on a GPU loads and transforms on
    a machine without one (with ``device="auto"`` or ``"cpu"``); loading by
    another version of sklearn-clmle warns with
    ``sklearn_clmle.exceptions.InconsistentVersionWarning``.

    Inputs are used as they are (scale pixels to ``[0, 1]`` yourself).
    ``transform`` converts one batch of rows at a time, so it needs the output
    plus ``batch_size`` rows of float32 memory.

    Cost: each round re-embeds the whole training set (one inference pass)
    and re-clusters every class; each step adds the cluster loss and the
    batch sampler, a few dozen small array operations, to the backbone's
    forward and backward passes.  On a 2-core CPU, with re-clustering every
    2 epochs, a whole ``fit`` with the default CNN ran at a median 0.96x the
    samples per second of plain cross-entropy on the same backbone and batch,
    and with a small MLP (a ~5 ms step) at 0.68x
    (``benchmarks/results/embedder/embedder.md``).  With a small backbone, fewer
    rounds with more ``steps_per_round`` are the lever: there, 1 to 10
    rounds in the same budget gave the same validation accuracy within noise.

    The default ``scale=64`` is a deviation from the paper (which has no
    scale): with unit cosines the loss barely separates clusters.  On a
    validation split carved from the long-tailed (ratio 100) Fashion-MNIST
    training set, the k-nearest-cluster rule on the embeddings reached 81.5 %
    balanced accuracy with scale 16, 82.2 % with 32 and 82.7 % with 64 (noise
    about +-1), and 64 stayed best once the classifier's ``prior_correction``
    was searched too (``benchmarks/bench_embedder.py``,
    ``benchmarks/results/embedder/embedder.md``).

    ``margin_power=0.25`` (per-class between-class margins, LDAM's exponent)
    was chosen on validation splits, 6 seeds each, against equal margins
    (``0``, the paper's): +2.1 +- 0.6 points of balanced accuracy on digits
    with imbalance ratio 50 and +1.6 +- 0.7 on the yeast table, within
    noise (-0.1 to -0.4) on digits IR 10, Fashion-MNIST IR 10 / IR 100 and
    page-blocks; ``0.5`` cost Fashion-MNIST IR 100 0.8 +- 0.3
    (``benchmarks/bench_clmle_levers.py``,
    ``benchmarks/results/clmle/levers.md``).

    Data-parallel training (``distributed``): under ``torchrun``, every rank
    calls ``fit`` with the same full ``X, y`` (checked; gather per-rank shards
    first) and ends with the same model, that of a 1-process fit up to float
    rounding; ``device=f"cuda:{local_rank}"`` on GPUs.  How the batches, the
    loss and the re-clustering are shared: ``sklearn_clmle.embedding.training
    .distributed``; a launch script: ``examples/torchrun_fit.py``.

    References
    ----------
    Huang, Li, Loy & Tang, "Deep Imbalanced Learning for Face Recognition and
    Attribute Prediction", IEEE TPAMI, 2019.

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
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "steps_per_round": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "epochs": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "softmax_weight": [Interval(Real, 0, F32_MAX, closed="left")],
        "weight_decay": [StrOptions({"auto"}),
                         Interval(Real, 0, F32_MAX, closed="left")],
    }

    _multi_output_y = True  # multi-label indicator matrices

    # Tiny settings for the scikit-learn estimator checks (tests/test_common.py).
    _test_params = {
        "hidden_units": (8,),
        "embedding_dim": 4,
        "cluster_size": 5,
        "n_clusters_per_batch": 3,
        "n_samples_per_cluster": 3,
        "n_rounds": 2,
        "steps_per_round": 2,
        "warmup_epochs": 1,
        "device": "cpu",
    }

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
        n_rounds=5,
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
        self.verbose = verbose
        self._set_module_params(module_params)

    # -- validation helpers -------------------------------------------------

    def _encode_targets(self, y):
        """``Y`` of shape (n_samples, n_labels), int64 class indices (0/1 for
        multi-label ``y``); sets ``classes_`` and ``_multilabel``."""
        targets = encode_targets(y, type(self).__name__, warn_column=False)
        self._multilabel = targets.multilabel
        if targets.multilabel:
            self.classes_ = [np.array([0, 1]) for _ in targets.classes]
            return targets.encoded.astype(np.int64)
        self.classes_ = targets.classes
        return targets.encoded[:, None]

    def _margins(self, Y):
        a1, a2 = [], []
        for j in range(Y.shape[1]):
            counts = np.bincount(Y[:, j])
            counts = counts[counts > 0]
            bound1 = 1 - math.cos(2 * math.pi / len(counts))
            bound2 = 1 - math.cos(2 * math.pi * counts.min() / counts.sum())
            auto1, auto2 = 0.5 * bound1, 0.5 * bound2
            a1.append(auto1 if self.margin_between == "auto" else self.margin_between)
            a2.append(auto2 if self.margin_within == "auto" else self.margin_within)
        return np.array(a1, dtype=float), np.array(a2, dtype=float)

    def _class_margins(self, Y):
        """Per head, ``a1 * min((n_max / n_c) ** margin_power, 2)`` for each
        class (a label's absent class counts as one sample)."""
        margins = []
        for j, a1 in enumerate(self.margin_between_):
            counts = np.maximum(np.bincount(Y[:, j], minlength=2), 1)
            factor = np.minimum((counts.max() / counts) ** self.margin_power, 2.0)
            margins.append(a1 * factor)
        return margins

    def _build_net(self, n_heads):
        backbone, width = self._backbone(self.hidden_units_)
        return EmbeddingNet(
            backbone, width, self.embedding_dim, n_heads, self.input_shape_
        )

    # -- public API ----------------------------------------------------------

    @unfit_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the backbone and heads with the CLMLE loss.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or \
                (n_samples, height, width) or (n_samples, channels, height, width)
            Training samples (numeric, finite).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a binary indicator matrix for multi-label data.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._validate_X(X, reset=True, y=y)
        Y = self._encode_targets(y)
        self._input_layout = tuple(X.shape[1:])
        self.input_shape_ = self._sample_shape(X)
        self.n_labels_ = Y.shape[1]
        self.margin_between_, self.margin_within_ = self._margins(Y)
        self.class_margins_between_ = self._class_margins(Y)
        settings = resolve(self, X.shape[0], int(np.prod(X.shape[1:])))
        for name in ("hidden_units", "cluster_size", "n_samples_per_cluster",
                     "epochs", "steps_per_round", "weight_decay"):
            setattr(self, name + "_", getattr(settings, name))
        parts = self._training_parts(settings, Y)
        self.module_, self.history_ = self._train_module(
            X, Y, lambda: self._build_net(self.n_labels_),
            lambda net, X_t, device, rng, dp: train(net, X_t, Y, device, rng, dp,
                                                    **parts),
        )
        return self

    def _training_parts(self, s, Y):
        """What the training loops receive (``training.clmle_rounds``): the
        softmax term's factory, the schedule, the optimiser, and the cluster
        rounds with their losses, clustering and batch sampler, all from the
        resolved settings ``s``."""
        optimizer = OptimizerSpec(s.optimizer, s.learning_rate, s.weight_decay)
        schedule = Schedule(s.warmup_epochs, s.warmup_batch, s.n_rounds,
                            s.steps_per_round, s.batch_size)
        rounds = partial(
            cluster_rounds,
            losses=[ClusterLoss(a1, a2, s.scale, s.cost_sensitive)
                    for a1, a2 in zip(self.class_margins_between_,
                                      self.margin_within_)],
            cluster=PerClassClustering(s.cluster_size),
            batches=partial(ClusterBatchSampler,
                            n_clusters_per_batch=s.n_clusters_per_batch,
                            n_per_cluster=s.n_samples_per_cluster, query=s.query),
            schedule=schedule, softmax_weight=s.softmax_weight,
        )
        softmax = partial(SoftmaxTerm, Y, self.embedding_dim, self._multilabel,
                          s.warmup_class_weight)
        return dict(softmax=softmax, schedule=schedule, rounds=rounds,
                    optimizer=optimizer, verbose=self.verbose,
                    callbacks=self.callbacks)

    @property
    def _n_heads(self):
        return self.n_labels_
