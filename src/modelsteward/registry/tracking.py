"""Where the MLflow tracking store is, and whether it answers.

Resolution order: an explicit URI, then ``MLFLOW_TRACKING_URI``, then the embedded default,
a SQLite store at ``<cwd>/.steward/mlflow.db`` with artifacts under ``<cwd>/.steward/artifacts``::

    >>> import os
    >>> resolve_tracking_uri("sqlite:////tmp/x/mlflow.db")
    'sqlite:////tmp/x/mlflow.db'
    >>> artifact_root_for("sqlite:////tmp/x/mlflow.db")
    'file:///tmp/x/artifacts'

A remote server (``http(s)://``) is probed with a short bounded retry before use; when it
does not answer, :class:`~modelsteward.errors.TrackingServerUnavailableError` names the URI
(its password masked).

Credentials: either in the URI (``http://user:pass@host:5000``) or MLflow's own
``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``. A URI's userinfo is taken off the
URI MLflow sees and given to MLflow the way it reads them, as those two environment variables,
set only for the duration of each registry call (:func:`tracking_credentials`); the probe
sends them as Basic auth too::

    >>> split_credentials("http://admin:p%40ss@10.0.0.5:5000/")
    ('http://10.0.0.5:5000/', 'admin', 'p@ss')
"""

from __future__ import annotations

import base64
import contextlib
import functools
import math
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from modelsteward.errors import ConfigError, TrackingServerUnavailableError
from modelsteward.redact import redact_text

if TYPE_CHECKING:
    from mlflow import MlflowClient

# MLflow is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = [
    "DEFAULT_DIRECTORY",
    "artifact_root_for",
    "check_tracking_available",
    "default_tracking_uri",
    "mlflow_client",
    "redact_tracking_text",
    "resolve_tracking_uri",
    "split_credentials",
    "tracking_context",
    "tracking_credentials",
    "use_tracking",
    "with_tracking_credentials",
]

P = ParamSpec("P")
R = TypeVar("R")
_USER_ENV = "MLFLOW_TRACKING_USERNAME"
_PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
_TOKEN_ENV = "MLFLOW_TRACKING_TOKEN"
_env_lock = threading.RLock()

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


def env_number(name: str, default: float, low: float, high: float, *,
               integer: bool = False) -> float:
    """A number from the environment variable ``name`` (``default`` when unset), in
    ``[low, high]``; anything else (text, NaN, inf, out of range) is a ConfigError."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(int(raw)) if integer else float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name}={raw[:40]!r} must be {kind} from {low:g} to {high:g}; "
                          f"unset it for the default ({default:g})")
    return value


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


def split_credentials(uri: str) -> tuple[str, str | None, str | None]:
    """``(uri without userinfo, username, password)`` of an ``http(s)`` URI (percent-decoded);
    other URIs come back unchanged with ``None, None``."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme.lower() not in ("http", "https") or "@" not in parts.netloc:
        return uri, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, sep, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return (clean, urllib.parse.unquote(user) or None,
            urllib.parse.unquote(password) if sep else None)


def mlflow_uri(uri: str) -> str:
    """The URI MLflow is given: without userinfo (credentials travel separately)."""
    return split_credentials(uri)[0]


def _credentials(uri: str) -> tuple[str | None, str | None]:
    """Username and password: from the URI's userinfo, else MLflow's environment variables."""
    _, user, password = split_credentials(uri)
    if user is not None or password is not None:
        return user, password
    return os.environ.get(_USER_ENV) or None, os.environ.get(_PASSWORD_ENV) or None


def redact_tracking_text(text: object, uri: str | None = None) -> str:
    """``text`` with URL passwords, secret query values and the tracking password masked."""
    secrets = [os.environ.get(_PASSWORD_ENV), os.environ.get(_TOKEN_ENV)]
    if uri is not None:
        secrets.append(split_credentials(uri)[2])
    return redact_text(text, secrets=secrets)


