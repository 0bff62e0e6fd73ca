"""Turn MLflow's exceptions into modelsteward errors a user can act on."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator

from modelsteward.errors import (
    RegistryError,
    StewardError,
    TrackingServerUnavailableError,
)

__all__ = ["error_code", "is_connection_failure", "similar", "translate_errors"]

_CONNECTION_MARKERS = (
    "max retries exceeded",
    "connection refused",
    "failed to establish a new connection",
    "connectionerror",
    "remotedisconnected",
    "connection aborted",
    "name or service not known",
)


def error_code(exc: BaseException) -> str:
    """MLflow's error code (e.g. ``RESOURCE_DOES_NOT_EXIST``) or ``""``."""
    return str(getattr(exc, "error_code", "") or "")


def is_connection_failure(exc: BaseException) -> bool:
    """True when the exception means the tracking server could not be reached."""
    try:
        import requests

        if isinstance(exc, requests.exceptions.ConnectionError):
            return True
    except ImportError:  # pragma: no cover
        pass
    if isinstance(exc, ConnectionError):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(marker in text for marker in _CONNECTION_MARKERS)


def similar(name: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


@contextlib.contextmanager
def translate_errors(tracking_uri: str, action: str) -> Iterator[None]:
    """Re-raise MLflow and connection failures as StewardErrors naming ``action``."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except StewardError:
        raise
    except MlflowException as exc:
        if is_connection_failure(exc):
            from modelsteward.registry.tracking import forget_health

            forget_health(tracking_uri)
            raise TrackingServerUnavailableError(
                f"MLflow tracking server {tracking_uri} stopped answering while trying to "
                f"{action}. Check that it is running, then retry."
            ) from exc
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RegistryError(f"could not {action}: {message}") from exc
    except OSError as exc:
        if is_connection_failure(exc):
            raise TrackingServerUnavailableError(
                f"MLflow tracking server {tracking_uri} is unreachable while trying to "
                f"{action}: {exc}"
            ) from exc
        raise
