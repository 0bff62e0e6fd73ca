"""The prediction log: every prediction the service made, and the outcomes that came later.

SQLite (WAL, ``synchronous=FULL``) under ``./.steward/predictions.db`` by default; any
``postgresql://`` URL for teams. Tables are created, and the schema version recorded, on
first use::

    >>> import tempfile, pathlib
    >>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'p.db'}"
    >>> log = PredictionLog(url)
    >>> ids = log.log_predictions("churn", "3", [{"age": 41, "plan": "b"}], [0.82])
    >>> log.log_outcomes({ids[0]: 1.0})
    1
    >>> frame = log.read_frame("churn")
    >>> list(frame.columns)[:6]
    ['prediction_id', 'timestamp', 'model_name', 'model_version', 'age', 'plan']
    >>> float(frame.loc[0, "outcome"])
    1.0
    >>> log.close()
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError

from modelsteward.errors import StoreError, UnknownPredictionError
from modelsteward.redact import redact_text, redact_uri
from modelsteward.store._schema import (
    MIGRATION_2,
    MIGRATION_3,
    SCHEMA_VERSION,
    feature_batches,
    metadata,
    outcomes,
    predictions,
    schema_info,
    serve_versions,
)

__all__ = ["PredictionLog", "LogRows", "RowList", "default_log_url", "new_prediction_id",
           "new_prediction_ids", "rows_to_frame", "to_epoch", "FRAME_COLUMNS",
           "count_predictions", "batch_row_id", "split_batch_row_id"]

#: Columns of :meth:`PredictionLog.read_frame` around the feature columns.
FRAME_COLUMNS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("prediction_id", "timestamp", "model_name", "model_version"),
    ("prediction", "outcome", "outcome_timestamp"),
)
_RESERVED = frozenset(FRAME_COLUMNS[0] + FRAME_COLUMNS[1])
_IN_CHUNK = 500  # ids per IN (...) clause
_CHECKPOINT_EVERY = 1.0  # seconds between background WAL checkpoints
# rows per multi-row INSERT on SQLite (8 values each: below the 999-variable limit of old
# SQLite builds), largest first
_MULTI_ROW_SIZES = (96, 32, 8)
#: requests of at least this many rows keep their features as one Arrow IPC stream
_BLOB_MIN_ROWS = 32
_BATCH_ID_LEN = 24  # a batch's id: the first 24 hex digits of its first row's id
_ROW_DIGITS = 7  # a batched row's id: "<batch id>-<row, 7 digits>" (32 characters)
_DIGITS = frozenset("0123456789")


def batch_row_id(batch_id: str, row: int) -> str:
    """The prediction id of row ``row`` of a batch stored as one ``feature_batches`` row.

    >>> batch_row_id("0" * 24, 7)
    '000000000000000000000000-0000007'
    """
    return f"{batch_id}-{row:0{_ROW_DIGITS}d}"


def split_batch_row_id(pid: str) -> tuple[str, int] | None:
    """``(batch id, row)`` of an id made by :func:`batch_row_id`, else None (one row's id).

    >>> split_batch_row_id("0" * 24 + "-0000012"), split_batch_row_id("0" * 32)
    (('000000000000000000000000', 12), None)
    """
    if len(pid) != _BATCH_ID_LEN + 1 + _ROW_DIGITS or pid[_BATCH_ID_LEN] != "-":
        return None
    digits = pid[_BATCH_ID_LEN + 1:]
    if not set(digits) <= _DIGITS:
        return None
    return pid[:_BATCH_ID_LEN], int(digits)


def count_predictions(rows: Sequence[tuple[Any, ...]]) -> int:
    """Predictions in rows made by :meth:`PredictionLog.make_rows_from_columns`: the rows,
    and the rows of each batch stored as one row (see :class:`RowList`).

    >>> count_predictions(RowList([], [("b", 0.0, "m", 5, b"", "1", "0\\n1")]))
    5
    """
    batches = getattr(rows, "batches", None)
    return len(rows) + (sum(b[3] for b in batches) if batches else 0)


class RowList(list[tuple[Any, ...]]):
    """Rows for :meth:`PredictionLog.write_rows` and the batches stored as one row each.

    ``batches`` holds ``(batch_id, ts, model_name, n_rows, arrow_ipc_bytes, model_version,
    predictions_json_lines)`` tuples: a batch's rows are not in the list (one insert for the
    whole request); :func:`count_predictions` counts both. ``ids`` are the prediction ids
    of a single request's rows (None when they are the rows' own ids).
    """

    batches: list[tuple[Any, ...]]
    ids: list[str] | None

    def __init__(self, rows: Iterable[tuple[Any, ...]] = (),
                 batches: Iterable[tuple[Any, ...]] = ()) -> None:
        super().__init__(rows)
        self.batches = list(batches)
        self.ids = None

    @classmethod
    def join(cls, parts: Iterable[Sequence[tuple[Any, ...]]]) -> RowList:
        """Several requests' rows (and batches) as one list, for one transaction."""
        out = cls()
        for part in parts:
            out.extend(part)
            out.batches.extend(getattr(part, "batches", ()))
        return out


