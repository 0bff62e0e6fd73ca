"""``describe``: the four questions about the serving model, answered in one record."""

from __future__ import annotations

from modelsteward.redact import redact_text
from modelsteward.registry.history import moves_of
from modelsteward.registry.loading import resolve_version
from modelsteward.registry.lookup import get_registered_model, iso_from_ms
from modelsteward.registry.mlflow_errors import translate_errors
from modelsteward.registry.records import ModelDescription
from modelsteward.registry.tracking import (
    mlflow_client,
    resolve_tracking_uri,
    with_tracking_credentials,
)

__all__ = ["describe"]

_DATA_PARAMS = ("train_samples", "test_samples", "n_features", "positive_rate",
                "class_balance", "feature_names", "data_digest")


@with_tracking_credentials
def describe(
    name: str,
    stage: str = "production",
    *,
    version: str | int | None = None,
    tracking_uri: str | None = None,
) -> ModelDescription:
    """Hyperparameters, training-data digest and source, metrics, trained/registered/promoted
    at and by whom, for the version in ``stage`` (or ``version``).

    >>> # describe("churn_model").to_dict()["metrics"]["f1"]
    """
    uri = resolve_tracking_uri(tracking_uri)
    record = resolve_version(name, stage, version, tracking_uri=uri)
    client = mlflow_client(uri)
    with translate_errors(uri, f"describe {name!r} version {record.version}"):
        run = client.get_run(record.run_id) if record.run_id else None
        model = get_registered_model(client, name, uri)
    params: dict[str, str] = {}
    data: dict[str, str] = {}
    metrics: dict[str, float] = {}
    trained_at = ""
    data_source = ""
    mlflow_digest = ""
    digest = record.tags.get("steward.data_digest", "")
    if run is not None:
        for key, value in run.data.params.items():
            (data if key in _DATA_PARAMS else params)[key] = value
        metrics = {k: float(v) for k, v in run.data.metrics.items()}
        trained_at = iso_from_ms(run.info.start_time)
        digest = digest or run.data.tags.get("steward.data_digest", "")
        data_source = run.data.tags.get("steward.data_source", "")
        for inp in run.inputs.dataset_inputs if run.inputs else []:
            contexts = {t.key: t.value for t in inp.tags}
            if contexts.get("mlflow.data.context") == "training":
                mlflow_digest = inp.dataset.digest
                data_source = data_source or inp.dataset.source
    promoted_at = promoted_by = reason = None
    for move in moves_of(model):
        if move.version == record.version and move.to_stage == record.stage and \
                record.stage in ("Production", "Staging"):
            promoted_at, promoted_by, reason = move.at, move.by, move.reason
    baseline_uri = record.tags.get("steward.baseline_uri")
    return ModelDescription(
        name=name,
        version=record.version,
        stage=record.stage,
        run_id=record.run_id,
        params=params,
        data_digest=digest,
        data_source=redact_text(data_source) if data_source else "",
        mlflow_dataset_digest=mlflow_digest,
        metrics=metrics,
        trained_at=trained_at,
        registered_at=record.created_at,
        promoted_at=promoted_at,
        promoted_by=promoted_by,
        promotion_reason=reason,
        model_uri=record.model_uri,
        has_card=record.tags.get("steward.card") == "true",
        baseline_uri=baseline_uri,
        data=data,
    )
