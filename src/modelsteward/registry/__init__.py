"""Model registry workflow on MLflow: log, register, stages with history, rollback, cards.

Stages live on MLflow aliases (``production``, ``staging``) and version tags; every move is
appended to a history kept in MLflow. See the README section "Registry".

    >>> from modelsteward.registry import parse_stage
    >>> parse_stage("PRODUCTION")
    'Production'
"""

from __future__ import annotations

from modelsteward.registry.cards import ModelCard, get_model_card, set_model_card
from modelsteward.registry.describe import describe
from modelsteward.registry.history import history
from modelsteward.registry.loading import load_baseline, load_model
from modelsteward.registry.lookup import current_version, get_version, list_models, list_versions
from modelsteward.registry.promotion import promote, rollback
from modelsteward.registry.records import (
    ModelDescription,
    ModelVersionRecord,
    RegisteredModelSummary,
    StageMove,
    TrainingRunRecord,
)
from modelsteward.registry.stages import STAGES, alias_for, parse_stage
from modelsteward.registry.tracking import resolve_tracking_uri, use_tracking
from modelsteward.registry.training import log_training_run

__all__ = [
    "STAGES",
    "ModelCard",
    "ModelDescription",
    "ModelVersionRecord",
    "RegisteredModelSummary",
    "StageMove",
    "TrainingRunRecord",
    "alias_for",
    "current_version",
    "describe",
    "get_model_card",
    "get_version",
    "history",
    "list_models",
    "list_versions",
    "load_baseline",
    "load_model",
    "log_training_run",
    "parse_stage",
    "promote",
    "resolve_tracking_uri",
    "rollback",
    "set_model_card",
    "use_tracking",
]
