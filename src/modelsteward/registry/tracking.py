"""Where the MLflow tracking store is, and whether it answers.

Resolution order: an explicit URI, then ``MLFLOW_TRACKING_URI``, then the embedded default,
a SQLite store at ``<cwd>/.steward/mlflow.db`` with artifacts under ``<cwd>/.steward/artifacts``::

    >>> import os
    >>> resolve_tracking_uri("sqlite:////tmp/x/mlflow.db")
    'sqlite:////tmp/x/mlflow.db'
    >>> artifact_root_for("sqlite:////tmp/x/mlflow.db")
    'file:///tmp/x/artifacts'

A remote server (``http(s)://``) is probed with a short bounded retry before use; when it
does not answer, :class:`~modelsteward.errors.TrackingServerUnavailableError` names the URI.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from modelsteward.errors import TrackingServerUnavailableError

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "DEFAULT_DIRECTORY",
    "artifact_root_for",
    "check_tracking_available",
    "default_tracking_uri",
    "mlflow_client",
    "resolve_tracking_uri",
    "tracking_context",
    "use_tracking",
]

DEFAULT_DIRECTORY = ".steward"
#: probe attempts and pauses for a remote server (seconds); overridable by environment
_RETRY_ATTEMPTS_ENV = "STEWARD_TRACKING_RETRIES"
_RETRY_TIMEOUT_ENV = "STEWARD_TRACKING_TIMEOUT"
_DEFAULT_ATTEMPTS = 3
_DEFAULT_TIMEOUT = 2.0
_BACKOFF = (0.2, 0.5, 1.0, 2.0)
_HEALTHY_FOR = 5.0  # seconds a successful probe is trusted

_healthy_until: dict[str, float] = {}
_lock = threading.Lock()

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def default_tracking_uri(directory: str | os.PathLike[str] | None = None) -> str:
    """The embedded default: ``sqlite:///<abs dir>/.steward/mlflow.db`` (dir = cwd)."""
    base = Path(directory) if directory is not None else Path.cwd()
    return f"sqlite:///{(base / DEFAULT_DIRECTORY / 'mlflow.db').resolve()}"


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """Explicit URI > ``MLFLOW_TRACKING_URI`` > the embedded default under ``./.steward/``."""
    if tracking_uri:
        return str(tracking_uri)
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return default_tracking_uri()


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :].split("?", 1)[0])


def artifact_root_for(tracking_uri: str) -> str | None:
    """Artifact root used for new experiments: ``<db dir>/artifacts`` for SQLite, else None.

    A remote server decides its own artifact location (``mlflow-artifacts:``).
    """
    path = _sqlite_path(tracking_uri)
    if path is None:
        return None
    return (path.parent / "artifacts").as_uri()


def _probe_http(uri: str, timeout: float) -> None:
    """Raise OSError when nothing answers; any HTTP answer (even 401/404 behind a proxy that
    guards ``/health``) means the server is there, and MLflow's own errors take over."""
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 - http(s) only
            return
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise urllib.error.URLError(f"HTTP {exc.code} from {url}") from exc


def check_tracking_available(
    tracking_uri: str, *, attempts: int | None = None, timeout: float | None = None
) -> None:
    """Make sure the store answers; a remote server gets a short bounded retry.

    SQLite: the parent directory is created. ``http(s)``: ``GET /health`` up to ``attempts``
    times (default 3, env ``STEWARD_TRACKING_RETRIES``) with pauses of 0.2 s, 0.5 s, ...
    Raises TrackingServerUnavailableError when it never answers.
    """
    path = _sqlite_path(tracking_uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    if not tracking_uri.startswith(("http://", "https://")):
        return
    now = time.monotonic()
    with _lock:
        if _healthy_until.get(tracking_uri, 0.0) > now:
            return
    env_n = os.environ.get(_RETRY_ATTEMPTS_ENV)
    env_t = os.environ.get(_RETRY_TIMEOUT_ENV)
    n = attempts if attempts is not None else int(env_n or _DEFAULT_ATTEMPTS)
    t = timeout if timeout is not None else float(env_t or _DEFAULT_TIMEOUT)
    last: Exception | None = None
    for attempt in range(max(1, n)):
        try:
            _probe_http(tracking_uri, t)
        except (OSError, urllib.error.URLError) as exc:
            last = exc
            if attempt + 1 < n:
                time.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
            continue
        with _lock:
            _healthy_until[tracking_uri] = time.monotonic() + _HEALTHY_FOR
        return
    raise TrackingServerUnavailableError(
        f"MLflow tracking server {tracking_uri} did not answer after {max(1, n)} attempts "
        f"({last}). Start it (`mlflow server --host 127.0.0.1 --port ...`), check "
        f"--tracking-uri / MLFLOW_TRACKING_URI, or unset both to use the embedded store "
        f"under ./{DEFAULT_DIRECTORY}/."
    )


def forget_health(tracking_uri: str | None = None) -> None:
    """Drop cached probe results (all, or one URI), e.g. after a connection failure."""
    with _lock:
        if tracking_uri is None:
            _healthy_until.clear()
        else:
            _healthy_until.pop(tracking_uri, None)


def use_tracking(tracking_uri: str | None = None) -> str:
    """Resolve, check and apply the tracking URI globally (``mlflow.set_tracking_uri``).

    Returns the URI now in use. Library functions prefer :func:`tracking_context`, which
    restores the previous global URI afterwards.
    """
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    check_tracking_available(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


@contextlib.contextmanager
def tracking_context(tracking_uri: str | None = None) -> Iterator[str]:
    """Use ``tracking_uri`` (resolved) as MLflow's global tracking and registry URI inside the
    block, and put back whatever was set before."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    uri = resolve_tracking_uri(tracking_uri)
    check_tracking_available(uri)
    # mlflow.set_tracking_uri / set_registry_uri also write MLFLOW_TRACKING_URI /
    # MLFLOW_REGISTRY_URI into os.environ: save and restore those too.
    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    old_tracking = getattr(tracking_utils, "_tracking_uri", None)
    old_registry = getattr(registry_utils, "_registry_uri", None)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield uri
    finally:
        mlflow.set_tracking_uri(old_tracking)  # type: ignore[arg-type]
        registry_utils._registry_uri = old_registry
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def mlflow_client(tracking_uri: str | None = None) -> MlflowClient:
    """An ``MlflowClient`` for the resolved URI (tracking and registry), checked first."""
    from mlflow import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    check_tracking_available(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)
