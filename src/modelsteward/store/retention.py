"""Export the prediction log to partitioned Parquet, and prune what is older than a cut-off.

Both are safe while ``steward serve`` writes: an export reads one (model, day) slice per
read transaction (a consistent snapshot of it), and a prune deletes in short transactions
of a few thousand rows, so the service's commits wait milliseconds, not minutes::

    >>> import tempfile, pathlib
    >>> from modelsteward.store import PredictionLog
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> log = PredictionLog(f"sqlite:///{tmp / 'p.db'}")
    >>> _ = log.log_predictions("churn", "3", [{"age": 41}], [0.8])
    >>> export_parquet(log, tmp / "out").rows
    1
    >>> prune(log, older_than=0.0, dry_run=True).predictions
    1
    >>> log.close()
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from modelsteward.errors import StoreError
from modelsteward.store._schema import feature_batches, outcomes, predictions
from modelsteward.store.prediction_log import PredictionLog, _db_error, to_epoch

__all__ = ["ExportResult", "PruneResult", "export_parquet", "parse_age", "prune"]

_DAY = 86_400.0
_PRUNE_CHUNK = 500  # predictions deleted per transaction (one IN list)
_PARTITION_KEYS = ("model", "version", "date")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3_600.0, "d": _DAY, "w": 7 * _DAY}


def parse_age(text: str) -> float:
    """Seconds in an age such as ``180d``, ``12h``, ``2w``, ``90m`` or ``30s``.

    >>> parse_age("180d") == 180 * 86400, parse_age("1.5h")
    (True, 5400.0)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(text).lower())
    if match is None:
        raise StoreError(f"age {text!r} is not understood; write a number and a unit, "
                         "e.g. 180d, 12h, 2w, 90m or 30s")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: rows, the files, and the (model, version, date) partitions."""

    directory: str
    rows: int
    files: tuple[str, ...]
    partitions: tuple[tuple[str, str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PruneResult:
    """Predictions (and outcomes) deleted, or that would be with ``dry_run``."""

    cutoff: float
    predictions: int
    outcomes: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _models(log: PredictionLog, model_name: str | None) -> list[str]:
    if model_name is not None:
        return [model_name]
    with log._engine.connect() as conn:
        return sorted(set(conn.execute(select(predictions.c.model_name).distinct()).scalars())
                      | set(conn.execute(select(feature_batches.c.model_name).distinct())
                            .scalars()))


def _span(log: PredictionLog, model: str, lo: float | None, hi: float | None
          ) -> tuple[float, float] | None:
    """First and last time of the model's predictions in ``[lo, hi)``: its rows and its
    batches stored as one row (their rows share the batch's time)."""
    spans: list[float] = []
    for table in (predictions, feature_batches):
        stmt = select(func.min(table.c.ts), func.max(table.c.ts)).where(
            table.c.model_name == model)
        if lo is not None:
            stmt = stmt.where(table.c.ts >= lo)
        if hi is not None:
            stmt = stmt.where(table.c.ts < hi)
        with log._engine.connect() as conn:
            first, last = conn.execute(stmt).one()
        if first is not None:
            spans += [float(first), float(last)]
    return (min(spans), max(spans)) if spans else None


def export_parquet(
    log: PredictionLog,
    to: str | Path,
    *,
    since: Any = None,
    until: Any = None,
    model_name: str | None = None,
) -> ExportResult:
    """Write predictions in ``[since, until)`` as Parquet under ``to``, partitioned Hive style.

    Layout: ``model=<name>/version=<v>/date=<YYYY-MM-DD>/part-<uuid>.parquet`` (UTC days;
    names URL-encoded as Spark writes them). Columns: ``prediction_id``, ``timestamp``
    (UTC, microseconds), the features, ``prediction``, ``outcome``, ``outcome_timestamp``;
    model, version and date come from the directories (``pyarrow.dataset`` with
    ``partitioning="hive"``, ``spark.read.parquet``). Exporting a day again replaces that
    day's files, so a re-run never duplicates rows. Predictions still being written (newer
    than the moment of the export) may be missing: export windows that have ended.
    """
    lo, hi = to_epoch(since, "since"), to_epoch(until, "until")
    if lo is not None and hi is not None and hi <= lo:
        raise StoreError(f"--until ({until}) is not after --since ({since}); nothing to export")
    root = Path(to)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create export directory {root}: {exc}") from exc
    files: list[str] = []
    parts: list[tuple[str, str, str]] = []
    rows = 0
    part_schema = pa.schema([("model", pa.string()), ("version", pa.string()),
                             ("date", pa.string())])
    for model in _models(log, model_name):
        span = _span(log, model, lo, hi)
        if span is None:
            continue
        day = math.floor(span[0] / _DAY) * _DAY
        while day <= span[1]:
            start = day if lo is None else max(day, lo)
            end = day + _DAY if hi is None else min(day + _DAY, hi)
            frame = log.read_frame(model, since=start, until=end)
            day_text = dt.datetime.fromtimestamp(day, dt.UTC).date().isoformat()
            day += _DAY
            if frame.empty:
                continue
            # a feature named like a partition key keeps its values as feature_<name>
            frame = frame.rename(columns={c: f"feature_{c}" for c in _PARTITION_KEYS
                                          if c in frame.columns})
            frame = frame.drop(columns=["model_name"]).rename(
                columns={"model_version": "version"})
            frame.insert(0, "model", model)
            frame["date"] = day_text
            table = pa.Table.from_pandas(frame, preserve_index=False)
            # microseconds (what Spark reads); the log's float-second times carry digits
            # below a microsecond, which this cast drops on purpose
            table = table.cast(pa.schema([
                pa.field(f.name, pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type)
                else f for f in table.schema]), safe=False)
            written: list[str] = []
            try:
                ds.write_dataset(
                    table, root, format="parquet",
                    partitioning=ds.partitioning(part_schema, flavor="hive"),
                    basename_template=f"part-{uuid.uuid4().hex}-{{i}}.parquet",
                    existing_data_behavior="delete_matching",
                    file_visitor=lambda f, out=written: out.append(f.path))
            except (OSError, pa.ArrowException) as exc:
                raise StoreError(f"cannot write Parquet under {root}: {exc}") from exc
            files.extend(written)
            rows += len(frame)
            for version in sorted(frame["version"].astype(str).unique()):
                parts.append((model, version, day_text))
    return ExportResult(str(root), rows, tuple(sorted(files)), tuple(parts))


def prune(
    log: PredictionLog,
    *,
    older_than: float,
    dry_run: bool = False,
    now: float | None = None,
) -> PruneResult:
    """Delete predictions logged more than ``older_than`` seconds ago, with their outcomes.

    Deletes in transactions of a few thousand predictions, model by model (through the
    ``(model_name, ts)`` index), so a running service keeps committing in between.
    ``dry_run`` counts and deletes nothing. SQLite reuses the freed pages; the file shrinks
    only with ``VACUUM``.
    """
    if not math.isfinite(older_than) or older_than < 0:
        raise StoreError(f"older_than={older_than!r} is not a non-negative number of seconds")
    cutoff = (time.time() if now is None else now) - older_than
    p, o, fb = predictions, outcomes, feature_batches
    n_pred = n_out = 0
    try:
        for model in _models(log, None):
            old = (p.c.model_name == model) & (p.c.ts < cutoff)
            if dry_run:
                with log._engine.connect() as conn:
                    n_pred += int(conn.execute(
                        select(func.count()).select_from(p).where(old)).scalar_one())
                    n_out += int(conn.execute(
                        select(func.count()).select_from(p.join(o, o.c.prediction_id == p.c.id))
                        .where(old)).scalar_one())
                    old_fb = (fb.c.model_name == model) & (fb.c.ts < cutoff)
                    n_pred += int(conn.execute(
                        select(func.coalesce(func.sum(fb.c.n_rows), 0))
                        .where(old_fb & fb.c.predictions.is_not(None))).scalar_one())
                    n_out += int(conn.execute(
                        select(func.count()).select_from(fb.join(o, o.c.batch_id == fb.c.id))
                        .where(old_fb)).scalar_one())
                continue
            while True:
                with log._writer_engine.begin() as conn:
                    ids = list(conn.execute(select(p.c.id).where(old).limit(_PRUNE_CHUNK))
                               .scalars())
                    if not ids:
                        break
                    n_out += conn.execute(delete(o).where(o.c.prediction_id.in_(ids))).rowcount
                    n_pred += conn.execute(delete(p).where(p.c.id.in_(ids))).rowcount
                if len(ids) < _PRUNE_CHUNK:
                    break
            # the Arrow feature batches of those predictions (a batch shares its rows' time),
            # with the rows and outcomes of the batches stored as one row (schema 3)
            while True:
                with log._writer_engine.begin() as conn:
                    found = conn.execute(select(
                        fb.c.id, fb.c.n_rows, fb.c.predictions.is_not(None)).where(
                        (fb.c.model_name == model) & (fb.c.ts < cutoff)).limit(_PRUNE_CHUNK)
                    ).all()
                    ids = [r[0] for r in found]
                    if ids:
                        n_out += conn.execute(delete(o).where(o.c.batch_id.in_(ids))).rowcount
                        n_pred += sum(int(n) for _, n, whole in found if whole)
                        conn.execute(delete(fb).where(fb.c.id.in_(ids)))
                if len(ids) < _PRUNE_CHUNK:
                    break
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot prune the prediction log {log._safe_url()}: "
                         f"{_db_error(exc)}") from exc
    return PruneResult(cutoff, n_pred, n_out, dry_run)
