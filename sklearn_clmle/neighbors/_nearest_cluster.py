"""KNearestClusterClassifier: per-class equal-size clusters, soft k-nearest-
cluster rule (Huang et al., Section 4, Eq. 10)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state

from ..utils._docs import fill_doc
from ..utils._persistence import VersionedPickleMixin, unfit_on_failure
from ..utils._targets import encode_targets
from ..utils._validation import (
    Interval,
    StrOptions,
    _fit_context,
    normalize_rows,
    validate_float_csr,
    validate_parameter_constraints,
)
from . import _auto, _clusters, _head, _scoring
from ._multilabel import PerLabelMixin
from ._prediction import PredictionMixin
from ._rule import NearestClusterRuleMixin


@fill_doc
class KNearestClusterClassifier(
    PredictionMixin, NearestClusterRuleMixin, PerLabelMixin, ClassifierMixin,
    VersionedPickleMixin, BaseEstimator,
):
    """Classifier by the soft k-nearest-cluster rule of CLMLE.

    ``fit`` splits every class ``c`` into ``K_c = max(1, L_c // cluster_size)``
    clusters of equal size (sizes differ by at most one) with
    :class:`SphericalKMeans`; ``predict`` retrieves the ``n_neighbors``
    centroids most similar to a query and picks, among the classes present in
    that set, the one with the highest score (Eq. 10 in log form)::

        score_c = agg_{m retrieved, class(m) = c} z_m
                  - logsumexp_{k retrieved, class(k) != c} z_k,

    where ``z = scale * cos(query, centroid)`` and ``agg`` is ``min`` (the
    paper's rule) or ``max``.  Classes absent from the retrieved set are not
    candidates.  Search costs ``L / cluster_size`` centroids instead of ``L``
    training samples.

    Parameters
    ----------
    n_neighbors : int, default=10
        Number of nearest centroids retrieved (N in the paper, which searches
        20..200).  If larger than the number of centroids, all are used.

    cluster_size : int or "auto", default="auto"
        Cluster size ``l``.  A class with fewer than ``cluster_size`` samples
        has one cluster.  The paper uses 200.  ``"auto"``: chosen on a
        held-out predictions (see Notes) among 1, 3, 10, 30, 100 and 300, keeping
        at most ``max(2000, n_samples / 50)`` centroids.

    scale : float or "auto", default="auto"
        Multiplies the cosine similarities before the rule (a temperature).
        1.0 is the paper's rule.  ``"auto"``: chosen on held-out predictions
        among 4, 8, 16, 32 and 64.  With ``1.0`` on cosines in ``[-1, 1]``
        the log-sum-exp of Eq. 10 mostly counts retrieved clusters, so
        classes with many clusters win.

    aggregate : {"min", "max", "auto"}, default="auto"
        Summary of a class's retrieved clusters: ``"min"``, its least similar
        one (Eq. 10, the paper's), or ``"max"``, its most similar one.
        ``"auto"``: chosen on held-out predictions (see Notes).

    prior_correction : float or "auto", default="auto"
        ``tau`` of a logit-adjustment-style correction for balanced accuracy:
        the score of class ``c`` is raised by ``-tau * log(prior_c)``, where
        ``prior_c`` is the class's share of the training samples, so rare
        classes are favoured.  ``0`` is the paper's rule.  Scores are on the
        scale of ``scale * cos``; search ``tau`` together with ``scale``.
        ``"auto"``: chosen on held-out predictions among 0, 0.5, 1 and 2.

    head : {"auto", "none", "ensemble", "linear"}, default="auto"
        A decoupled linear head beside the rule: a multinomial logistic
        regression on the unit-norm features with post-hoc logit adjustment
        (its log-probabilities minus the log class priors).  ``"none"``: the
        rule alone (the paper's); ``"ensemble"``: the head's log-probabilities
        plus the log of the rule's probabilities; ``"linear"``: the head
        alone (the centroids are still fitted but do not vote).  ``"auto"``:
        chosen on the held-out predictions with the other ``"auto"`` settings.

    head_C : float or "auto", default="auto"
        Inverse regularisation strength ``C`` of the head's logistic
        regression.  ``"auto"``: 1 or 10, chosen on the held-out predictions (1
        without one).

    algorithm : {"auto", "brute", "kd_tree", "ball_tree", "faiss"}, default="auto"
        Nearest-centroid search.  ``"brute"`` (and ``"auto"``): exact, by
        blocked matrix products.  ``"kd_tree"``/``"ball_tree"``: scikit-learn's
        trees on the unit sphere (Euclidean order equals cosine order there).
        ``"faiss"`` (``pip install sklearn-clmle[faiss]``): the per-class
        clustering is ``SphericalKMeans(algorithm="faiss")``, the search a
        faiss inner-product index: exact (flat) below 10,000 centroids, IVF
        from there (see Notes).

    multilabel_features : {"shared", "blocks"}, default="shared"
        Multi-label ``y`` only: ``"shared"`` clusters every label in all the
        features; ``"blocks"`` splits the features into ``n_labels`` equal
        consecutive blocks, label ``j`` using block ``j`` (the layout of
        ``CLMLEEmbedder``'s multi-label output).

    random_state : int, RandomState instance or None, default=None
        Seeds the clustering.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of such arrays
        Class labels (a list, one ``[0, 1]`` array per label, for multi-label
        ``y``).

    cluster_centers_ : ndarray of shape (n_centroids, n_features)
        Unit-norm centroids of all classes (single-label ``y`` only).

    cluster_classes_ : ndarray of shape (n_centroids,)
        Class label of each centroid (single-label ``y`` only).

    cluster_sizes_ : ndarray of shape (n_centroids,)
        Number of training samples in each cluster (single-label only).

    class_prior_ : ndarray of shape (n_classes,)
        Share of the training samples in each class (single-label only).

    cluster_size_, scale_, prior_correction_, aggregate_ : int, float, float, str
        The settings used: the parameters, or what ``"auto"`` resolved to
        (single-label only; per label in ``estimators_``).

    head_, head_C_ : str, float or None
        The head used (``"none"``, ``"ensemble"`` or ``"linear"``) and its
        ``C`` (``None`` without a head).

    head_estimator_ : LogisticRegression or None
        The fitted head (single-label only).

    auto_scores_ : dict or None
        Balanced accuracy on the held-out predictions of every candidate
        setting, keyed by ``(cluster_size, scale, prior_correction, aggregate)`` for
        the rule alone and by ``(..., head, head_C)`` for the heads;
        ``None`` when nothing was ``"auto"`` or no hold-out was possible.

    estimators_ : list of KNearestClusterClassifier
        Multi-label ``y`` only: one fitted binary classifier per label.

    {{n_features_in_}}

    {{feature_names_in_}}

    See Also
    --------
    SphericalKMeans : The clustering used per class.
    sklearn.neighbors.KNeighborsClassifier : Instance-based k-nearest
        neighbours.

    Notes
    -----
    **"auto" settings.**  Held-out training samples are classified by the
    rule fitted on the rest, for every combination of the candidates of the
    ``"auto"`` parameters (the others fixed), and the combination of highest
    balanced accuracy is used to fit on all the data.  Up to 5,000 training
    samples the held-out predictions are those of 4 stratified folds,
    pooled (every sample of a class with two or more is held out once);
    above, one stratified hold-out split (a quarter of every class, at most
    5,000 rows).  Ties go to the first candidate in the order scale 16, 32,
    8, 64, 4; prior correction 1, 0.5, 0, 2; aggregate max, min; cluster
    size 10, 1, 3, 30, 100, 300.  When no class has two samples, ``"auto"``
    gives scale 16, prior correction 1, aggregate max and cluster size 1, no
    head.  The heads are scored with the best rule setting only.  This costs
    one extra fit per candidate cluster size and fold (the folds' k-means
    run at most 20 iterations).  The paper's rule is ``cluster_size=200,
    scale=1.0, aggregate="min", prior_correction=0.0`` and no head.

    **Scores.**  ``decision_function`` returns the scores above.  If every
    retrieved cluster belongs to one class, its other-class term is taken as a
    single cluster at cosine -1, i.e. ``-scale``.  Classes absent from the
    retrieved set get the floor ``-2 * scale - log(N) - 1``, strictly below any
    retrieved class's score, so they are never predicted.

    With ``prior_correction=tau``, retrieved classes' scores are raised by
    ``-tau * log(class_prior_)`` (never below the floor, as the raise is
    non-negative).

    **Probabilities.**  ``predict_proba`` is the softmax of the scores over the
    classes present among the retrieved clusters; absent classes have
    probability 0.  Its argmax is ``predict``.

    **Head.**  With ``head_="ensemble"`` the scores (``decision_function``)
    are ``log q_c + log max(p_c, 1e-12)``, with ``p`` the rule's
    probabilities above and ``q`` the head's: the logistic regression's
    probabilities divided by the class priors, renormalised (post-hoc logit
    adjustment); with ``head_="linear"`` they are ``log q_c``.
    ``predict_proba`` is then the softmax of these scores over all classes.

    **Input.**  Rows of ``X`` are scaled to unit norm; rows that are all zero
    have no direction and are refused with a ``ValueError``, at fit and at
    predict.  ``y`` needs at least two classes (every label of
    multi-label ``y`` both values), as for the other estimators.  Sparse ``X`` (e.g. TF-IDF vectors) is accepted as CSR (other
    ``scipy.sparse`` formats are converted) at fit and at predict, and is
    never densified as a whole: rows are normalised by scaling their stored
    values, the per-class clustering runs on sparse rows (see
    :class:`SphericalKMeans`; with ``algorithm="faiss"`` each class's rows are
    made dense, float32, for faiss), and the search is sparse rows times the dense
    centroids (``algorithm="brute"``/``"auto"``); the tree and faiss searches
    densify one block of query rows at a time.  The linear head is
    scikit-learn's ``LogisticRegression`` on the sparse matrix.  Results
    equal those of the dense path on the same data, up to floating-point
    rounding, with one exception: when several centroids are at exactly the
    same similarity to a query at the edge of the ``n_neighbors`` retrieved
    (short documents sharing no word with several centroids: cosine 0), the
    tree and faiss searches may keep a different one of them.

    **faiss.**  From 10,000 centroids up, ``algorithm="faiss"`` searches an
    ``IndexIVFFlat`` (inner product, ``round(4 sqrt(n_centroids))`` lists
    trained on the centroids) whose ``nprobe`` is the smallest power of two
    that retrieves 99 % of the ``n_neighbors`` nearest centroids of 1,000
    centroids taken as queries (flat is kept if that takes more than a
    quarter of the lists); a query whose probed lists hold fewer than
    ``n_neighbors`` centroids is searched exactly.  The search runs in
    float32 on the CPU; a pickle holds the trained index.

    {{unfitted_notes}}

    Memory: queries are processed in blocks so that no block x centroids
    matrix exceeds scikit-learn's ``working_memory`` (see
    ``sklearn.set_config``).

    Thread safety: a fitted classifier's ``predict``, ``predict_proba`` and
    ``decision_function`` may be called from several threads at once.

    {{references_clmle}}
    Section 4: the k-nearest-cluster rule.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle import KNearestClusterClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal([3, 0], 0.3, (40, 2)), rng.normal([0, 3], 0.3, (8, 2))]
    >>> y = np.array(["many"] * 40 + ["few"] * 8)
    >>> clf = KNearestClusterClassifier(n_neighbors=3, cluster_size=10).fit(X, y)
    >>> clf.cluster_sizes_.tolist()
    [8, 10, 10, 10, 10]
    >>> clf.cluster_classes_.tolist()
    ['few', 'many', 'many', 'many', 'many']
    >>> clf.predict([[2.0, 0.1], [0.1, 2.0]]).tolist()
    ['many', 'few']
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "cluster_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "scale": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "aggregate": [StrOptions({"min", "max", "auto"})],
        "prior_correction": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "algorithm": [StrOptions(set(_scoring.ALGORITHMS))],
        "multilabel_features": [StrOptions({"shared", "blocks"})],
        "head": [StrOptions({"auto", *_head.HEADS})],
        "head_C": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    # small clusters so that scikit-learn's checks (tiny data) get several
    _test_params = {"cluster_size": 5, "n_neighbors": 5, "random_state": 0}

    def __init__(
        self,
        n_neighbors=10,
        *,
        cluster_size="auto",
        scale="auto",
        aggregate="auto",
        prior_correction="auto",
        head="auto",
        head_C="auto",
        algorithm="auto",
        multilabel_features="shared",
        random_state=None,
    ):
        self.n_neighbors = n_neighbors
        self.cluster_size = cluster_size
        self.scale = scale
        self.aggregate = aggregate
        self.prior_correction = prior_correction
        self.head = head
        self.head_C = head_C
        self.algorithm = algorithm
        self.multilabel_features = multilabel_features
        self.random_state = random_state

    @unfit_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Cluster every class into equal-size spherical clusters.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (scaled to unit norm internally).  Sparse input
            is used as CSR (other formats are converted), never densified.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a binary indicator matrix for multi-label data.

        {{returns_self}}
        """
        X, y = validate_float_csr(self, X, y, multi_output=True)
        if self.algorithm == "faiss":
            _scoring.import_faiss()
        if self._is_multilabel(y):
            return self._fit_multilabel(X, y)
        targets = encode_targets(y, type(self).__name__)
        X = normalize_rows(X, name="X")
        self._multilabel = False
        self.classes_, y_idx = targets.classes, targets.encoded
        rng = check_random_state(self.random_state)
        self.class_prior_ = np.bincount(y_idx) / len(y_idx)
        setting = self._resolve_auto(X, y_idx, rng)
        (self.cluster_size_, self.scale_, self.prior_correction_,
         self.aggregate_, self.head_, self.head_C_) = setting
        (self.cluster_centers_, self._cluster_class_idx,
         self.cluster_sizes_) = self._cluster_classes(X, y_idx, self.cluster_size_, rng)
        self.cluster_classes_ = self.classes_[self._cluster_class_idx]
        self._index = _scoring.CentroidIndex(self.cluster_centers_, self.algorithm,
                                             self.n_neighbors)
        self.head_estimator_ = (None if self.head_ == "none"
                                else _head.fit(X, y_idx, self.head_C_))
        return self

    def _cluster_classes(self, X, y_idx, cluster_size, rng, max_iter=300):
        """Equal-size spherical clusters of every class (``_clusters``)."""
        return _clusters.cluster_classes(X, y_idx, cluster_size, rng, max_iter,
                                         self.algorithm)

    def _resolve_auto(self, X, y_idx, rng):
        """``(cluster_size, scale, prior_correction, aggregate, head,
        head_C)``: the parameters, with ``"auto"`` ones chosen on held-out
        predictions (see Notes); sets ``auto_scores_``."""
        setting, self.auto_scores_ = _auto.resolve(self, X, y_idx, rng)
        return setting

    def choose_auto_settings(self, parts, y, random_state=None):
        """Choose the ``"auto"`` settings on given held-out rows, not fitting.

        What ``fit`` does on its own folds, on splits and features of the
        caller's (e.g. embeddings of held-out rows by embedders that never
        saw them, as in ``CLMLEClassifier``); the parameters that are not
        ``"auto"`` are kept.

        Parameters
        ----------
        parts : list of (X_train, y_train, X_held, y_held)
            Dense features (scaled to unit norm) and single labels of each
            part's training and held-out rows; the held-out predictions of
            all parts are scored together (balanced accuracy).
        y : array-like of shape (n_samples,)
            Labels of all the training rows: their classes and class sizes
            give the candidate cluster sizes and the class prior.
        random_state : int, RandomState instance or None, default=None
            Seeds the parts' clusterings; ``None``: ``self.random_state``.

        Returns
        -------
        params : dict
            ``cluster_size``, ``scale``, ``prior_correction``,
            ``aggregate``, ``head`` and (with a head) ``head_C``, for
            ``set_params``.
        """
        validate_parameter_constraints(self._parameter_constraints,
                                       self.get_params(deep=False), type(self).__name__)
        targets = encode_targets(y, type(self).__name__, multilabel="choose_auto_settings takes single labels")
        encoded = []
        for X_train, y_train, X_held, y_held in parts:
            labels = [np.searchsorted(targets.classes, v) for v in (y_train, y_held)]
            for given, idx in zip((y_train, y_held), labels):
                if not np.array_equal(targets.classes[np.minimum(
                        idx, len(targets.classes) - 1)], given):
                    raise ValueError("parts hold labels that y does not have.")
            encoded.append((normalize_rows(np.asarray(X_train)), labels[0],
                            normalize_rows(np.asarray(X_held)), labels[1]))
        rng = check_random_state(self.random_state if random_state is None
                                 else random_state)
        setting, _ = _auto.search(self, encoded, targets.counts, rng)
        names = ("cluster_size", "scale", "prior_correction", "aggregate",
                 "head", "head_C")
        return {k: v for k, v in zip(names, setting) if v is not None}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags
