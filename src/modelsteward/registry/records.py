"""Frozen result records of the registry, each with ``to_dict()``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ModelDescription",
    "ModelVersionRecord",
    "RegisteredModelSummary",
    "StageMove",
    "TrainingRunRecord",
]


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class TrainingRunRecord(_ToDict):
    """What ``log_training_run`` produced: the run, and the version when one was registered.

    ``version`` is a string (MLflow returns int on SQLite and str over HTTP; normalised).
    """

    run_id: str
    model_name: str | None
    version: str | None
    model_uri: str
    experiment_id: str = ""
    data_digest: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersionRecord(_ToDict):
    """One registered model version and its stage."""

    name: str
    version: str
    run_id: str
    stage: str
    source: str
    created_at: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def model_uri(self) -> str:
        """``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class StageMove(_ToDict):
    """One entry of a model's stage history (append-only, kept in MLflow).

    ``kind`` is ``"promote"`` (an explicit move), ``"replace"`` (moved out because another
    version took its stage) or ``"rollback"``.
    """

    seq: int
    version: str
    from_stage: str
    to_stage: str
    at: str
    by: str
    reason: str
    kind: str = "promote"


@dataclass(frozen=True)
class RegisteredModelSummary(_ToDict):
    """One row of ``list_models``."""

    name: str
    latest_version: str | None
    production_version: str | None
    staging_version: str | None
    updated_at: str
    n_versions: int
    description: str = ""


@dataclass(frozen=True)
class ModelDescription(_ToDict):
    """The four questions about a model version, answered in one record.

    Which hyperparameters (``params``), which training data (``data_digest``,
    ``data_source``), how it scored (``metrics``), when it was trained (``trained_at``);
    plus when it was registered and promoted, and by whom.
    """

    name: str
    version: str
    stage: str
    run_id: str
    params: dict[str, str]
    data_digest: str
    data_source: str
    mlflow_dataset_digest: str
    metrics: dict[str, float]
    trained_at: str
    registered_at: str
    promoted_at: str | None
    promoted_by: str | None
    promotion_reason: str | None
    model_uri: str
    has_card: bool
    baseline_uri: str | None
    data: dict[str, Any] = field(default_factory=dict)
