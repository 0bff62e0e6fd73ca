"""Tables of the prediction log and the schema version they belong to."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
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
#: 3: such a request is ONE row of ``feature_batches`` holding its predictions too (no rows
#: in ``predictions``); its rows' ids are ``<batch id>-<row, 7 digits>``. Outcomes lose the
#: foreign key (a batched row has no ``predictions`` row) and name their batch.
SCHEMA_VERSION = 3

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
    # schema 3: the batch's own rows (none in ``predictions``); NULL on schema 2's batches
    Column("model_version", String(64), nullable=True),
    Column("predictions", Text, nullable=True),  # one JSON value a row, joined by newlines
    Index("ix_feature_batches_model_ts", "model_name", "ts"),
)

#: Columns schema 2 added to tables of schema 1: (table, column, SQL type).
MIGRATION_2 = (("predictions", "batch_id", "VARCHAR(32)"), ("predictions", "batch_row", "INTEGER"))
#: Columns schema 3 added (outcomes are rebuilt on SQLite to drop their foreign key).
MIGRATION_3 = (("feature_batches", "model_version", "VARCHAR(64)"),
               ("feature_batches", "predictions", "TEXT"), ("outcomes", "batch_id", "VARCHAR(32)"))

outcomes = Table(
    "outcomes",
    metadata,
    # no foreign key (schema 3): a batched row's id names a feature_batches row and an index;
    # PredictionLog.log_outcomes checks every id before writing
    Column("prediction_id", String(32), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("value", Float, nullable=False),
    Column("batch_id", String(32), nullable=True),  # the batch of a batched row's outcome
    Index("ix_outcomes_batch", "batch_id"),
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
