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


# instance attributes set by scikit-learn's configuration methods
# (set_output, set_fit_request), not by fit: kept when a fit fails
# Private attributes that are configuration, not fitted state: set_output's,
# metadata routing's, and the names of the torch estimators' module__*
# parameters.
_CONFIG = ("_sklearn_output_config", "_metadata_request", "_extra_params")


def unfit_on_failure(fit):
    """Decorate ``fit``: a fit that does not finish leaves the estimator unfitted.

    Whatever stops it -- invalid input, a user ``module`` whose forward
    raises, a loss that becomes NaN, a ``KeyboardInterrupt`` -- every fitted
    attribute (public ``name_`` and the private state set by this fit) is
    removed before the exception is re-raised, unchanged, so the estimator is
    as unfitted as a new one (``check_is_fitted`` raises ``NotFittedError``)
    rather than half fitted (``n_features_in_`` or ``input_shape_`` set, no
    ``module_``).  A failed re-fit also drops the previous fit (its public
    and private fitted attributes): they would not match the data just
    passed.  Parameters and ``set_output`` / metadata-routing configuration
    are kept.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = set(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            params = set(self.get_params(deep=False))
            for name in list(vars(self)):
                if name.startswith("__") or name in params or name in _CONFIG:
                    continue
                fitted = name.endswith("_")
                private = name.startswith("_")  # e.g. _input_layout of a fit
                if fitted or private or name not in before:
                    delattr(self, name)
            raise

    return wrapper