@dataclass(frozen=True)
class LogRows:
    """Rows of the log as the database holds them, and the feature batches they point at.

    A row is ``(id, ts, model_name, model_version, features_json, prediction_json, outcome,
    outcome_ts, batch_id, batch_row)``; ``blobs`` maps a batch id to its Arrow IPC stream.
    Values are the driver's, unconverted: a reader that must survive a corrupt row (a text
    time, features that are not JSON) checks them itself and builds the frame with
    :func:`rows_to_frame`; :meth:`to_frame` is :meth:`PredictionLog.read_frame`'s frame.
    """

    rows: list[tuple[Any, ...]]
    blobs: dict[str, bytes]

    def to_frame(self) -> pd.DataFrame:
        """The rows as :meth:`PredictionLog.read_frame` returns them."""
        return rows_to_frame(self.rows, self.blobs)


_ARROW_KINDS = ("int64", "double", "bool", "string", "large_string")


def _arrow_blob(columns: Mapping[str, Sequence[Any]]) -> bytes | None:
    """The columns as one Arrow IPC stream, or None when a column is not plain ints, floats,
    booleans or strings (nested values, >64-bit ints, all nulls): those rows keep JSON."""
    arrays = []
    for values in columns.values():
        try:
            arr = pa.array(values if type(values) is list else list(values))
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            return None
        if str(arr.type) not in _ARROW_KINDS:
            return None
        arrays.append(arr)
    table = pa.Table.from_arrays(arrays, names=[str(n) for n in columns])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def default_log_url(cwd: str | os.PathLike[str] | None = None) -> str:
    """``sqlite:///<cwd>/.steward/predictions.db`` (the embedded default)."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    return f"sqlite:///{(base / '.steward' / 'predictions.db').resolve()}"


_SEQUENCE = itertools.count(secrets.randbits(20))


def new_prediction_id() -> str:
    """A 32-hex-digit id that sorts by creation time within a process.

    48-bit millisecond clock, 24-bit process sequence, 56 random bits: ids made one after
    the other sort in that order, so rows sharing a timestamp keep their request order.
    """
    return (f"{time.time_ns() // 1_000_000:012x}{next(_SEQUENCE) & 0xFFFFFF:06x}"
            f"{secrets.randbits(56):014x}")


def new_prediction_ids(n: int) -> list[str]:
    """``n`` ids as :func:`new_prediction_id` makes them, in order, made in bulk."""
    if n <= 0:
        return []
    if n >= 32:
        return _prediction_ids_vectorised(n)
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    noise = os.urandom(7 * n).hex()
    seqs = [next(_SEQUENCE) & 0xFFFFFF for _ in range(n)]
    return [f"{stamp}{seq:06x}{noise[14 * i:14 * i + 14]}" for i, seq in enumerate(seqs)]


def _prediction_ids_vectorised(n: int) -> list[str]:
    """The same ids as the loop in :func:`new_prediction_ids`, laid out as bytes with numpy
    and hex-encoded in one call (half the time for a 1,000-row request)."""
    ms = time.time_ns() // 1_000_000
    seqs = [next(_SEQUENCE) for _ in range(n)]  # the shared counter moves by n, atomically each
    buf = np.empty((n, 16), dtype=np.uint8)
    buf[:, :6] = np.frombuffer((ms & 0xFFFF_FFFF_FFFF).to_bytes(6, "big"), dtype=np.uint8)
    seq = np.asarray(seqs, dtype=np.uint64) & 0xFFFFFF
    buf[:, 6] = seq >> 16
    buf[:, 7] = (seq >> 8) & 0xFF
    buf[:, 8] = seq & 0xFF
    buf[:, 9:] = np.frombuffer(os.urandom(7 * n), dtype=np.uint8).reshape(n, 7)
    text = buf.tobytes().hex()
    return [text[i:i + 32] for i in range(0, 32 * n, 32)]


_SCALARS = frozenset({int, float, bool, type(None)})


def _encode_column(values: Sequence[Any]) -> list[str]:
    """JSON text of each value; numbers, booleans and nulls in one encoder call."""
    kinds = set(map(type, values))
    if kinds <= _SCALARS:
        try:
            fast = orjson.dumps(values if type(values) is list else list(values))
        except (TypeError, ValueError):  # an int beyond 64 bits: the stdlib encoder takes it
            fast = None
        # orjson writes NaN and inf as null; keep the stdlib's NaN so a log keeps them apart
        if fast is not None and (type(None) in kinds or b"null" not in fast):
            text = fast[1:-1].decode()
        else:
            text = _ENCODER.encode(list(values))[1:-1]
        return text.split(",") if text else []
    encode = _ENCODER.encode
    return [encode(v) for v in values]


def _row_template(names: Sequence[str]) -> str:
    keys = [_ENCODER.encode(str(n)).replace("%", "%%") for n in names]
    return "{" + ",".join(f"{k}:%s" for k in keys) + "}"


def to_epoch(value: Any, name: str) -> float | None:
    """Epoch seconds of a datetime, ISO string or number (naive times are UTC); None stays
    None. ``name`` is the argument named in the StoreError a bad value raises.

    >>> to_epoch("1970-01-02", "since")
    86400.0
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds):  # NaN would silently select no rows at all
            raise StoreError(f"{name}={value!r} is not a time; pass a datetime, an ISO string "
                             "or finite epoch seconds")
        return seconds
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise StoreError(
            f"{name}={value!r} is not a time; pass a datetime, an ISO string or epoch seconds"
        ) from exc
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return float(stamp.timestamp())


