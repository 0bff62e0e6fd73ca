"""Load a model or its drift baseline by name and stage (or version)."""

from __future__ import annotations

import tempfile
import warnings
from typing import Any

from modelsteward.baseline import Baseline
from modelsteward.errors import BaselineFormatError
from modelsteward.registry.integrity import (
    BASELINE_ARTIFACT_PATH,
    BASELINE_DIGEST_TAG,
    MODEL_DIGEST_TAG,
    verify_files,
)
from modelsteward.registry.lookup import current_version, get_version
from modelsteward.registry.mlflow_errors import is_connection_failure, translate_errors
from modelsteward.registry.records import ModelVersionRecord
from modelsteward.registry.tracking import (
    mlflow_client,
    resolve_tracking_uri,
    tracking_context,
    with_tracking_credentials,
)

# MLflow is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["load_baseline", "load_model", "resolve_version"]


def resolve_version(
    name: str, stage: str | None = "production", version: str | int | None = None,
    *, tracking_uri: str | None = None,
) -> ModelVersionRecord:
    """The version record: ``version`` when given, else the one holding ``stage``."""
    if version is not None:
        return get_version(name, version, tracking_uri=tracking_uri)
    return current_version(name, stage or "production", tracking_uri=tracking_uri)


@with_tracking_credentials
def load_model(
    name: str,
    stage: str = "production",
    version: str | int | None = None,
    *,
    native: bool = False,
    tracking_uri: str | None = None,
    allow_unverified: bool = False,
    strict: bool = False,
) -> Any:
    """The model in ``stage`` (or ``version``) as an MLflow pyfunc model; ``native=True``
    returns the scikit-learn object itself (with ``predict_proba``).

    Like ``mlflow.pyfunc.load_model("models:/<name>@production")`` with errors that say what
    is missing (ModelNotFoundError, NoVersionInStageError, VersionNotFoundError), and checked:
    the files are downloaded, their SHA-256 compared with the one recorded at registration,
    and only then loaded from that same copy. A mismatch raises IntegrityError naming the
    file; ``allow_unverified=True`` loads anyway (with a warning). A version registered
    before checksums were recorded loads with a warning, or raises with ``strict=True``.
    """
    import mlflow.artifacts
    import mlflow.pyfunc
    import mlflow.sklearn

    uri = resolve_tracking_uri(tracking_uri)
    record = resolve_version(name, stage, version, tracking_uri=uri)
    model_uri = f"models:/{name}/{record.version}"
    client = mlflow_client(uri)
    with tempfile.TemporaryDirectory(prefix="steward-model-") as tmp, tracking_context(uri), \
            translate_errors(uri, f"load {model_uri}"):
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
        verify_files(local, record.tags.get(MODEL_DIGEST_TAG), what="model", name=name,
                     version=record.version, tag=MODEL_DIGEST_TAG, manifest_key="model",
                     client=client, run_id=record.run_id, allow_unverified=allow_unverified,
                     strict=strict)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            if native:
                return mlflow.sklearn.load_model(local)
            return mlflow.pyfunc.load_model(local)


@with_tracking_credentials
def load_baseline(
    name: str,
    stage: str = "production",
    version: str | int | None = None,
    *,
    tracking_uri: str | None = None,
    allow_unverified: bool = False,
    strict: bool = False,
) -> Any:
    """The drift Baseline logged with the version in ``stage`` (or ``version``), its files
    checked against the SHA-256 recorded at registration (see :func:`load_model`).

    Raises BaselineFormatError when the version's run has no ``baseline/`` artifacts (it was
    not logged by log_training_run), IntegrityError when its files were changed.
    """
    uri = resolve_tracking_uri(tracking_uri)
    record = resolve_version(name, stage, version, tracking_uri=uri)
    client = mlflow_client(uri)
    with tempfile.TemporaryDirectory() as tmp, translate_errors(
        uri, f"download the baseline of {name!r} version {record.version}"
    ):
        try:
            local = client.download_artifacts(record.run_id, BASELINE_ARTIFACT_PATH, tmp)
        except Exception as exc:  # noqa: BLE001 - missing artifact or store error
            if is_connection_failure(exc):
                raise
            raise BaselineFormatError(
                f"version {record.version} of {name!r} (run {record.run_id}) has no "
                f"{BASELINE_ARTIFACT_PATH}/ artifacts; log it with log_training_run, or fit "
                f"Baseline.fit(X_train) and log it with "
                f"mlflow.log_artifacts(dir, '{BASELINE_ARTIFACT_PATH}')"
            ) from exc
        verify_files(local, record.tags.get(BASELINE_DIGEST_TAG), what="baseline", name=name,
                     version=record.version, tag=BASELINE_DIGEST_TAG, manifest_key="baseline",
                     client=client, run_id=record.run_id, allow_unverified=allow_unverified,
                     strict=strict)
        return Baseline.load(local)
