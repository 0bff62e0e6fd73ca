"""Tables of the prediction log and the schema version they belong to."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

#: Bumped whenever a table changes; stored in ``steward_schema`` on first use.
SCHEMA_VERSION = 1

metadata = MetaData()

schema_info = Table(
    "steward_schema",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

predictions = Table(
    "predictions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("ts", Float, nullable=False),  # seconds since the epoch, UTC
    Column("model_name", String(256), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("features", Text, nullable=False),  # one JSON object per row
    Column("prediction", Text, nullable=False),  # JSON value
    Index("ix_predictions_model_ts", "model_name", "ts"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("prediction_id", String(32), ForeignKey("predictions.id"), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("value", Float, nullable=False),
)