def _jsonable(value: Any) -> Any:
    """Plain Python for numpy scalars and arrays, so json.dumps accepts a prediction."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# one encoder, built once: json.dumps(..., default=...) would build a new one per call
_ENCODER = json.JSONEncoder(default=_jsonable, separators=(",", ":"), allow_nan=True)


class PredictionLog:
    """Append-only log of predictions and their later outcomes (SQLAlchemy Core).

    ``url`` is a SQLAlchemy URL; ``None`` is :func:`default_log_url`. Thread-safe: one
    instance may be shared by every thread of a process.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_log_url()
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise StoreError(
                f"prediction log URL {redact_uri(self.url)!r} is not a database URL; use "
                "sqlite:///path/predictions.db or postgresql://user@host/db"
            ) from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(
                f"prediction log backend {self.dialect!r} is not supported; "
                "use sqlite:///... or postgresql://..."
            )
        self._engine = self._make_engine(parsed)
        self._writer_engine: Engine = self._engine.execution_options(steward_write=True)
        mark = "?" if self.dialect == "sqlite" else "%s"
        self._insert_sql = (
            "INSERT INTO predictions (id, ts, model_name, model_version, features, prediction, "
            f"batch_id, batch_row) VALUES ({', '.join([mark] * 8)})"
        )
        self._insert_batch_sql = (
            "INSERT INTO feature_batches (id, ts, model_name, n_rows, features, model_version, "
            f"predictions) VALUES ({', '.join([mark] * 7)})"
        )
        self._multi_sql: dict[int, str] = {}
        self._init_lock = threading.Lock()
        self._initialised = False
        self._checkpointer: threading.Thread | None = None
        self._closing = threading.Event()
        self.ensure_schema()

    # --- engine and schema ------------------------------------------------------------------
    def _make_engine(self, parsed: Any) -> Engine:
        if self.dialect == "sqlite":
            database = parsed.database
            if not database or database == ":memory:":
                raise StoreError(
                    "an in-memory SQLite prediction log would lose every prediction; "
                    "give a file: sqlite:///path/predictions.db"
                )
            _create_private(Path(database))
            # ?synchronous=normal trades power-loss durability for commit latency (a process
            # crash still loses nothing committed); the default FULL fsyncs every commit
            sync = str(parsed.query.get("synchronous", "full")).upper()
            if sync not in ("FULL", "NORMAL", "EXTRA"):
                raise StoreError(
                    f"synchronous={sync.lower()} is not a SQLite level steward accepts; use "
                    "full (the default), normal or extra"
                )
            parsed = parsed.difference_update_query(["synchronous"])
            self.synchronous = sync
            # LIFO: the connection used last (its page cache still valid) serves the next
            # commit, instead of cycling through the pool's connections
            engine = create_engine(parsed, pool_size=8, max_overflow=8, pool_use_lifo=True)

            @event.listens_for(engine, "connect")
            def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={sync}")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA foreign_keys=ON")
                # checkpoints run in a background thread, not inside a commit (see below)
                cur.execute("PRAGMA wal_autocheckpoint=0")
                cur.close()

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn: Connection) -> None:
                # writers take the write lock up front: no SQLITE_BUSY on lock upgrade
                write = conn.get_execution_options().get("steward_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            return engine
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_size=8, max_overflow=8, pool_pre_ping=True)

    def ensure_schema(self) -> None:
        """Create the tables and record the schema version if this is the first use."""
        with self._init_lock:
            if self._initialised:
                return
            for attempt in range(3):
                try:
                    metadata.create_all(self._writer_engine, checkfirst=True)
                    with self._writer_engine.begin() as conn:
                        row = conn.execute(select(schema_info.c.version)).first()
                        if row is None:
                            conn.execute(
                                schema_info.insert().values(
                                    id=1, version=SCHEMA_VERSION, created_at=time.time()
                                )
                            )
                        elif row.version > SCHEMA_VERSION:
                            raise StoreError(
                                f"prediction log {self._safe_url()} has schema version "
                                f"{row.version}, newer than this modelsteward understands "
                                f"({SCHEMA_VERSION}); upgrade modelsteward"
                            )
                        elif row.version < SCHEMA_VERSION:
                            self._migrate(conn, int(row.version))
                    break
                except (IntegrityError, OperationalError) as exc:
                    # another process created the tables at the same moment: look again
                    if attempt == 2:
                        raise StoreError(
                            f"cannot create the prediction log tables in {self._safe_url()}: "
                            f"{_db_error(exc)}; check the URL and that the database exists"
                        ) from exc
                    time.sleep(0.05 * (attempt + 1))
                except SQLAlchemyError as exc:
                    raise StoreError(
                        f"cannot open the prediction log {self._safe_url()}: {_db_error(exc)}; "
                        "check the "
                        "URL and that the database server is running"
                    ) from exc
            self._initialised = True

    def _migrate(self, conn: Connection, version: int) -> None:
        """Bring a log of an older schema to :data:`SCHEMA_VERSION`, in the caller's write
        transaction (columns added, nothing rewritten: old rows stay as they are; schema 3
        drops the outcomes' foreign key, rebuilding that table on SQLite)."""
        added = (MIGRATION_2 if version < 2 else ()) + (MIGRATION_3 if version < 3 else ())
        inspector = inspect(conn)
        for table, column, sql_type in added:
            if table == "outcomes" and self.dialect == "sqlite":
                continue  # rebuilt below, with the column
            if column not in {c["name"] for c in inspector.get_columns(table)}:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
        if version < 3:
            if self.dialect == "sqlite":
                conn.exec_driver_sql(
                    "CREATE TABLE outcomes_v3 (prediction_id VARCHAR(32) NOT NULL, ts FLOAT NOT "
                    "NULL, value FLOAT NOT NULL, batch_id VARCHAR(32), PRIMARY KEY "
                    "(prediction_id))")
                conn.exec_driver_sql("INSERT INTO outcomes_v3 (prediction_id, ts, value) "
                                     "SELECT prediction_id, ts, value FROM outcomes")
                conn.exec_driver_sql("DROP TABLE outcomes")
                conn.exec_driver_sql("ALTER TABLE outcomes_v3 RENAME TO outcomes")
            else:
                for fk in inspector.get_foreign_keys("outcomes"):
                    if fk.get("name"):
                        conn.exec_driver_sql(
                            f'ALTER TABLE outcomes DROP CONSTRAINT "{fk["name"]}"')
            conn.exec_driver_sql(
                "CREATE INDEX IF NOT EXISTS ix_outcomes_batch ON outcomes (batch_id)")
        conn.execute(schema_info.update().values(version=SCHEMA_VERSION))

    def _safe_url(self) -> str:
        """The URL with its password and secret-looking query values masked."""
        return redact_uri(make_url(self.url).render_as_string(hide_password=True))

    def schema_version(self) -> int:
        """The schema version stored in the database."""
        with self._engine.connect() as conn:
            return int(conn.execute(select(schema_info.c.version)).scalar_one())

    def close(self) -> None:
        """Stop the checkpoint thread, checkpoint the WAL and release every connection."""
        self._closing.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=10)
            self._checkpoint("TRUNCATE")
        self._engine.dispose()

    def _start_checkpointer(self) -> None:
        """SQLite: move the WAL into the database every second, off the commit path.

        With automatic checkpoints the commit that crosses the threshold copies and fsyncs
        the whole WAL while every waiting request waits for it; a PASSIVE checkpoint from
        another connection never blocks writers.
        """
        if self.dialect != "sqlite" or self._checkpointer is not None:
            return
        with self._init_lock:
            if self._checkpointer is not None:
                return

            def loop() -> None:
                while not self._closing.wait(_CHECKPOINT_EVERY):
                    self._checkpoint("PASSIVE")

            self._checkpointer = threading.Thread(target=loop, name="steward-wal-checkpoint",
                                                  daemon=True)
            self._checkpointer.start()

    def _checkpoint(self, mode: str) -> None:
        try:
            raw = self._engine.raw_connection()  # autocommit driver connection: no BEGIN
            try:
                cur = raw.cursor()
                cur.execute(f"PRAGMA wal_checkpoint({mode})")
                cur.fetchall()
                cur.close()
            finally:
                raw.close()
        except Exception:  # noqa: BLE001 - busy or closing: the next round does it
            pass

    # --- writing predictions ------------------------------------------------------------------
    @staticmethod
    def make_rows(
        model_name: str,
        model_version: str,
        features: Sequence[Mapping[str, Any]],
        predictions_: Sequence[Any],
        *,
        ids: Sequence[str] | None = None,
        timestamp: float | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows ready for :meth:`write_rows`: one per prediction, ids made if not given.

        A row is ``(id, ts, model_name, model_version, features_json, prediction_json,
        batch_id, batch_row)``; these rows keep JSON features (``batch_id`` None).
        """
        if len(features) != len(predictions_):
            raise StoreError(
                f"{len(features)} feature rows but {len(predictions_)} predictions; "
                "give one prediction per row"
            )
        ts = time.time() if timestamp is None else timestamp
        if ids is None:
            ids = [new_prediction_id() for _ in features]
        encode = _ENCODER.encode
        version = str(model_version)
        try:
            return [
                (pid, ts, model_name, version, encode(row), encode(pred), None, None)
                for pid, row, pred in zip(ids, features, predictions_, strict=True)
            ]
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"a feature or prediction cannot be stored as JSON: {exc}; log plain numbers, "
                "strings, booleans or lists"
            ) from exc

    @staticmethod
    def make_rows_from_columns(
        model_name: str,
        model_version: str,
        columns: Mapping[str, Sequence[Any]],
        predictions_: Sequence[Any],
        *,
        ids: Sequence[str],
        timestamp: float | None = None,
    ) -> list[tuple[Any, ...]]:
        """Like :meth:`make_rows`, from column lists (no per-row dicts are built).

        A request of 32 rows or more whose columns are plain ints, floats, booleans or strings
        is stored as ONE row (``RowList.batches``): its features as one Arrow IPC stream, its
        predictions as JSON lines; its rows' ids are ``<batch id>-<row>`` (``RowList.ids``,
        made from ``ids[0]``, not ``ids``): one insert for the request, read back without
        decoding JSON features.
        """
        n = len(ids)
        if len(predictions_) != n or any(len(v) != n for v in columns.values()):
            raise StoreError(
                f"{n} ids, {len(predictions_)} predictions and columns of lengths "
                f"{sorted({len(v) for v in columns.values()})}; give one of each per row"
            )
        ts = time.time() if timestamp is None else timestamp
        version = str(model_version)
        blob = _arrow_blob(columns) if _BLOB_MIN_ROWS <= n < 10 ** _ROW_DIGITS and columns \
            else None
        if blob is not None:
            try:
                preds = _encode_column(predictions_)
            except (TypeError, ValueError) as exc:
                raise StoreError(
                    f"a prediction cannot be stored as JSON: {exc}; log plain numbers, "
                    "strings, booleans or lists") from exc
            batch_id = ids[0][:_BATCH_ID_LEN]
            # JSON text never holds a raw newline (strings escape it): one line a row
            out = RowList([], [(batch_id, ts, model_name, n, blob, version, "\n".join(preds))])
            out.ids = [f"{batch_id}-{i:0{_ROW_DIGITS}d}" for i in range(n)]
            return out
        try:
            encoded = [_encode_column(v) for v in columns.values()]
            template = _row_template(list(columns))
            feats = [template % vals for vals in zip(*encoded, strict=True)] if encoded \
                else ["{}"] * n
            preds = _encode_column(predictions_)
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"a feature or prediction cannot be stored as JSON: {exc}; log plain numbers, "
                "strings, booleans or lists"
            ) from exc
        return [
            (pid, ts, model_name, version, feat, pred, None, None)
            for pid, feat, pred in zip(ids, feats, preds, strict=True)
        ]

    def write_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert prediction rows in ONE committed transaction (the group-commit unit)."""
        batches = getattr(rows, "batches", None)
        if not rows and not batches:
            return
        if self._checkpointer is None:
            self._start_checkpointer()
        try:
            with self._writer_engine.begin() as conn:
                if batches:
                    conn.exec_driver_sql(self._insert_batch_sql, list(batches))
                if not rows:
                    pass
                elif self.dialect == "sqlite" and len(rows) >= _MULTI_ROW_SIZES[-1]:
                    self._insert_multi_row(conn, rows)
                else:
                    conn.exec_driver_sql(self._insert_sql, list(rows))
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot write {count_predictions(rows)} predictions to {self._safe_url()}: "
                f"{_db_error(exc)}"
            ) from exc

    def _insert_multi_row(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """SQLite: ``INSERT ... VALUES (...), (...), ...`` statements of a few fixed sizes.

        One statement per 16 to 128 rows costs about 40% less CPU than executemany's one
        step per row (1,000 rows: 1.6 ms instead of 2.8 ms here); the fixed sizes keep the
        prepared statements in the driver's cache. The rest goes row by row.
        """
        start, n = 0, len(rows)
        for size in _MULTI_ROW_SIZES:
            sql = self._multi_sql.get(size)
            if sql is None:
                sql = self._multi_sql.setdefault(
                    size, self._insert_sql.split(" VALUES ")[0] + " VALUES "
                    + ",".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * size))
            while n - start >= size:
                flat = tuple(itertools.chain.from_iterable(rows[start:start + size]))
                conn.exec_driver_sql(sql, flat)
                start += size
        if start < n:
            conn.exec_driver_sql(self._insert_sql, list(rows[start:]))

    def log_predictions(
        self,
        model_name: str,
        model_version: str,
        features: list[dict[str, Any]],
        predictions: list[Any],
    ) -> list[str]:
        """Log one prediction per feature row, committed before returning; returns the ids."""
        rows = self.make_rows(model_name, model_version, features, predictions)
        self.write_rows(rows)
        return [r[0] for r in rows]

    # --- outcomes ------------------------------------------------------------------------------
    def log_outcomes(
        self, outcomes_: Mapping[str, float], *, timestamp: float | None = None
    ) -> int:
        """Record outcomes by prediction id; returns how many were new.

        Every id must be in the log, otherwise nothing is written and
        :class:`UnknownPredictionError` lists the unknown ids (``.ids``). Sending the same
        outcome again is a no-op: the first outcome recorded for a prediction is kept.
        """
        clean: dict[str, float] = {}
        for pid, value in outcomes_.items():
            try:
                number = float(value)
            except OverflowError:  # an int of hundreds of digits
                number = math.inf
            except (TypeError, ValueError) as exc:
                raise StoreError(
                    f"outcome for prediction {str(pid)[:64]!r} is {str(value)[:40]!r}, not a "
                    "number; send 0/1 for classes or the observed value"
                ) from exc
            if not math.isfinite(number):
                # one infinite outcome would stop every later monitor run on this log
                raise StoreError(
                    f"outcome for prediction {str(pid)[:64]!r} is not a finite number "
                    f"({'too large' if number == number else 'NaN'}); nothing was recorded; "
                    "send the observed value")
            clean[str(pid)] = number
        if not clean:
            return 0
        ts = time.time() if timestamp is None else timestamp
        ids = list(clean)
        try:
            with self._writer_engine.begin() as conn:
                known, batch_of = self._known_ids(conn, ids)
                unknown = [pid for pid in ids if pid not in known]
                if unknown:
                    error = UnknownPredictionError(
                        f"{len(unknown)} outcome(s) name prediction ids the log does not hold: "
                        f"{', '.join(unknown[:20])}{' ...' if len(unknown) > 20 else ''}; send "
                        "outcomes only for ids returned by /predict"
                    )
                    error.ids = unknown  # type: ignore[attr-defined]
                    raise error
                return self._insert_outcomes(conn, [
                    {"prediction_id": pid, "ts": ts, "value": v, "batch_id": batch_of.get(pid)}
                    for pid, v in clean.items()
                ])
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot write outcomes to {self._safe_url()}: {_db_error(exc)}") from exc

    @staticmethod
    def _known_ids(conn: Connection, ids: list[str]) -> tuple[set[str], dict[str, str]]:
        """The ids the log holds, and the batch of each batched one: a ``<batch>-<row>`` id
        is known when that batch holds its rows (schema 3) and ``row < n_rows``."""
        known: set[str] = set()
        batch_of: dict[str, str] = {}
        wanted: dict[str, list[tuple[str, int]]] = {}
        plain: list[str] = []
        for pid in ids:
            split = split_batch_row_id(pid)
            if split is None:
                plain.append(pid)
            else:
                wanted.setdefault(split[0], []).append((pid, split[1]))
        for i in range(0, len(plain), _IN_CHUNK):
            chunk = plain[i : i + _IN_CHUNK]
            known.update(conn.execute(
                select(predictions.c.id).where(predictions.c.id.in_(chunk))).scalars())
        fb = feature_batches
        batch_ids = list(wanted)
        for i in range(0, len(batch_ids), _IN_CHUNK):
            found = conn.execute(select(fb.c.id, fb.c.n_rows).where(
                fb.c.id.in_(batch_ids[i : i + _IN_CHUNK]), fb.c.predictions.is_not(None)))
            for bid, n_rows in found:
                for pid, row in wanted[str(bid)]:
                    if row < int(n_rows):
                        known.add(pid)
                        batch_of[pid] = str(bid)
        return known, batch_of

    def _upsert_insert(self) -> Any:
        """The dialect's ``insert`` (the one with ``on_conflict_*``)."""
        return sqlite.insert if self.dialect == "sqlite" else postgresql.insert

    def _insert_outcomes(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        insert = self._upsert_insert()
        new = 0
        for i in range(0, len(rows), _IN_CHUNK):
            chunk = rows[i : i + _IN_CHUNK]
            stmt = insert(outcomes).on_conflict_do_nothing(index_elements=["prediction_id"])
            stmt = stmt.returning(outcomes.c.prediction_id)
            new += len(conn.execute(stmt, chunk).all())
        return new

    # --- which version the serving processes switched to ------------------------------------
    def announce_version(self, model_name: str, alias: str, version: str) -> None:
        """Record that ``version`` now serves ``model_name@alias`` (one row per pair, replaced).

        ``steward serve`` calls this when it swaps versions; every other process sharing the
        log polls :meth:`announced_version` and looks at the registry at once on a change.
        """
        values = {"model_name": model_name, "alias": alias, "version": str(version),
                  "changed_at": time.time(), "host": socket.gethostname()[:256]}
        insert = self._upsert_insert()
        stmt = insert(serve_versions).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["model_name", "alias"],
            set_={k: stmt.excluded[k] for k in ("version", "changed_at", "host")})
        try:
            with self._writer_engine.begin() as conn:
                conn.execute(stmt)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record the served version in {self._safe_url()}: "
                             f"{_db_error(exc)}") from exc

    def announced_version(self, model_name: str, alias: str) -> tuple[str, float] | None:
        """``(version, changed_at)`` last announced for ``model_name@alias``, or None."""
        stmt = select(serve_versions.c.version, serve_versions.c.changed_at).where(
            serve_versions.c.model_name == model_name, serve_versions.c.alias == alias)
        try:
            with self._engine.connect() as conn:
                row = conn.execute(stmt).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the served version from {self._safe_url()}: "
                             f"{_db_error(exc)}") from exc
        return (str(row[0]), float(row[1])) if row is not None else None

    # --- reading --------------------------------------------------------------------------------
    def count(self, model_name: str | None = None) -> int:
        """Number of logged predictions (of one model, or all), batched rows included."""
        stmt = select(func.count()).select_from(predictions)
        fb = feature_batches
        in_batches = select(func.coalesce(func.sum(fb.c.n_rows), 0)).where(
            fb.c.predictions.is_not(None))
        if model_name is not None:
            stmt = stmt.where(predictions.c.model_name == model_name)
            in_batches = in_batches.where(fb.c.model_name == model_name)
        with self._engine.connect() as conn:
            conn.begin()  # one snapshot
            return int(conn.execute(stmt).scalar_one()) + int(
                conn.execute(in_batches).scalar_one())

    def prediction_ids(self, model_name: str | None = None) -> list[str]:
        """Every logged prediction id, oldest first."""
        stmt = select(predictions.c.id, predictions.c.ts)
        fb = feature_batches
        batches = select(fb.c.id, fb.c.ts, fb.c.n_rows).where(fb.c.predictions.is_not(None))
        if model_name is not None:
            stmt = stmt.where(predictions.c.model_name == model_name)
            batches = batches.where(fb.c.model_name == model_name)
        with self._engine.connect() as conn:
            conn.begin()
            pairs = [(float(ts), str(pid)) for pid, ts in conn.execute(stmt)]
            for bid, ts, n_rows in conn.execute(batches):
                pairs.extend((float(ts), batch_row_id(str(bid), i)) for i in range(n_rows))
        pairs.sort()
        return [pid for _, pid in pairs]

    def read_frame(
        self,
        model_name: str,
        *,
        since: Any = None,
        until: Any = None,
        model_version: str | None = None,
    ) -> pd.DataFrame:
        """Logged predictions of one model as a DataFrame, oldest first.

        Columns: prediction_id, timestamp (UTC), model_name, model_version, one column per
        feature (first-seen order; numeric where the values are numbers), prediction,
        outcome (NaN until it arrives), outcome_timestamp (NaT until then). ``since`` is
        inclusive, ``until`` exclusive; each a datetime, ISO string or epoch seconds (naive
        times are UTC).
        """
        return self.read_rows(model_name, since=since, until=until,
                              model_version=model_version).to_frame()

    def read_rows(
        self,
        model_name: str,
        *,
        since: Any = None,
        until: Any = None,
        model_version: str | None = None,
        ordered: bool = True,
    ) -> LogRows:
        """The raw rows of one model (oldest first unless ``ordered=False``) and the Arrow
        feature batches they point at, read from one snapshot; see :class:`LogRows`. A batch
        stored as one row (schema 3) is expanded into one row per prediction here.

        Only the rows in ``[since, until)`` are read (the ``(model_name, ts)`` index): a
        week's read costs a week's rows, however long the log.
        """
        lo, hi = to_epoch(since, "since"), to_epoch(until, "until")
        p, o = predictions, outcomes
        stmt = (
            select(
                p.c.id, p.c.ts, p.c.model_name, p.c.model_version, p.c.features,
                p.c.prediction, o.c.value, o.c.ts.label("outcome_ts"), p.c.batch_id,
                p.c.batch_row,
            )
            .select_from(p.outerjoin(o, o.c.prediction_id == p.c.id))
            .where(p.c.model_name == model_name)
        )
        if ordered:
            stmt = stmt.order_by(p.c.ts, p.c.id)
        if lo is not None:
            stmt = stmt.where(p.c.ts >= lo)
        if hi is not None:
            stmt = stmt.where(p.c.ts < hi)
        if model_version is not None:
            stmt = stmt.where(p.c.model_version == str(model_version))
        try:
            with self._engine.connect() as conn:
                conn.begin()  # rows and their feature batches from one snapshot
                rows = _plain_rows(conn, stmt)
                wanted = list(dict.fromkeys(r[8] for r in rows if r[8] is not None))
                blobs: dict[str, bytes] = {}
                for i in range(0, len(wanted), _IN_CHUNK):
                    found = conn.execute(
                        select(feature_batches.c.id, feature_batches.c.features)
                        .where(feature_batches.c.id.in_(wanted[i:i + _IN_CHUNK])))
                    blobs.update((str(k), bytes(v)) for k, v in found)
                batched = self._batched_rows(conn, model_name, lo, hi, model_version, blobs)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot read the prediction log {self._safe_url()}: {_db_error(exc)}") from exc
        if batched:
            if not rows:
                rows = batched
            else:
                rows.extend(batched)
                if ordered:
                    try:
                        rows.sort(key=lambda r: (r[1], r[0]))
                    except TypeError:  # a corrupt (text) time: leave the database's order
                        pass
        return LogRows(rows, blobs)

    @staticmethod
    def _batched_rows(conn: Connection, model_name: str, lo: float | None, hi: float | None,
                      model_version: str | None, blobs: dict[str, bytes]
                      ) -> list[tuple[Any, ...]]:
        """Rows of the batches stored as one row each (schema 3) in ``[lo, hi)``, laid out as
        :class:`LogRows`' rows, oldest batch first; their features go into ``blobs``."""
        fb, o = feature_batches, outcomes
        stmt = select(fb.c.id, fb.c.ts, fb.c.model_name, fb.c.model_version, fb.c.n_rows,
                      fb.c.predictions, fb.c.features).where(
            fb.c.model_name == model_name, fb.c.predictions.is_not(None)
        ).order_by(fb.c.ts, fb.c.id)
        if lo is not None:
            stmt = stmt.where(fb.c.ts >= lo)
        if hi is not None:
            stmt = stmt.where(fb.c.ts < hi)
        if model_version is not None:
            stmt = stmt.where(fb.c.model_version == str(model_version))
        found = conn.execute(stmt).all()
        if not found:
            return []
        ids = [str(b[0]) for b in found]
        done: dict[str, tuple[Any, Any]] = {}
        for i in range(0, len(ids), _IN_CHUNK):
            done.update((str(pid), (value, ts)) for pid, value, ts in conn.execute(
                select(o.c.prediction_id, o.c.value, o.c.ts).where(
                    o.c.batch_id.in_(ids[i:i + _IN_CHUNK]))))
        rows: list[tuple[Any, ...]] = []
        none = (None, None)
        for bid_raw, ts, name, version, n_rows, preds, features in found:
            bid = str(bid_raw)
            blobs[bid] = bytes(features)
            lines = str(preds).split("\n")
            for i in range(int(n_rows)):
                pid = f"{bid}-{i:0{_ROW_DIGITS}d}"
                value, o_ts = done.get(pid, none) if done else none
                rows.append((pid, ts, name, version, "", lines[i], value, o_ts, bid, i))
        return rows


