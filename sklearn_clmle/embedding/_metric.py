"""MetricEmbedder: the metric-learning baselines (triplet, LMLE) on the CLMLE
backbone, with the same warm-up and training budget."""

from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin

from ..cluster._per_class import PerClassClustering
from ..utils._persistence import VersionedPickleMixin
from ..utils._samplers import ClassBalancedBatchSampler, ClusterBatchSampler
from ..utils._validation import Interval, StrOptions
from ._base import (
    EMBEDDER_TEST_PARAMS,
    F32_MAX,
    SHARED_CONSTRAINTS,
    WARMUP_CONSTRAINTS,
    TorchInputMixin,
)
from ._budget import Budget
from ._docs import fill_doc
from ._embedder import EmbedderMixin
from .losses.longtail import SoftmaxTerm, softmax_classifiers
from .losses.metric import BatchHardTripletLoss, QuintupletLoss
from .nn.backbones import EmbeddingNet
from .training.clmle_rounds import SoftmaxModel, train, warmup_phase
from .training.engine import OptimizerSpec, Schedule
from .training.metric_rounds import metric_rounds

# A triplet batch may exceed the training set (small classes are drawn with
# replacement) up to this many rows.
_MAX_SMALL_BATCH = 1024


@fill_doc
class MetricEmbedder(
    ClassNamePrefixFeaturesOutMixin,
    EmbedderMixin,
    TorchInputMixin,
    VersionedPickleMixin,
    BaseEstimator,
):
    """Learn unit-norm embeddings with a triplet or an LMLE quintuplet loss.

    The metric-learning baselines of the CLMLE paper (Huang et al., Sections
    3.1 and 5), on the backbone of :class:`CLMLEEmbedder` and under the same
    budget: the same optional softmax warm-up, then ``n_rounds`` x
    ``steps_per_round`` optimiser steps of the chosen loss on unit-norm
    embeddings, with Euclidean distances ``D`` (in ``[0, 2]`` on the sphere).

    - ``loss="triplet"``: FaceNet's triplet loss (Schroff et al., 2015) with
      batch-hard mining (Hermans et al., 2017): every sample of the batch is
      an anchor, with its farthest same-class and its nearest other-class
      sample in the batch, ``[triplet_margin + D(a, p) - D(a, n)]_+``.
      Batches are class-balanced, ``n_classes_per_batch`` (P) classes drawn
      uniformly without replacement and ``n_samples_per_class`` (K) samples
      of each, drawn *with replacement* from a class with fewer than K.
    - ``loss="lmle"``: the quintuplet loss of LMLE (Eq. 5, triple-header
      hinge).  At the start of every round each class is split into
      ``max(1, n_c // cluster_size)`` equal-size clusters by spherical k-means
      on freshly extracted embeddings, as in CLMLE.  A batch is a class drawn
      uniformly, one of its clusters at random and the
      ``n_clusters_per_batch - 1`` clusters with the nearest centroids (same-
      and other-class clusters both present when they exist), with
      ``n_samples_per_cluster`` members each (with replacement from smaller
      clusters).  In the batch, every sample is an anchor whose ``p+`` (most
      distant same-cluster sample), ``p-`` (nearest same-class sample of
      another cluster), ``p--`` (most distant same-class sample) and ``n``
      (nearest other-class sample) are found from the distance matrix;
      ``loss = [g1 + D(a,p+) - D(a,p-)]_+ + [g2 + D(a,p-) - D(a,p--)]_+ +
      [g3 + D(a,p--) - D(a,n)]_+``.

    Parameters
    ----------
    module : torch.nn.Module, torch.nn.Module subclass or None, default=None
        The backbone (copied, never modified); a linear head to
        ``embedding_dim`` is added on top.  ``None``: the default backbone of
        :class:`CLMLEEmbedder` (an MLP with ``hidden_units`` for flat
        features, a small CNN for images).
        {{module_class_notes}}
    {{input_shape, hidden_units}}
    embedding_dim : int, default=64
        Dimension of the embedding.
    loss : {"triplet", "lmle"}, default="triplet"
        The metric loss (see above).
    triplet_margin : float, default=0.2
        Margin of the triplet loss, in Euclidean distance (not squared, as in
        Hermans et al.; FaceNet's 0.2 was on squared distances).
    lmle_margins : tuple of 3 floats, default=(0.1, 0.1, 0.2)
        ``(g1, g2, g3)`` of the quintuplet loss, in Euclidean distance.  The
        paper gives no values; these were picked by a quick sanity run (see
        Notes).
    n_classes_per_batch : int, default=12
        P, classes per triplet batch (all classes when there are fewer).
    n_samples_per_class : int, default=20
        K, samples per class in a triplet batch.
    cluster_size : int, default=200
        LMLE: class ``c`` gets ``max(1, n_c // cluster_size)`` clusters.
    n_clusters_per_batch : int, default=12
        LMLE: clusters in one batch (all of them if there are fewer).
    n_samples_per_cluster : int, default=20
        LMLE: samples drawn from each batch cluster.
    n_rounds : int or "auto", default=5
        Rounds of training after the warm-up (LMLE re-clusters at the start
        of each).  ``"auto"``: 5, as :class:`CLMLEEmbedder`'s.
    steps_per_round : int or "auto", default=300
        Optimiser steps per round.  ``"auto"``: the steps that make warm-up
        and rounds together see ``epochs`` passes over the training set, as
        :class:`CLMLEEmbedder`'s.
    epochs : int or "auto", default="auto"
        Training budget in passes over the training set, warm-up included;
        used only by ``steps_per_round="auto"``.  ``"auto"``: ``clip(60000 /
        n, 15, 100)`` for ``n`` training samples, :class:`CLMLEEmbedder`'s.
    warmup_epochs : int, default=5
        Epochs of softmax training before the metric loss, exactly as in
        :class:`CLMLEEmbedder` (a linear classifier on the head, discarded
        afterwards); ``0`` skips it.
    warmup_class_weight : {"balanced", "logit_adjusted"} or None, default="balanced"
        Imbalance handling of the warm-up cross-entropy, as in
        :class:`CLMLEEmbedder`.
    warmup_batch_size : int or None, default=None
        Batch size of the warm-up; ``None``: the metric batch size (``P * K``
        for the triplet loss, ``n_clusters_per_batch * n_samples_per_cluster``
        for LMLE).
    {{optimizer, learning_rate}}
    weight_decay : float, default=0.0
        Weight decay.
    {{batch_size, device, random_state, distributed, callbacks, train_split, verbose}}

    Attributes
    ----------
    module_ : EmbeddingNet
        The trained network (backbone and one head), on the CPU, in eval mode.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    {{input_shape_}}
    budget_ : Budget
        The training budget used, with ``"auto"`` resolved:
        ``warmup_epochs``, ``n_rounds``, ``steps_per_round``, ``batch`` (rows
        a step), ``n_samples`` and ``epochs`` (see :class:`CLMLEEmbedder`).
    history_ : skorch.history.History
        One row per warm-up epoch (``phase="warmup"``) and per round
        (``phase`` the loss name, with ``round``, ``step_loss``,
        ``train_loss``, ``dur``; for LMLE also ``n_clusters`` and
        ``cluster_sizes`` of that round's clustering; with a ``train_split``,
        ``valid_loss``, see Notes).
    {{callbacks_, world_size_, n_features_in_, feature_names_in_}}

    See Also
    --------
    CLMLEEmbedder : The cluster-based large-margin embedding these baselines
        are compared with.
    LongTailNetClassifier : The softmax-loss baselines on the same backbone.

    Notes
    -----
    Both losses are means over all anchors of the batch.  An anchor lacking a
    role contributes nothing for the terms that need it: a triplet anchor
    without a positive or negative in the batch; an LMLE anchor whose class
    has a single cluster in the batch keeps only the ``g3`` term (no ``p-``),
    and one with no other sample of its class has no term.  Samples drawn
    twice are distinct anchors (at distance 0 from each other).

    Only single-label ``y``: a multi-label indicator matrix is refused (use
    :class:`CLMLEEmbedder` for multi-label data).

    The default ``lmle_margins`` come from a quick sanity run on long-tailed
    digits, not a tuning: halving or doubling them made no difference beyond
    the spread between seeds.  Search them with ``GridSearchCV`` on real
    data.

    {{failure_notes}}

    {{phases_notes}}
    In a round, ``valid_loss`` is the metric loss with the held-out rows as
    the batch: the triplet loss mined over all of them (batch-hard), or
    LMLE's quintuplet loss with each held-out row in the cluster of its own
    class, among that round's clusters of the training rows, whose centroid
    has the highest cosine with the row's embedding.  Both mine the pairwise
    distances of the held-out rows: a few matrices of ``n_valid ** 2``
    floats (1 GB each at 16,000 held-out rows).

    {{data_parallel_notes}}

    References
    ----------
    Schroff, Kalenichenko & Philbin, "FaceNet: A Unified Embedding for Face
    Recognition and Clustering", CVPR 2015.
    Hermans, Beyer & Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", arXiv:1703.07737, 2017.
    Huang, Li, Loy & Tang, "Learning Deep Representation for Imbalanced
    Classification", CVPR 2016 (LMLE), and "Deep Imbalanced Learning for Face
    Recognition and Attribute Prediction", IEEE TPAMI, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle import MetricEmbedder
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (40, 5)), rng.normal(3, 1, (10, 5))]
    >>> y = np.r_[np.zeros(40, int), np.ones(10, int)]
    >>> emb = MetricEmbedder(loss="lmle", embedding_dim=8, hidden_units=(16,),
    ...                      cluster_size=10, n_clusters_per_batch=4,
    ...                      n_samples_per_cluster=5, n_rounds=2,
    ...                      steps_per_round=5, warmup_epochs=2, random_state=0)
    >>> Z = emb.fit_transform(X, y)
    >>> Z.shape, Z.dtype
    ((50, 8), dtype('float32'))
    >>> np.allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
    True
    >>> emb.history_[:, "phase"], emb.history_[-1, "n_clusters"]
    (['warmup', 'warmup', 'lmle', 'lmle'], 5)
    """

    _parameter_constraints = {
        **SHARED_CONSTRAINTS,
        **WARMUP_CONSTRAINTS,
        "hidden_units": [tuple],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions({"triplet", "lmle"})],
        "triplet_margin": [Interval(Real, 0, F32_MAX, closed="left")],
        "lmle_margins": ["array-like"],
        "n_classes_per_batch": [Interval(Integral, 2, None, closed="left")],
        "n_samples_per_class": [Interval(Integral, 2, None, closed="left")],
        "cluster_size": [Interval(Integral, 1, None, closed="left")],
        "n_clusters_per_batch": [Interval(Integral, 2, None, closed="left")],
        "n_samples_per_cluster": [Interval(Integral, 1, None, closed="left")],
        "n_rounds": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "steps_per_round": [StrOptions({"auto"}),
                            Interval(Integral, 0, None, closed="left")],
        "epochs": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, F32_MAX, closed="left")],
    }

    _multi_output_y = True  # 2-D y reaches _encode_targets, which explains the refusal
    _multilabel_refusal = "multi-label y is not supported: use CLMLEEmbedder"

    _test_params = {**EMBEDDER_TEST_PARAMS, "n_classes_per_batch": 3,
                    "n_samples_per_class": 3}

    def __init__(
        self,
        module=None,
        *,
        input_shape=None,
        hidden_units=(256, 128),
        embedding_dim=64,
        loss="triplet",
        triplet_margin=0.2,
        lmle_margins=(0.1, 0.1, 0.2),
        n_classes_per_batch=12,
        n_samples_per_class=20,
        cluster_size=200,
        n_clusters_per_batch=12,
        n_samples_per_cluster=20,
        n_rounds=5,
        steps_per_round=300,
        epochs="auto",
        warmup_epochs=5,
        warmup_class_weight="balanced",
        warmup_batch_size=None,
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
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
        self.loss = loss
        self.triplet_margin = triplet_margin
        self.lmle_margins = lmle_margins
        self.n_classes_per_batch = n_classes_per_batch
        self.n_samples_per_class = n_samples_per_class
        self.cluster_size = cluster_size
        self.n_clusters_per_batch = n_clusters_per_batch
        self.n_samples_per_cluster = n_samples_per_cluster
        self.n_rounds = n_rounds
        self.steps_per_round = steps_per_round
        self.epochs = epochs
        self.warmup_epochs = warmup_epochs
        self.warmup_class_weight = warmup_class_weight
        self.warmup_batch_size = warmup_batch_size
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

    def _round_batch_size(self):
        if self.loss == "triplet":
            return self.n_classes_per_batch * self.n_samples_per_class
        return self.n_clusters_per_batch * self.n_samples_per_cluster

    def _warmup_batch_size(self):
        if self.warmup_batch_size is not None:
            return self.warmup_batch_size
        return self._round_batch_size()

    def _check_lmle_margins(self):
        try:
            g = np.asarray(self.lmle_margins, dtype=np.float64)
        except (TypeError, ValueError):
            g = None
        # beyond float32's range a margin became inf in the loss (silently)
        if (g is None or g.shape != (3,) or not np.all(np.isfinite(g))
                or np.any(g < 0) or np.any(g >= F32_MAX)):
            raise ValueError(
                f"lmle_margins={self.lmle_margins!r} should be three finite, "
                "non-negative floats (g1, g2, g3) below 3.4e38 (float32)."
            )
        return tuple(float(v) for v in g)

    def _fit(self, X, y):
        lmle_margins = self._check_lmle_margins()
        X, Y, valid = self._hold_out(X, self._encode_targets(y))
        y_enc = Y[:, 0]
        if self.loss == "triplet":
            # a P x K batch has K rows per class whatever the class sizes
            # (small classes drawn with replacement): K = 10**6 asked torch
            # for terabytes of pairwise distances
            rows = min(self.n_classes_per_batch, len(self.classes_))
            rows *= self.n_samples_per_class
            limit = max(X.shape[0], _MAX_SMALL_BATCH)
            if rows > limit:
                raise ValueError(
                    f"n_samples_per_class={self.n_samples_per_class} gives "
                    f"batches of {rows} rows, more than max(n_samples, "
                    f"{_MAX_SMALL_BATCH}) = {limit}; lower n_samples_per_class "
                    "or n_classes_per_batch."
                )

        self.budget_ = Budget.of(self, batch=self._round_batch_size(),
                                 n_samples=X.shape[0])

        def build():
            backbone, width = self._backbone()
            net = EmbeddingNet(backbone, width, self.embedding_dim, 1, self.input_shape_)
            return SoftmaxModel(net, softmax_classifiers(Y, self.embedding_dim, False))

        model, self.history_ = self._train_module(
            X, y_enc, build,
            lambda model, X_t, device, rng, dp: train(
                X_t, Y, device, dp,
                **self._phases(model, X_t, Y, rng, dp, lmle_margins),
                verbose=self.verbose, callbacks=self.callbacks, valid=valid),
        )
        self.module_ = model.net

    def _phases(self, model, X, Y, rng, dp, lmle_margins):
        """The optimiser and the phases of ``training.clmle_rounds.train``:
        the warm-up, and the metric rounds with their loss and batch sampler
        (triplet: P x K classes; LMLE: batches of clusters, re-clustered
        every round, with the checked ``lmle_margins``)."""
        schedule = Schedule(self.warmup_epochs, self._warmup_batch_size(),
                            self.budget_.n_rounds, self.budget_.steps_per_round,
                            self.batch_size)
        if self.loss == "triplet":
            batches = dict(
                loss_fn=BatchHardTripletLoss(self.triplet_margin),
                sampler=ClassBalancedBatchSampler(Y[:, 0], self.n_classes_per_batch,
                                                  self.n_samples_per_class))
        else:
            batches = dict(
                loss_fn=QuintupletLoss(lmle_margins),
                cluster=PerClassClustering(self.cluster_size),
                batches=partial(ClusterBatchSampler,
                                n_clusters_per_batch=self.n_clusters_per_batch,
                                n_per_cluster=self.n_samples_per_cluster,
                                query="uniform"))
        softmax = SoftmaxTerm(Y, False, self.warmup_class_weight)
        return dict(
            optimizer=OptimizerSpec(self.optimizer, self.learning_rate,
                                    self.weight_decay),
            warmup=(warmup_phase(model, softmax, self.warmup_epochs,
                                 self._warmup_batch_size(), rng)
                    if self.warmup_epochs else None),
            rounds=metric_rounds(model.net, X, Y, rng, dp, phase=self.loss,
                                 schedule=schedule, **batches))
