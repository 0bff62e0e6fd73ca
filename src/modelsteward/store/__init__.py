"""The prediction log: predictions, features, outcomes and model version (SQLAlchemy)."""

from modelsteward.store.group_commit import GroupCommitWriter
from modelsteward.store.prediction_log import (
    FRAME_COLUMNS,
    PredictionLog,
    default_log_url,
    new_prediction_id,
    new_prediction_ids,
)

__all__ = ["FRAME_COLUMNS", "GroupCommitWriter", "PredictionLog", "default_log_url",
           "new_prediction_id", "new_prediction_ids"]