def _db_error(exc: SQLAlchemyError) -> str:
    """The driver's message, first line only (no SQL, no bound feature values), redacted."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    first = redact_text(text[0] if text else type(exc).__name__)
    return first if len(first) <= 300 else first[:297] + "..."


def _create_private(database: Path) -> None:
    """Create the SQLite file 0600 (and its directory 0700 when it does not exist yet).

    The log holds every feature sent to the model: nobody but the owner should read it.
    SQLite gives the ``-wal`` and ``-shm`` files the database file's permissions. An existing
    file or directory is left as it is.
    """
    parent = database.parent
    if not parent.exists():
        parent.mkdir(parents=True, exist_ok=True)
        try:
            parent.chmod(0o700)
        except OSError:  # pragma: no cover - a file system without permissions
            pass
    try:
        fd = os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # SQLite names the problem when it opens the file
    os.close(fd)


_DECODE_CHUNK = 8192  # JSON documents per parser call


def _decode_many(texts: Iterable[str]) -> list[Any]:
    """Many small JSON documents decoded in a few parser calls (much faster than one per row).

    orjson takes chunks of 8,192 documents; a chunk it refuses (a ``NaN`` feature the log
    keeps apart from null, an int beyond 64 bits) goes to the stdlib parser, so the values
    are exactly ``json.loads``'s. Raises ValueError on text that is not JSON.
    """
    texts = texts if isinstance(texts, list) else list(texts)
    out: list[Any] = []
    for i in range(0, len(texts), _DECODE_CHUNK):
        joined = "[" + ",".join(texts[i:i + _DECODE_CHUNK]) + "]"
        try:
            out.extend(orjson.loads(joined))
        except orjson.JSONDecodeError:
            out.extend(json.loads(joined))
    return out


def _records_frame(records: list[Any]) -> pd.DataFrame:
    """Feature dicts as a frame, one column at a time when every dict has the same keys
    (half the time of ``DataFrame.from_records``); otherwise ``from_records``."""
    if not records:
        return pd.DataFrame()
    first = records[0]
    if type(first) is dict and first and set(map(type, records)) == {dict}:
        keys = list(first)
        if set(map(len, records)) == {len(keys)} and set().union(*records) == set(keys):
            return pd.DataFrame({k: [r[k] for r in records] for k in keys})
    return pd.DataFrame.from_records(records)


def _numeric_if_possible(series: pd.Series) -> pd.Series:
    if series.dtype != object:
        return series
    non_null = series.dropna()
    if len(non_null) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in non_null
    ):
        return pd.to_numeric(series)
    return series


def _plain_rows(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """The statement's rows as plain driver tuples: SQLAlchemy's Row objects cost about as
    much as the fetch itself on a week of predictions. Falls back to ``execute`` when the
    driver's parameter style is not one this handles."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    style = conn.dialect.paramstyle
    if style == "qmark" and compiled.positiontup is not None:
        args: Any = tuple(params[k] for k in compiled.positiontup)
    elif style == "pyformat":
        args = params
    else:
        return [tuple(r) for r in conn.execute(stmt).all()]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _predictions_series(preds: list[Any]) -> pd.Series:
    """Numbers as int64/float64 (pandas' own inference, no per-value check); anything else
    (booleans, strings, lists) as objects, exactly as before."""
    fast = pd.Series(preds)
    if fast.dtype.kind in "if":
        return fast
    return _numeric_if_possible(pd.Series(preds, dtype=object))


