"""A cross-process, cross-machine lock made of one MLflow call.

MLflow has no compare-and-swap on aliases or tags, but ``create_registered_model`` fails when
the name exists (a primary key in the SQLite / PostgreSQL store, checked by the server over
HTTP). So the lock for model ``churn`` is the registered model ``churn.steward-lock``: whoever
creates it holds the lock; releasing deletes it. A lock left by a crashed process is taken
over once it is older than ``stale_after`` seconds (its tags say who took it and when). It
exists only for the few hundred milliseconds of a promotion, so the MLflow UI rarely shows it;
``list_models`` hides it.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from modelsteward.errors import RegistryError, TrackingServerUnavailableError
from modelsteward.registry.lookup import LOCK_SUFFIX
from modelsteward.registry.mlflow_errors import error_code, is_connection_failure
from modelsteward.registry.tracking import env_number, redact_tracking_text

if TYPE_CHECKING:
    from mlflow import MlflowClient

# MLflow is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["actor", "registry_lock"]

_OWNER_TAG = "steward.lock.owner"
_SINCE_TAG = "steward.lock.since"
_RETRYABLE = {"RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST", ""}


def actor() -> str:
    """Who is acting: ``STEWARD_USER`` or ``<user>@<host>``."""
    env = os.environ.get("STEWARD_USER")
    if env:
        return env
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _lock_age(client: MlflowClient, lock_name: str) -> float | None:
    try:
        model = client.get_registered_model(lock_name)
    except Exception:  # noqa: BLE001 - vanished between our calls: retry at once
        return None
    since = (model.tags or {}).get(_SINCE_TAG)
    try:
        return time.time() - float(since) if since else None
    except ValueError:
        return None


@contextlib.contextmanager
def registry_lock(
    client: MlflowClient,
    name: str,
    *,
    timeout: float | None = None,
    stale_after: float = 120.0,
) -> Iterator[str]:
    """Hold the promotion lock of model ``name`` inside the block; yields the owner token.

    Waits up to ``timeout`` seconds (default 60, env ``STEWARD_LOCK_TIMEOUT``) for another
    holder, then raises RegistryError naming the lock to delete if it is stale.
    """
    from mlflow.exceptions import MlflowException

    if timeout is None:
        timeout = env_number("STEWARD_LOCK_TIMEOUT", 60.0, 0.0, 86_400.0)

    lock_name = f"{name}{LOCK_SUFFIX}"
    token = f"{actor()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        try:
            client.create_registered_model(
                lock_name,
                tags={_OWNER_TAG: token, _SINCE_TAG: f"{time.time():.3f}"},
                description=(
                    f"modelsteward promotion lock of {name!r}, held by {token}. "
                    f"Safe to delete if older than {stale_after:.0f} s."
                ),
            )
            break
        except MlflowException as exc:
            if is_connection_failure(exc):
                raise TrackingServerUnavailableError(redact_tracking_text(
                    f"tracking server stopped answering while locking {name!r}: {exc}"
                )) from exc
            code = error_code(exc)
            text = str(exc).lower()
            if code not in _RETRYABLE and "locked" not in text and "already exists" not in text:
                raise RegistryError(
                    redact_tracking_text(f"could not lock model {name!r}: {exc}")) from exc
        age = _lock_age(client, lock_name)
        if age is not None and age > stale_after:
            with contextlib.suppress(MlflowException):
                client.delete_registered_model(lock_name)
            continue
        if time.monotonic() > deadline:
            raise RegistryError(
                f"another promotion of {name!r} has held its lock for more than {timeout:.0f} s. "
                f"If no promotion is running, delete the registered model {lock_name!r} "
                f"(MLflow UI or MlflowClient().delete_registered_model) and retry."
            )
        time.sleep(pause * (1 + random.random()))
        pause = min(pause * 2, 0.5)
    try:
        yield token
    finally:
        try:
            held = client.get_registered_model(lock_name)
            if (held.tags or {}).get(_OWNER_TAG) == token:
                client.delete_registered_model(lock_name)
        except MlflowException:
            pass
