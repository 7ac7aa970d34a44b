"""CLMLEClassifier: the embedder and the classifier, chosen on unseen rows."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import validate_data

from ..neighbors import _head
from ..utils._docs import fill_doc
from ..utils._persistence import unfit_on_failure
from ..utils._targets import encode_targets
from ..utils._validation import Interval, StrOptions, _fit_context, validate_numeric
from . import _candidates
from ._crossfit import (all_embeddings, cross_fit, margin_levels, print_on_rank_0,
                        refit, refit_budget, resolve_cv, same_on_every_rank)
from ._nested import DefaultPartsMixin, LazyTestParams
from ._prediction import SelectedPredictionMixin


@fill_doc
class CLMLEClassifier(SelectedPredictionMixin, DefaultPartsMixin, ClassifierMixin,
                      MetaEstimatorMixin, BaseEstimator):
    """CLMLE embedder and classifier in one estimator, chosen on unseen rows.

    A cross-fitted meta-estimator in the manner of scikit-learn's
    ``StackingClassifier`` and ``CalibratedClassifierCV``: the training rows
    are split (``cv``); for every part an embedder (``embedder``, by default
    ``CLMLEEmbedder()``) is fitted on the rest and the held-out rows are
    embedded by it, so that every candidate classifier is judged on rows that
    no part of it was fitted on.  The candidates (see Notes) are the
    k-nearest-cluster rule of the paper (``rule``, by default
    ``KNearestClusterClassifier()``, its ``"auto"`` settings chosen on those
    held-out embeddings), a logit-adjusted linear head on the embedding, the
    embedder's own logit-adjusted softmax head, and their log-probability
    ensembles.  Their product (all three) is selected unless another beats
    it clearly on the pooled held-out balanced accuracy (see Notes);
    the embedder is refitted on all rows with the training budget read from
    the held-out loss curves, and the selected classifier is fitted on its
    embeddings with the settings found.

    Parameters
    ----------
    embedder : estimator or None, default=None
        The embedder (``fit(X, y)`` / ``transform(X)``), cloned; ``None``:
        ``CLMLEEmbedder()``.  It receives every fold's split as its
        ``train_split`` (so a ``CLMLEEmbedder`` with ``epochs="auto"`` reads
        its budget from the held-out rows), and its ``head_log_proba`` (if it
        has one) is the ``"softmax"`` part.  Nested parameters are reachable
        as ``embedder__margin_between`` (``GridSearchCV``), with ``None``
        too: setting one makes ``embedder`` a ``CLMLEEmbedder()`` with that
        parameter set (the default stays ``None`` so that ``clone`` and
        scikit-learn's checks see a plain default).
    rule : estimator or None, default=None
        The k-nearest-cluster classifier (one with ``choose_auto_settings``),
        cloned; ``None``: ``KNearestClusterClassifier()``.  Its ``"auto"`` settings (cluster
        size, temperature, prior correction, aggregate) are chosen on the
        held-out embeddings; its ``head`` is not used (the heads are
        candidates here).  ``rule__*`` parameters work as ``embedder__*``.
    cv : "auto", int, float, splitter, iterable or None, default="auto"
        How rows are held out.  An int ``K >= 2``: ``K`` stratified folds,
        shuffled with ``random_state`` (each row of a class with two or more
        rows is held out once; a class of one row stays in every training
        part).  A float in ``(0, 1)``: one stratified hold-out of that share
        of every class (at least one row of a class with two or more, at
        most 10,000 rows).  ``"auto"``: a hold-out of 25 % up to 20,000
        rows, of 10 % above; see Notes for why.  A splitter (e.g.
        ``StratifiedKFold(3)``, ``StratifiedShuffleSplit(1, test_size=0.2)``),
        an iterable of ``(train, test)`` index pairs or ``None`` (5
        stratified folds) go through ``sklearn.model_selection.check_cv``;
        every class of ``y`` must keep training rows in each part.
    refit_embedder : "auto" or bool, default="auto"
        Whether the embedder is fitted again on all rows after the
        selection.  ``"auto"``: yes up to 20,000 rows (and always with
        folds), no above, where the hold-out's embedder is kept.
    margin_levels : "auto" or list, default="auto"
        The CLMLE margin levels compared on the held-out rows, each a fit
        of every part: ``"auto"`` the embedder's own ``"auto"`` margins (a
        twentieth of the geometric bound of Section 3.2 in ``embedding_dim``
        dimensions, see ``CLMLEEmbedder``), a float ``f`` both margins at
        ``f`` times the bound, e.g. ``["auto", 0.25, 0.5]`` (each level one
        more fit of every part).  ``"auto"``: ``["auto"]``, one fit of every
        part; an embedder whose margins are set keeps them.  The selected
        (level, candidate) pair (see Notes) is refitted;
        ``margin_level_`` and ``cv_results_`` report it.
    ensemble : bool, default=True
        Keep the parts' embedders beside the refitted one (with a refit):
        the selected candidate is fitted on each member's embeddings of all
        rows and the predicted probabilities are the members' mean, as
        ``CalibratedClassifierCV(ensemble=True)`` keeps its folds (no extra
        training).  ``False``: the refitted embedder alone.
    candidates : "auto" or list of str, default="auto"
        The candidates compared: ``"auto"`` all of those in Notes that the
        embedder supports; or a list of names such as ``["rule", "rule +
        linear"]``.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits and, where theirs is ``None``, the embedders' and
        the rule's ``random_state``.
    verbose : int, default=0
        Announce every phase: each part's embedder fit (then one line per
        epoch with the epoch and round against the fit's caps, for an
        embedder that takes skorch callbacks), the candidates' scoring and
        the selection, and the refit.  Plain lines, no ANSI colours.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    embedder_ : estimator
        The fitted embedder used by ``predict`` (the refitted one, or the
        hold-out's), the first member of ``ensemble_``.
    ensemble_ : list of tuple
        ``(embedder, rule, linear_head)`` of every member whose mean
        probability ``predict_proba`` returns: ``embedder_``, ``rule_`` and
        ``linear_head_`` first, then (``ensemble=True`` with a refit) each
        part's embedder with the selected candidate fitted on its
        embeddings of all rows.
    rule_ : KNearestClusterClassifier or None
        The rule fitted on ``embedder_``'s embeddings of all rows, when the
        selected candidate uses it.
    linear_head_ : LogisticRegression or None
        The linear head fitted on those embeddings, when selected.
    selected_ : str
        The selected candidate, e.g. ``"rule + softmax"``.
    margin_level_ : str
        The selected margin level: ``"auto"`` or e.g. ``"0.25 x bound"``.
    rule_params_ : dict
        The rule's settings chosen on the held-out embeddings.
    linear_C_ : float
        ``C`` of the linear head, chosen on the held-out embeddings.
    budget_ : dict or None
        The refit's training budget (``n_rounds``, ``steps_per_round``,
        ``epochs``) read from the held-out loss curves (the median best
        round over the folds), or ``None`` when the embedder's own settings
        were used.
    cv_results_ : dict of ndarray
        One entry per candidate, as ``GridSearchCV.cv_results_``:
        ``candidate``, ``params``, ``split{k}_test_score``,
        ``mean_test_score``, ``std_test_score``, ``pooled_test_score`` (the
        balanced accuracy of all held-out rows together), ``rank_test_score``
        (by that score), ``reference_candidate`` (true for the product of
        the most experts), ``pooled_test_gain`` (the pooled score minus the
        reference's) and ``pooled_test_gain_se`` (its paired standard error);
        see Notes for the selection.
    n_splits_ : int
        Number of held-out parts.
    refit_embedder_ : bool
        Whether ``embedder_`` was refitted on all rows.
    {{n_features_in_, feature_names_in_}}

    See Also
    --------
    CLMLEEmbedder : The embedder (the paper's loss).
    KNearestClusterClassifier : The paper's rule (Eq. 10).
    sklearn.ensemble.StackingClassifier : Cross-fitted stacking.

    Notes
    -----
    **Why one estimator.**  In ``Pipeline([CLMLEEmbedder(),
    KNearestClusterClassifier()])`` the classifier can only choose its
    settings on embeddings of rows the embedder was trained on, where every
    class is nearly separable and every candidate looks good.  Here the
    choice is made on rows the embedder never saw.

    **Candidates**, in their order of preference on a tie: ``"rule"``,
    ``"rule + linear"``, ``"linear"``, ``"softmax"``, ``"rule + softmax"``,
    ``"linear + softmax"``, ``"rule + linear + softmax"``.  ``"rule"`` is the
    k-nearest-cluster rule's probabilities (``predict_proba``, floored at
    ``1e-12``); ``"linear"`` a multinomial logistic regression (``C`` in
    ``(1, 10)``, chosen on the held-out rows) whose log-probabilities have the
    log class priors of its training rows subtracted (post-hoc logit
    adjustment, Menon et al. 2021); ``"softmax"`` the embedder's
    ``head_log_proba``.  A sum is a product of experts: the parts'
    log-probabilities added and renormalised.

    **Selection.**  The reference is the product of the most experts
    (``"rule + linear + softmax"`` when all three compete).  A candidate
    replaces it only when its pooled held-out balanced accuracy beats the
    reference's by more than two paired standard errors (both are scored on
    the same rows: the standard error of the difference of the classes'
    mean recalls); of several such, the best ranked.  With a few dozen
    held-out rows the best of seven candidates is mostly the luckiest one,
    and a product of experts errs less than its members on average; with
    thousands of rows a real difference clears the bar (the user guide's
    defaults page has the evidence).

    **Rows held out.**  Up to 20,000 rows a quarter is held out: the
    embedder that is judged sees three quarters of the data, close to the
    refit on all of them, and the selection costs 0.75 of a fit before the
    refit.  Above 20,000 rows a tenth is a reliable judge and a second fit
    costs more than the rows it adds, so the hold-out's embedder is kept:
    about one fit.  Folds (``cv=K``) judge every row once, at ``K`` fits on
    ``(K - 1) / K`` of the rows.

    **Budget.**  A ``CLMLEEmbedder`` with ``epochs``, ``n_rounds`` and
    ``steps_per_round`` all ``"auto"`` trains each part in rounds (up to 25
    sharing a cap of ``clip(3 * 60000 / n, 30, 300)`` passes, or of 4,000
    steps where those make more, up to 300) until its
    held-out class-balanced head loss stops improving; ``best_round_`` is the
    earliest round within one standard error of its lowest loss. The
    refit runs the median best round of the parts, each round as many
    passes over all rows as a part's round made over its rows.

    {{references_clmle}}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle import CLMLEClassifier, CLMLEEmbedder
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat([0, 1, 2], [60, 20, 10])
    >>> X = rng.normal(size=(90, 5)) + 3 * np.eye(5)[y]
    >>> clf = CLMLEClassifier(
    ...     CLMLEEmbedder(hidden_units=(16,), embedding_dim=8, cluster_size=10,
    ...                   warmup_epochs=2, n_rounds=2, steps_per_round=5),
    ...     random_state=0).fit(X, y)
    >>> clf.selected_ in clf.cv_results_["candidate"]
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints = {
        "embedder": [None, HasMethods(["fit", "transform"])],
        "rule": [None, HasMethods(["fit", "predict_proba", "choose_auto_settings"])],
        "cv": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="neither"),
               "cv_object"],
        "refit_embedder": [StrOptions({"auto"}), "boolean"],
        "margin_levels": [StrOptions({"auto"}), list],
        "ensemble": ["boolean"],
        "candidates": [StrOptions({"auto"}), list],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _test_params = LazyTestParams()

    def __init__(self, embedder=None, rule=None, *, cv="auto", refit_embedder="auto",
                 margin_levels="auto", ensemble=True, candidates="auto",
                 random_state=None, verbose=0):
        self.embedder = embedder
        self.rule = rule
        self.cv = cv
        self.refit_embedder = refit_embedder
        self.margin_levels = margin_levels
        self.ensemble = ensemble
        self.candidates = candidates
        self.random_state = random_state
        self.verbose = verbose

    # -- fit ------------------------------------------------------------------

    def _candidate_list(self, has_softmax):
        if isinstance(self.candidates, str):
            chosen = [c for c in _candidates.CANDIDATES
                      if has_softmax or "softmax" not in c]
        else:
            if not self.candidates:
                raise ValueError("candidates=[] names no candidate; pass 'auto' "
                                 "or a list such as ['rule', 'rule + linear'].")
            chosen = [_candidates.parse(str(name)) for name in self.candidates]
            if not has_softmax and any("softmax" in c for c in chosen):
                raise ValueError(
                    f"candidates={self.candidates!r} uses 'softmax', but the "
                    f"embedder {type(self._embedder()).__name__} has no "
                    "head_log_proba (a CLMLEEmbedder fitted on single-label y "
                    "has one).")
        return chosen

    def _validated(self, X, y):
        """Validated ``X``, the labels ``y`` and their encoding; sets
        ``classes_`` (and ``n_features_in_``)."""
        X, y = validate_numeric(self, X, lambda: validate_data(
            self, X, y, allow_nd=True, dtype=None, ensure_min_samples=2,
            multi_output=True))
        targets = encode_targets(y, type(self).__name__, multilabel=(
            "single-label y, one class per row; for a multi-label indicator y "
            "use Pipeline([CLMLEEmbedder(), KNearestClusterClassifier()]), "
            "which supports it"))
        self.classes_ = targets.classes
        return X, self.classes_[targets.encoded], targets.encoded

    @unfit_on_failure
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Cross-fit the embedder, choose the classifier, refit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Training data, as the embedder takes it (flat features, or
            ``(n, H, W)`` / ``(n, C, H, W)`` images for a CNN backbone).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        {{returns_self}}
        """
        X, y, y_idx = self._validated(X, y)
        if not isinstance(self.candidates, str):  # names checked before any fit
            self._candidate_list(has_softmax=True)
        from ..embedding._threads import fit_threads  # imports torch lazily

        with fit_threads(X.shape[1:]):  # the embedders' thread policy, for all of fit
            self._fit(X, y, y_idx)
        return self

    def _fit(self, X, y, y_idx):
        """``fit`` on validated data, under the thread policy."""
        rng = same_on_every_rank(check_random_state(self.random_state))
        seed = int(rng.randint(np.iinfo(np.int32).max))
        splits, refit_all = resolve_cv(self.cv, y_idx, rng, self.refit_embedder)
        log = print_on_rank_0 if self.verbose else None
        # every margin level: its parts, its candidates judged on held-out rows
        levels = margin_levels(self.margin_levels, self._embedder(), y_idx)
        judged = []
        for _, params in levels:
            embedder = clone(self._embedder()).set_params(**params)
            parts = cross_fit(embedder, X, y, splits, seed, log)
            hits = self._select(parts, y_idx, rng, seed, log)
            judged.append((embedder, parts, self.cv_results_, self.rule_params_,
                           self.linear_C_, hits))
        self.cv_results_ = _candidates.merge_levels(
            [j[2] for j in judged], [name for name, _ in levels],
            [j[5] for j in judged], np.concatenate([y_idx[p.held] for p in parts]))
        best = _candidates.selected_index(self.cv_results_)
        self.selected_ = self.cv_results_["candidate"][best]
        self.margin_level_ = self.cv_results_["margin_level"][best]
        embedder, parts, _, self.rule_params_, self.linear_C_, _ = judged[
            [name for name, _ in levels].index(self.margin_level_)]
        self.n_splits_, self.refit_embedder_ = len(splits), refit_all
        self.budget_ = (refit_budget([p.embedder for p in parts], len(X))
                        if refit_all else None)
        self.embedder_ = refit(embedder, X, y, parts, seed,
                               self.budget_ if refit_all else False, log)
        # (embedder, its embeddings of all rows): a part's are in hand
        members = ([(self.embedder_, self.embedder_.transform(X))] if refit_all
                   else [(self.embedder_, all_embeddings(parts[0], X))])
        if refit_all and self.ensemble:
            members += [(p.embedder, all_embeddings(p, X)) for p in parts]
        self.ensemble_ = []
        for emb, Z in members:
            self._fit_selected(Z, y_idx, seed, None if self.ensemble_ else log)  # said once
            self.ensemble_.append((emb, self.rule_, self.linear_head_))
        _, self.rule_, self.linear_head_ = self.ensemble_[0]

    def _select(self, parts, y_idx, rng, seed, log):
        """Score the candidates on the parts' held-out rows (``cv_results_``,
        ``rule_params_``, ``linear_C_``) and select one (``selected_``);
        returns their pooled held-out hits (``_candidates.cv_results``)."""
        chosen = self._candidate_list(all(p.softmax is not None for p in parts))
        y_held = [y_idx[p.held] for p in parts]
        if log is not None:
            log(f"[CLMLEClassifier] scoring {len(chosen)} candidates on "
                f"{sum(map(len, y_held))} held-out rows of {len(parts)} part(s)")
        log_probas, self.rule_params_, self.linear_C_ = _candidates.held_out(
            {e for c in chosen for e in c}, parts, y_idx, len(self.classes_),
            self._rule(), rng, seed)
        self.cv_results_, hits = _candidates.cv_results(_candidates.entries(
            chosen, log_probas, self.rule_params_, self.linear_C_), y_held)
        best = _candidates.selected_index(self.cv_results_)
        self.selected_ = self.cv_results_["candidate"][best]
        if log is not None:
            log(f"[CLMLEClassifier] selected {self.selected_!r}: "
                + _candidates.describe(self.cv_results_, best))
        return hits

    def _fit_selected(self, Z, y_idx, seed, log):
        """Fit the selected candidate's experts on the final embeddings."""
        self._selected = _candidates.parse(self.selected_)
        if log is not None:
            log(f"[CLMLEClassifier] refit: fitting {self.selected_!r} on the "
                f"embeddings of all {len(Z)} rows")
        self.rule_ = (_candidates.fit_rule(self._rule(), self.rule_params_, Z,
                                           y_idx, seed)
                      if "rule" in self._selected else None)
        self.linear_head_ = None
        self._log_prior = _candidates.log_prior(y_idx, len(self.classes_))
        if "linear" in self._selected:
            self.linear_head_ = _head.fit(Z, y_idx, self.linear_C_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.classifier_tags.multi_label = False
        return tags