@contextlib.contextmanager
def tracking_credentials(uri: str) -> Iterator[None]:
    """Inside the block, MLflow sends the URI's ``user:pass`` (as it reads them at request
    time, from ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``); the previous
    values are put back afterwards. A URI without userinfo changes nothing."""
    _, user, password = split_credentials(uri)
    if user is None and password is None:
        yield
        return
    with _env_lock:
        saved = {k: os.environ.get(k) for k in (_USER_ENV, _PASSWORD_ENV)}
        os.environ[_USER_ENV] = user or ""
        os.environ[_PASSWORD_ENV] = password or ""
    try:
        yield
    finally:
        with _env_lock:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def with_tracking_credentials(func: Callable[P, R]) -> Callable[P, R]:
    """Run a registry function with the credentials of its ``tracking_uri`` (or of
    ``$MLFLOW_TRACKING_URI``) in place; see :func:`tracking_credentials`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        raw = kwargs.get("tracking_uri")
        uri = resolve_tracking_uri(raw if isinstance(raw, str) else None)
        with tracking_credentials(uri):
            return func(*args, **kwargs)

    return wrapper


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :].split("?", 1)[0])


def prepare_sqlite_store(path: Path) -> None:
    """Make a SQLite store private to its user before MLflow opens it.

    A directory we create is 0700 and gets an ``artifacts/`` folder, 0700; a database file we
    create is 0600 (created here with ``os.open(..., 0o600)``, so it is never readable by
    others, not even for a moment; SQLite gives its journal the same mode). Existing files
    and folders are left alone, except a database inside a folder we just created.
    """
    directory = path.parent
    created = not directory.exists()
    if created:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is masked by the umask
    artifacts = directory / "artifacts"
    if created or not artifacts.exists():
        with contextlib.suppress(FileExistsError):
            artifacts.mkdir(mode=0o700)
        if created:
            os.chmod(artifacts, 0o700)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    elif created:
        os.chmod(path, 0o600)


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
    guards ``/health``) means the server is there, and MLflow's own errors take over.

    The credentials MLflow will use (URI userinfo or environment) go along as Basic auth, a
    ``MLFLOW_TRACKING_TOKEN`` as a Bearer token."""
    clean = mlflow_uri(uri)
    url = urllib.parse.urlsplit(clean)._replace(query="", fragment="").geturl()
    url = url.rstrip("/") + "/health"
    headers: dict[str, str] = {}
    user, password = _credentials(uri)
    token = os.environ.get(_TOKEN_ENV)
    if user is not None or password is not None:
        pair = f"{user or ''}:{password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 - http(s) only
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
        prepare_sqlite_store(path)
        return
    if not tracking_uri.startswith(("http://", "https://")):
        return
    now = time.monotonic()
    with _lock:
        if _healthy_until.get(tracking_uri, 0.0) > now:
            return
    n = attempts if attempts is not None else int(
        env_number(_RETRY_ATTEMPTS_ENV, _DEFAULT_ATTEMPTS, 1, 100, integer=True))
    t = timeout if timeout is not None else env_number(_RETRY_TIMEOUT_ENV, _DEFAULT_TIMEOUT,
                                                       0.05, 600.0)
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
    raise TrackingServerUnavailableError(redact_tracking_text(
        f"MLflow tracking server {tracking_uri} did not answer after {max(1, n)} attempts "
        f"({last}). Start it (`mlflow server --host 127.0.0.1 --port ...`), check "
        f"--tracking-uri / MLFLOW_TRACKING_URI, or unset both to use the embedded store "
        f"under ./{DEFAULT_DIRECTORY}/.", tracking_uri))


def forget_health(tracking_uri: str | None = None) -> None:
    """Drop cached probe results (all, or one URI), e.g. after a connection failure."""
    with _lock:
        if tracking_uri is None:
            _healthy_until.clear()
        else:
            _healthy_until.pop(tracking_uri, None)


def use_tracking(tracking_uri: str | None = None) -> str:
    """Resolve, check and apply the tracking URI globally (``mlflow.set_tracking_uri``).

    Credentials in the URI are set as ``MLFLOW_TRACKING_USERNAME`` / ``_PASSWORD`` for the
    whole process, the way MLflow reads them. Returns the URI now in use (with its userinfo:
    print it with :func:`redact_tracking_text`). Library functions prefer
    :func:`tracking_context`, which restores the previous global URI afterwards.
    """
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    check_tracking_available(uri)
    mlflow.set_tracking_uri(mlflow_uri(uri))
    mlflow.set_registry_uri(mlflow_uri(uri))
    _, user, password = split_credentials(uri)
    if user is not None or password is not None:  # global on purpose, like the URI
        os.environ[_USER_ENV] = user or ""
        os.environ[_PASSWORD_ENV] = password or ""
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
    mlflow.set_tracking_uri(mlflow_uri(uri))
    mlflow.set_registry_uri(mlflow_uri(uri))
    try:
        with tracking_credentials(uri):
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
    clean = mlflow_uri(uri)
    return MlflowClient(tracking_uri=clean, registry_uri=clean)
