"""Nested parameters of ``CLMLEClassifier``'s default parts (private).

``embedder=None`` and ``rule=None`` stand for ``CLMLEEmbedder()`` and
``KNearestClusterClassifier()``.  The defaults stay ``None`` (scikit-learn's
conventions: no estimator instance as a default, so that ``clone`` and the
estimator checks see a plain value); ``get_params(deep=True)`` lists the
defaults' parameters as ``embedder__*`` / ``rule__*``, and ``set_params``
with such a name makes the default, which then becomes the parameter.  So
``GridSearchCV(CLMLEClassifier(), {"embedder__margin_between": [...]})``
works as it does with an explicit embedder.
"""

from ..neighbors import KNearestClusterClassifier

_NESTED = ("embedder", "rule")


class DefaultPartsMixin:
    """``get_params`` / ``set_params`` through the default parts, and
    ``_embedder()`` / ``_rule()``: the part, or a new default."""

    def _default(self, name):
        """A new default ``embedder`` or ``rule`` (what ``None`` stands for)."""
        if name == "rule":
            return KNearestClusterClassifier()
        from ..embedding import CLMLEEmbedder

        return CLMLEEmbedder()

    def _embedder(self):
        return self.embedder if self.embedder is not None else self._default("embedder")

    def _rule(self):
        return self.rule if self.rule is not None else self._default("rule")

    def get_params(self, deep=True):
        """Parameters of this estimator; with ``deep``, those of ``embedder``
        and ``rule`` too (of their defaults when they are ``None``).

        Parameters
        ----------
        deep : bool, default=True
            Also return the nested ``embedder__*`` and ``rule__*``
            parameters.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        if deep:
            for name in _NESTED:
                if getattr(self, name) is None:
                    params.update((f"{name}__{key}", value) for key, value in
                                  self._default(name).get_params().items())
        return params

    def set_params(self, **params):
        """Set parameters, nested ones included: ``embedder__margin_between``
        with ``embedder=None`` sets it on a new default ``CLMLEEmbedder()``,
        which becomes ``embedder`` (and likewise for ``rule``).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : CLMLEClassifier
            This estimator.
        """
        nested = {name: {} for name in _NESTED}
        own = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if sep and name in nested:
                nested[name][sub] = value
            else:
                own[key] = value
        super().set_params(**own)
        for name, sub in nested.items():
            if sub:
                if getattr(self, name) is None:
                    setattr(self, name, self._default(name))
                getattr(self, name).set_params(**sub)
        return self

    # -- fit ------------------------------------------------------------------


class LazyTestParams:
    """``CLMLEClassifier._test_params`` for the estimator checks: tiny
    embedder settings, built on first access (importing torch then)."""

    def __get__(self, obj, owner):
        from ..embedding import CLMLEEmbedder
        from ..embedding._base import EMBEDDER_TEST_PARAMS

        return {"embedder": CLMLEEmbedder(**EMBEDDER_TEST_PARAMS),
                "rule": KNearestClusterClassifier(n_neighbors=3)}
