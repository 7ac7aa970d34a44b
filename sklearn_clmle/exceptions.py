"""Warnings and errors raised by sklearn-clmle."""

__all__ = ["InconsistentVersionWarning"]


class InconsistentVersionWarning(UserWarning):
    """An estimator was unpickled by another version of sklearn-clmle.

    Loading works, but results may differ and attributes may be missing;
    refit with the installed version, or install the version that saved it.

    Attributes
    ----------
    estimator_name : str
    original_version : str
    current_version : str
    """

    def __init__(self, *, estimator_name, original_version, current_version):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from "
            f"sklearn-clmle version {self.original_version} when using version "
            f"{self.current_version}. This might lead to breaking code or "
            "invalid results. Refit the estimator with the installed version."
        )
