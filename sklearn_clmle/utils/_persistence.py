"""Pickling and fitting hygiene shared by the estimators (private)."""

import functools
import warnings

from .._version import __version__
from ..exceptions import InconsistentVersionWarning

_VERSION_KEY = "_sklearn_clmle_version"


class VersionedPickleMixin:
    """Record the package version when pickled; warn when it differs on load.

    Place it before ``BaseEstimator`` in the bases.
    """

    def __getstate__(self):
        state = super().__getstate__()
        state[_VERSION_KEY] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop(_VERSION_KEY, "unknown (older than 0.1)")
        if saved != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    original_version=saved,
                    current_version=__version__,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)


def unfit_on_interrupt(fit):
    """Decorate ``fit``: a ``KeyboardInterrupt`` leaves the estimator unfitted.

    Every fitted attribute (public ``name_`` and the private state set by fit)
    is removed before the interrupt is re-raised, so the estimator is exactly
    as unfitted as a new one (``check_is_fitted`` raises ``NotFittedError``).
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = set(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except KeyboardInterrupt:
            for name in list(vars(self)):
                fitted = name.endswith("_") and not name.startswith("__")
                if fitted or name not in before:
                    delattr(self, name)
            raise

    return wrapper
