"""Find registered models and versions, with errors that name what exists."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from modelsteward.errors import (
    InvalidModelNameError,
    ModelNotFoundError,
    NoVersionInStageError,
    StageError,
    VersionNotFoundError,
)
from modelsteward.registry.mlflow_errors import error_code, similar, translate_errors
from modelsteward.registry.records import ModelVersionRecord, RegisteredModelSummary
from modelsteward.registry.stages import alias_for, parse_stage, stage_of_version
from modelsteward.registry.tracking import (
    mlflow_client,
    redact_tracking_text,
    resolve_tracking_uri,
    with_tracking_credentials,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

# MLflow is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = [
    "LOCK_SUFFIX",
    "MAX_NAME_LENGTH",
    "current_version",
    "get_version",
    "iso_from_ms",
    "list_models",
    "list_versions",
    "validate_model_name",
]

LOCK_SUFFIX = ".steward-lock"
#: longest accepted model name (MLflow's column holds 256; the lock name adds 13)
MAX_NAME_LENGTH = 200


def iso_from_ms(ms: int | str | None) -> str:
    """MLflow's epoch milliseconds as an ISO 8601 UTC string (``""`` when unknown)."""
    if ms in (None, "", 0):
        return ""
    return dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.UTC).isoformat(timespec="seconds")


