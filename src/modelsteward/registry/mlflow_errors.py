"""Turn MLflow's exceptions into modelsteward errors a user can act on.

Every text that reaches a message goes through :func:`~modelsteward.redact.redact_text`
(with the tracking password as a known secret): no password or secret query value ever
appears in an error.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator

from modelsteward.errors import (
    RegistryError,
    StewardError,
    TrackingServerUnavailableError,
)
from modelsteward.registry.tracking import forget_health, redact_tracking_text

# MLflow (and requests, which comes with it) is imported inside the functions that use it,
# so that importing this module (and `import modelsteward`) stays cheap.

__all__ = [
    "error_code", "is_auth_failure", "is_connection_failure", "similar", "translate_errors",
]

_AUTH_MARKERS = ("error code 401", "error code 403", "unauthenticated", "permission_denied",
                 "401 client error", "403 client error")

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


def is_auth_failure(exc: BaseException) -> bool:
    """True when the tracking server refused the credentials (HTTP 401/403)."""
    text = f"{error_code(exc)} {exc}".lower()
    return any(marker in text for marker in _AUTH_MARKERS)


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

    def clean(text: str) -> str:
        return redact_tracking_text(text, tracking_uri)

    try:
        yield
    except StewardError:
        raise
    except MlflowException as exc:
        if is_connection_failure(exc):
            forget_health(tracking_uri)
            raise TrackingServerUnavailableError(clean(
                f"MLflow tracking server {tracking_uri} stopped answering while trying to "
                f"{action}. Check that it is running, then retry."
            )) from exc
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if is_auth_failure(exc):
            raise RegistryError(clean(
                f"could not {action}: the tracking server {tracking_uri} refused the "
                f"credentials (HTTP 401/403: {message[:200]}). Put them before the host "
                f"(user:password@host:port) in --tracking-uri / MLFLOW_TRACKING_URI, "
                f"or set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD."
            )) from exc
        raise RegistryError(clean(f"could not {action}: {message}")) from exc
    except OSError as exc:
        if is_connection_failure(exc):
            forget_health(tracking_uri)
            raise TrackingServerUnavailableError(clean(
                f"MLflow tracking server {tracking_uri} is unreachable while trying to "
                f"{action}: {exc}"
            )) from exc
        raise