def _features_frame(rows: Sequence[Any], blobs: Mapping[str, bytes]) -> pd.DataFrame:
    """One frame of features in row order: runs of JSON rows decoded together, runs of rows
    of one Arrow batch taken from it (no per-row Python work)."""
    if not any(r[8] is not None for r in rows):
        return _records_frame(_decode_many([r[4] for r in rows]))
    pieces: list[pd.DataFrame] = []
    tables: dict[str, pa.Table] = {}
    for batch_id, run in itertools.groupby(rows, key=lambda r: r[8]):
        run_rows = list(run)
        if batch_id is None or batch_id not in blobs:  # JSON rows (or a batch pruned away)
            pieces.append(_records_frame(_decode_many([r[4] or "{}" for r in run_rows])))
            continue
        table = tables.get(batch_id)
        if table is None:
            table = tables[batch_id] = pa.ipc.open_stream(blobs[batch_id]).read_all()
        index = [r[9] for r in run_rows]
        if index != list(range(table.num_rows)):
            table = table.take(pa.array(index, type=pa.int64()))
        pieces.append(table.to_pandas())
    if len(pieces) == 1:
        return pieces[0]
    return pd.concat(pieces, ignore_index=True)


def rows_to_frame(rows: Sequence[Any], blobs: Mapping[str, bytes] | None = None
                  ) -> pd.DataFrame:
    """The frame :meth:`PredictionLog.read_frame` returns, from rows laid out as in
    :class:`LogRows` (in the order given). Raises ValueError or TypeError on a row whose
    features or prediction are not JSON."""
    # one list per column, each made where it is used (fewer alive at once than a transpose)
    ids = [r[0] for r in rows]
    preds = _decode_many([r[5] for r in rows])
    features = _features_frame(rows, blobs or {}) if rows else pd.DataFrame()
    rename = {c: f"feature_{c}" for c in features.columns if c in _RESERVED}
    if rename:
        features = features.rename(columns=rename)
    for col in features.columns:
        features[col] = _numeric_if_possible(features[col])
    head = pd.DataFrame(
        {
            "prediction_id": pd.Series(ids, dtype=object),
            "timestamp": pd.to_datetime(
                pd.Series([r[1] for r in rows], dtype="float64"), unit="s", utc=True
            ),
            "model_name": pd.Series([r[2] for r in rows], dtype=object),
            "model_version": pd.Series([r[3] for r in rows], dtype=object),
        }
    )
    tail = pd.DataFrame(
        {
            "prediction": _predictions_series(preds),
            "outcome": pd.Series([r[6] for r in rows], dtype="float64"),
            "outcome_timestamp": pd.to_datetime(
                pd.Series([r[7] for r in rows], dtype="float64"), unit="s", utc=True
            ),
        }
    )
    features.index = head.index
    return pd.concat([head, features, tail], axis=1)
