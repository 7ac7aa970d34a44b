"""Spherical k-means: k-means with cosine similarity on the unit hypersphere."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..utils._docs import fill_doc
from ..utils._optional import import_faiss
from ..utils._parallel import effective_n_threads
from ..utils._persistence import VersionedPickleMixin, unfit_on_failure
from ..utils._validation import (
    Interval,
    StrOptions,
    _fit_context,
    normalize_rows,
    validate_float_csr,
)
from . import _faiss, _seeding
from . import _spherical_kmeans_core as core

# init="auto" switches to k-means|| above this n_samples * n_clusters.
_KMEANS_PARALLEL_ABOVE = 10**7


@fill_doc
class SphericalKMeans(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClusterMixin,
    VersionedPickleMixin,
    BaseEstimator,
):
    """K-means clustering on the unit hypersphere, with cosine similarity.

    Every sample is scaled to unit L2 norm; each cluster is summarised by the
    unit-norm mean direction of its members, and samples are assigned to the
    centroid of highest cosine similarity.  With ``equal_size=True`` the
    assignment step is constrained so that cluster sizes differ by at most
    one: this is the per-class clustering of CLMLE (Huang et al., Eq. 6-7),
    where every cluster should cost the same to collapse.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.

    init : {"auto", "k-means++", "k-means||", "random"} or array-like, default="auto"
        How the centroids are seeded.

        - ``"k-means++"``: greedy k-means++ with the dissimilarity
          ``1 - cos``, which for unit vectors is half the squared Euclidean
          distance, so this is k-means++'s D^2 sampling on the sphere.  It
          reads the data once per centroid.
        - ``"k-means||"``: scalable k-means++ (Bahmani et al., 2012): five
          passes over the data each draw about ``2 * n_clusters`` candidates
          by D^2 sampling; weighted greedy k-means++ picks ``n_clusters`` of
          them, and each seed is drawn among the rows nearest to a picked
          candidate.  About as cohesive as k-means++ after the Lloyd
          iterations, and much faster when both ``n_samples`` and
          ``n_clusters`` are large: it reads the data five times instead of
          ``n_clusters`` times.
        - ``"auto"``: ``"k-means||"`` when ``n_samples * n_clusters`` exceeds
          ``10**7``, else ``"k-means++"``.
        - ``"random"``: ``n_clusters`` distinct samples drawn at random
          (weighted by ``sample_weight``).
        - an array of shape ``(n_clusters, n_features)``: the initial
          centroids; its rows are normalised.

    n_init : "auto" or int, default="auto"
        Number of runs with different seeds; the run with the lowest
        ``inertia_`` is kept.  ``"auto"`` means 10 for ``"random"`` and 1
        otherwise.

    max_iter : int, default=300
        Maximum number of iterations of one run.

    tol : float, default=1e-4
        A run stops when the summed squared movement of the unit-norm
        centroids between two iterations is at most ``tol`` (centroids are unit
        vectors, so no rescaling by the data's variance is needed), or when the
        labels no longer change.

    algorithm : {"lloyd", "faiss"}, default="lloyd"
        What runs the Lloyd iterations: ``"lloyd"``, this library's numpy
        code; ``"faiss"``, faiss's k-means (spherical, inner product), on the
        GPUs when faiss-gpu sees CUDA devices.  ``"faiss"`` needs ``pip
        install sklearn-clmle[faiss]``; see Notes for what it honours.

    equal_size : bool, default=False
        If True, constrain the assignment so that the sizes of the clusters
        (numbers of samples, whatever their weights) differ by at most one.
        The constrained assignment is a deferred-acceptance greedy: every
        sample proposes to its most similar centroids in turn, and a centroid
        keeps its most similar proposers up to its capacity.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation.  Pass an int for reproducible results.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Unit-norm centroids, in the dtype of the training data.

    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample.  With ``equal_size=True`` these form
        the balanced partition; see ``predict`` for new samples.

    inertia_ : float
        Sum over training samples of ``sample_weight * (1 - cos(x, c))``,
        where ``c`` is the sample's centroid.  Lies in ``[0, 2 * sum(w)]``.

    n_iter_ : int
        Number of iterations of the kept run.

    {{n_features_in_}}

    {{feature_names_in_}}

    See Also
    --------
    sklearn.cluster.KMeans : Euclidean k-means.
    KNearestClusterClassifier : Per-class equal-size clusters as a classifier.

    Notes
    -----
    All-zero rows have no direction and are refused (``ValueError``); rows
    of unit norm are used without a copy.

    **Sparse input** (TF-IDF document vectors, say) is taken as CSR (other
    ``scipy.sparse`` formats are converted) and never densified: rows are
    normalised by scaling their stored values, similarities are sparse rows
    times the dense centroids, only seed rows become dense (k-means|| makes
    its candidates dense 32 MiB at a time).  ``cluster_centers_`` is dense;
    results equal the dense path's up to floating-point rounding.

    {{unfitted_notes}}

    Memory: similarities are computed in blocks of rows, so besides the
    (possibly normalised) copy of ``X`` (of its stored values, for sparse
    ``X``) a fit needs O(n_samples + n_clusters * n_features) memory.

    ``algorithm="faiss"`` clusters a float32 copy of the unit rows (none for
    C-contiguous float32 ``X``; a sparse ``X`` is made dense a block of rows
    at a time).  It honours ``n_clusters``, ``init`` and ``n_init`` (seeds
    drawn by this library from ``random_state``, so that both paths start
    from the same centroids), ``max_iter`` and ``tol`` (the numpy path's
    stopping rule), ``sample_weight`` and ``equal_size`` (that phase runs in
    numpy from faiss's centroids); faiss's seed, ``nredo`` and row
    sub-sampling are not used.  It differs in two ways: faiss computes in
    float32 (centroids of float64 ``X`` are cast back and renormalised), and
    refills an empty cluster by splitting a large one.  faiss runs on its own
    OpenMP threads (``faiss.omp_set_num_threads`` or threadpoolctl), on one
    below ``n_samples * n_clusters * n_features = 2**26``.

    Thread safety: a fitted estimator's ``predict``, ``transform`` and
    ``score`` may be called from several threads at once; they only read the
    fitted attributes.

    References
    ----------
    Dhillon & Modha, "Concept decompositions for large sparse text data using
    clustering", Machine Learning 42, 2001.

    {{ref_clmle}}
    Section 3.1: the equal-size clusters of each class.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle import SphericalKMeans
    >>> angles = np.array([0.0, 0.1, 0.2, np.pi, np.pi + 0.1, np.pi + 0.2])
    >>> X = np.c_[np.cos(angles), np.sin(angles)]
    >>> km = SphericalKMeans(n_clusters=2, random_state=0).fit(X)
    >>> len(set(km.labels_[:3])), len(set(km.labels_))
    (1, 2)
    >>> np.round(np.linalg.norm(km.cluster_centers_, axis=1), 6)
    array([1., 1.])
    >>> km.predict([[1.0, 0.05]]) == km.labels_[0]
    array([ True])
    """

    _parameter_constraints = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [
            StrOptions({"auto", "k-means++", "k-means||", "random"}),
            "array-like",
        ],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "algorithm": [StrOptions({"lloyd", "faiss"})],
        "equal_size": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="auto",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        algorithm="lloyd",
        equal_size=False,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.equal_size = equal_size
        self.random_state = random_state

    # -- validation helpers -------------------------------------------------

    def _validate_X(self, X, *, reset):
        X = validate_float_csr(self, X, reset=reset)
        return normalize_rows(X, name="X")

    def _initial_centers(self, X, sample_weight, rng, n_threads):
        init = self.init
        if isinstance(init, str) and init == "auto":
            large = X.shape[0] * self.n_clusters > _KMEANS_PARALLEL_ABOVE
            init = "k-means||" if large else "k-means++"
        return _seeding.initial_centers(init, X, self.n_clusters, sample_weight, rng,
                                        n_threads, getattr(self, "_init_array", None))

    # -- public API ----------------------------------------------------------

    @unfit_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the spherical k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; each row is scaled to unit norm (rows that are all
            zero are refused).  Sparse input is used as CSR (other formats
            are converted) and is never densified.
        {{y_ignored}}
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the centroids and in ``inertia_``.

        {{returns_self}}
        """
        if self.algorithm == "faiss":
            import_faiss()
        X = self._validate_X(X, reset=True)
        n_samples = X.shape[0]
        weighted = sample_weight is not None
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if np.any(sample_weight < 0) or not np.any(sample_weight > 0):
            raise ValueError(
                "sample_weight must be non-negative with at least one positive "
                "entry."
            )
        if n_samples < self.n_clusters:
            mode = " with equal_size=True" if self.equal_size else ""
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}"
                f"{mode}: every cluster needs at least one sample."
            )

        init_array, n_init = _seeding.check_init(self.init, self.n_init,
                                                 self.n_clusters, X)
        init_is_array = init_array is not None
        if init_is_array:
            self._init_array = init_array

        if n_samples == self.n_clusters and not init_is_array:
            # Every sample is its own cluster: the optimum, with inertia 0.
            self.cluster_centers_ = X.toarray() if sparse.issparse(X) else X.copy()
            self.labels_ = np.arange(n_samples)
            self.inertia_ = 0.0
            self.n_iter_ = 0
            return self

        rng = check_random_state(self.random_state)
        n_threads = effective_n_threads()
        run = core.lloyd_equal_size if self.equal_size else core.lloyd
        if self.algorithm == "faiss":
            run = _faiss.FaissLloyd(X, sample_weight, weighted=weighted,
                                    equal_size=self.equal_size)
        best = None
        for _ in range(n_init):
            centers = self._initial_centers(X, sample_weight, rng, n_threads)
            centers, labels, n_iter = run(
                X, sample_weight, centers, self.max_iter, self.tol, n_threads
            )
            score = core.inertia(X, sample_weight, centers, labels)
            if best is None or score < best[0]:
                best = (score, centers, labels, n_iter)
        if init_is_array:
            del self._init_array

        self.inertia_, self.cluster_centers_, self.labels_, self.n_iter_ = best
        n_distinct = len(np.unique(self.labels_))
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate "
                "points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_`` (the balanced partition if ``equal_size``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        {{y_ignored, sample_weight}}

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster of each sample.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        """Index of the centroid with the highest cosine similarity.

        New samples are assigned independently, without the equal-size
        constraint (there is no capacity to share among unseen samples);
        ``labels_`` holds the constrained partition of the training data.

        {{params_X_new}}

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the nearest centroid.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        labels, _ = core.assign_nearest(X, self.cluster_centers_, effective_n_threads())
        return labels

    def transform(self, X):
        """Cosine similarity of each sample to each centroid.

        Note that, unlike ``KMeans.transform`` (a distance), larger means
        closer.

        {{params_X_new}}

        Returns
        -------
        similarities : ndarray of shape (n_samples, n_clusters)
            Values in ``[-1, 1]``, in the floating dtype of ``X`` (float32
            stays float32, as in scikit-learn).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        return core.similarities(X, centers, effective_n_threads())

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of ``X`` against the fitted centroids.

        {{params_X_new, y_ignored, sample_weight}}

        Returns
        -------
        score : float
            ``-sum(sample_weight * (1 - max_c cos(x, c)))``; higher is better.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        _, best = core.assign_nearest(X, self.cluster_centers_, effective_n_threads())
        return -float(np.dot(sample_weight, 1 - best))

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
