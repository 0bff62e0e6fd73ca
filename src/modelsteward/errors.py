"""Every error modelsteward raises on purpose: one root, messages a user can act on.

Each message names the problem and the fix::

    >>> from modelsteward.errors import MissingColumnError, StewardError
    >>> issubclass(MissingColumnError, StewardError)
    True
"""

from __future__ import annotations


class StewardError(Exception):
    """Root of every error modelsteward raises on purpose."""


# --- input data ---------------------------------------------------------------------------
class DataError(StewardError, ValueError):
    """Input data cannot be used as given (wrong shape, wrong type, empty)."""


class EmptyDataError(DataError):
    """A frame, column or window holds no usable rows."""


class MissingColumnError(DataError, KeyError):
    """A column the operation needs is not in the data."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ColumnTypeError(DataError, TypeError):
    """A column's values do not fit its declared kind (e.g. strings in a numeric column)."""


class UnsupportedInputError(DataError, TypeError):
    """The container type is not one modelsteward reads (DataFrame, dict of arrays, Arrow...)."""


# --- baselines ------------------------------------------------------------------------------
class BaselineError(StewardError):
    """A baseline cannot be fitted, saved or loaded."""


class BaselineFormatError(BaselineError):
    """A saved baseline is missing, corrupt or of an unknown format version."""


# --- registry -------------------------------------------------------------------------------
class RegistryError(StewardError):
    """A registry operation failed."""


class ModelNotFoundError(RegistryError, LookupError):
    """No registered model has that name."""


class VersionNotFoundError(RegistryError, LookupError):
    """The model has no such version."""


class StageError(RegistryError, ValueError):
    """A stage name is unknown, or a stage move is not allowed."""


class NoVersionInStageError(RegistryError, LookupError):
    """No version of the model currently holds the stage (e.g. no Production version)."""


class RollbackError(RegistryError):
    """There is no earlier version to roll back to."""


class ModelCardError(RegistryError):
    """A model card is missing or invalid."""


class TrackingServerUnavailableError(RegistryError, ConnectionError):
    """The MLflow tracking server did not answer after a bounded retry."""


# --- configuration, store, serving, monitoring -------------------------------------------
class ConfigError(StewardError, ValueError):
    """A policy, preset, TOML file or option is invalid."""


class InvalidParameterError(StewardError, ValueError):
    """A function parameter is outside its declared range or type (see ``modelsteward._params``)."""


class StoreError(StewardError):
    """The prediction log cannot be opened, written or read."""


class UnknownPredictionError(StoreError, LookupError):
    """Outcomes were sent for prediction ids the log does not hold."""


class SinkError(StewardError):
    """An alert sink failed (reported and retried; the alert is kept)."""


class InvalidModelNameError(RegistryError, ValueError):
    """A registered-model name MLflow cannot store (empty, or containing '/' or ':')."""


class IntegrityError(RegistryError):
    """A model's or baseline's artifact files do not match the SHA-256 recorded when the
    version was registered (the artifact store was changed afterwards)."""
