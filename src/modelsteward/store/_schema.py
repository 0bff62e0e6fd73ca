"""Tables of the prediction log and the schema version they belong to."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

#: Bumped whenever a table changes; stored in ``steward_schema`` on first use.
#: 1: features as one JSON object per row. 2: requests of many rows keep their features as
#: one Arrow IPC stream in ``feature_batches`` (rows point at it); 1's rows stay readable.
SCHEMA_VERSION = 2

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
    Column("features", Text, nullable=False),  # one JSON object per row, '' when batched
    Column("prediction", Text, nullable=False),  # JSON value
    Column("batch_id", String(32), nullable=True),  # feature_batches.id (schema 2)
    Column("batch_row", Integer, nullable=True),  # the row's index in that batch
    Index("ix_predictions_model_ts", "model_name", "ts"),
)

feature_batches = Table(
    "feature_batches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("model_name", String(256), nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("features", LargeBinary, nullable=False),  # Arrow IPC stream, one column a feature
    Index("ix_feature_batches_model_ts", "model_name", "ts"),
)

#: Columns schema 2 added to tables of schema 1: (table, column, SQL type).
MIGRATION_2 = (("predictions", "batch_id", "VARCHAR(32)"), ("predictions", "batch_row", "INTEGER"))

outcomes = Table(
    "outcomes",
    metadata,
    Column("prediction_id", String(32), ForeignKey("predictions.id"), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("value", Float, nullable=False),
)

#: The version each served (model, alias) was last switched to, by whichever ``steward serve``
#: process switched first: the others (other hosts, sharing this database) poll this row and
#: look at the registry at once when it changes. Created on first use; not a schema change
#: older readers notice.
serve_versions = Table(
    "serve_versions",
    metadata,
    Column("model_name", String(256), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("changed_at", Float, nullable=False),
    Column("host", String(256), nullable=True),
)
