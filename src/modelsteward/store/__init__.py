"""The prediction log: predictions, features, outcomes and model version (SQLAlchemy)."""

from modelsteward.store.group_commit import GroupCommitWriter
from modelsteward.store.prediction_log import (
    FRAME_COLUMNS,
    PredictionLog,
    default_log_url,
    new_prediction_id,
    new_prediction_ids,
)
from modelsteward.store.retention import ExportResult, PruneResult, export_parquet, parse_age, prune

__all__ = ["FRAME_COLUMNS", "ExportResult", "GroupCommitWriter", "PredictionLog", "PruneResult",
           "default_log_url", "export_parquet", "new_prediction_id", "new_prediction_ids",
           "parse_age", "prune"]