def validate_model_name(name: Any) -> str:
    """A usable registered-model name, or InvalidModelNameError saying why not."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidModelNameError(
            f"model name must be a non-empty string, got {name!r}; e.g. 'churn_model'"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidModelNameError(
            f"model name {name[:40]!r}... is {len(name)} characters long; names are at most "
            f"{MAX_NAME_LENGTH} characters (MLflow stores 256, and the name also becomes an "
            f"experiment and a folder name); choose a shorter name, e.g. 'churn_model'"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidModelNameError(
            f"invalid model name {name!r}: control characters (newlines, tabs, escapes) are "
            f"not allowed; e.g. 'churn_model'"
        )
    bad = [c for c in ("/", ":") if c in name]
    if bad or name.endswith(LOCK_SUFFIX) or name != name.strip():
        raise InvalidModelNameError(
            f"invalid model name {name!r}: names cannot contain '/' or ':', start or end "
            f"with spaces, or end with {LOCK_SUFFIX!r}; e.g. 'churn_model'"
        )
    return name


def _model_names(client: MlflowClient) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        names.extend(m.name for m in page if not m.name.endswith(LOCK_SUFFIX))
        token = page.token
        if not token:
            return names


def get_registered_model(client: MlflowClient, name: str, uri: str) -> RegisteredModel:
    """The registered model, or ModelNotFoundError with close names."""
    from mlflow.exceptions import MlflowException

    validate_model_name(name)
    with translate_errors(uri, f"read model {name!r}"):
        try:
            return client.get_registered_model(name)
        except MlflowException as exc:
            if error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
                raise
            hint = similar(name, _model_names(client))
    raise ModelNotFoundError(
        f"no registered model named {name!r} in {redact_tracking_text(uri, uri)}.{hint} "
        f"List them with `steward registry list`; register one with log_training_run(..., "
        f"model_name={name!r})."
    )


def _name_filter(name: str) -> str:
    """An MLflow filter selecting ``name`` whatever quotes it holds (MLflow's filter strings
    have no escape: a name with both quote kinds is matched with LIKE, then exactly)."""
    if "'" not in name:
        return f"name = '{name}'"
    if '"' not in name:
        return f'name = "{name}"'
    return "name LIKE '" + name.replace("'", "_").replace('"', "_") + "'"


def _versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    out: list[ModelVersion] = []
    token = None
    while True:
        page = client.search_model_versions(
            _name_filter(name), max_results=1000, order_by=["version_number DESC"],
            page_token=token,
        )
        out.extend(mv for mv in page if mv.name == name)
        token = page.token
        if not token:
            return out


def get_model_version(
    client: MlflowClient, name: str, version: str | int, uri: str
) -> ModelVersion:
    """The model version, or VersionNotFoundError listing the versions that exist."""
    from mlflow.exceptions import MlflowException

    get_registered_model(client, name, uri)
    text = str(version).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise VersionNotFoundError(
            f"version must be a positive integer (at most 18 digits), got "
            f"{str(version)[:40]!r} (model {name!r})"
        )
    with translate_errors(uri, f"read version {text} of {name!r}"):
        try:
            return client.get_model_version(name, text)
        except MlflowException as exc:
            if error_code(exc) not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
            existing = sorted(int(v.version) for v in _versions(client, name))
    listed = ", ".join(str(v) for v in existing) or "none"
    raise VersionNotFoundError(
        f"model {name!r} has no version {text}; versions: {listed}"
    )


def to_record(mv: ModelVersion, aliases: dict[str, str]) -> ModelVersionRecord:
    """Normalise an MLflow ModelVersion (int/str version, None/'' description)."""
    version = str(mv.version)
    tags = {str(k): str(v) for k, v in (mv.tags or {}).items()}
    held = tuple(sorted(a for a, v in aliases.items() if str(v) == version))
    return ModelVersionRecord(
        name=mv.name,
        version=version,
        run_id=mv.run_id or "",
        stage=stage_of_version(version, aliases, tags),
        source=mv.source or "",
        created_at=iso_from_ms(mv.creation_timestamp),
        description=mv.description or "",
        aliases=held,
        tags=tags,
    )


def aliases_of(model: RegisteredModel) -> dict[str, str]:
    """alias -> version (as str) of a registered model."""
    return {str(k): str(v) for k, v in (model.aliases or {}).items()}


@with_tracking_credentials
def current_version(
    name: str, stage: str = "production", *, tracking_uri: str | None = None
) -> ModelVersionRecord:
    """The version holding ``stage`` (Production or Staging) of model ``name``.

    Raises ModelNotFoundError, NoVersionInStageError, StageError (unknown stage or a stage
    that is not single-valued: Archived / None).
    """
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow_client(uri)
    stage_name = parse_stage(stage)
    alias = alias_for(stage_name)
    if alias is None:
        raise StageError(
            f"stage {stage_name!r} can hold many versions; pass version=... or use "
            f"`steward registry list` / list_versions({name!r})"
        )
    model = get_registered_model(client, name, uri)
    aliases = aliases_of(model)
    version = aliases.get(alias)
    if version is None:
        raise NoVersionInStageError(
            f"model {name!r} has no {stage_name} version. Promote one with "
            f"`steward registry promote {name} <VERSION> {stage_name}` or "
            f"promote({name!r}, <version>, {stage_name!r}, reason=...)"
        )
    mv = get_model_version(client, name, version, uri)
    return to_record(mv, aliases)


@with_tracking_credentials
def get_version(
    name: str, version: str | int, *, tracking_uri: str | None = None
) -> ModelVersionRecord:
    """One version of a model, with its stage."""
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow_client(uri)
    mv = get_model_version(client, name, version, uri)
    model = get_registered_model(client, name, uri)
    return to_record(mv, aliases_of(model))


@with_tracking_credentials
def list_versions(name: str, *, tracking_uri: str | None = None) -> list[ModelVersionRecord]:
    """Every version of a model, newest first, with stages."""
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow_client(uri)
    model = get_registered_model(client, name, uri)
    aliases = aliases_of(model)
    with translate_errors(uri, f"list versions of {name!r}"):
        return [to_record(mv, aliases) for mv in _versions(client, name)]


@with_tracking_credentials
def list_models(*, tracking_uri: str | None = None) -> list[RegisteredModelSummary]:
    """Every registered model with its latest, Production and Staging versions."""
    uri = resolve_tracking_uri(tracking_uri)
    client = mlflow_client(uri)
    out: list[RegisteredModelSummary] = []
    with translate_errors(uri, "list registered models"):
        token = None
        models: list[RegisteredModel] = []
        while True:
            page = client.search_registered_models(max_results=1000, page_token=token)
            models.extend(m for m in page if not m.name.endswith(LOCK_SUFFIX))
            token = page.token
            if not token:
                break
        for model in sorted(models, key=lambda m: m.name):
            aliases = aliases_of(model)
            versions = _versions(client, model.name)
            latest = str(versions[0].version) if versions else None
            out.append(
                RegisteredModelSummary(
                    name=model.name,
                    latest_version=latest,
                    production_version=aliases.get("production"),
                    staging_version=aliases.get("staging"),
                    updated_at=iso_from_ms(model.last_updated_timestamp),
                    n_versions=len(versions),
                    description=model.description or "",
                )
            )
    return out
