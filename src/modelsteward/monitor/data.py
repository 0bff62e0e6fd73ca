"""Reading production data for the monitor: frames, CSV/Parquet files and globs (read by
:func:`modelsteward.io.read_table`, the one file reader), the prediction log.

    >>> import pandas as pd
    >>> read_production(pd.DataFrame({"x": [1, 2]}), "m").shape
    (2, 1)
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from modelsteward._types import DataLike
from modelsteward.errors import DataError, UnsupportedInputError
from modelsteward.io import Source, is_dataset_source, read_table
from modelsteward.store import PredictionLog
from modelsteward.store.prediction_log import rows_to_frame, to_epoch

__all__ = ["LOG_URL_PREFIXES", "SKIP_COLUMN", "attach_outcomes", "is_log_url",
           "read_production"]

LOG_URL_PREFIXES = ("sqlite:", "postgresql:", "postgresql+", "postgres:", "mysql")
#: Column of a production frame naming why a row cannot be used (None when it can).
SKIP_COLUMN = "__steward_skip__"


def is_log_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(LOG_URL_PREFIXES)


def read_production(data: DataLike | Source, model_name: str, *, since: Any = None,
                    until: Any = None) -> pd.DataFrame:
    """A pandas frame of production rows from any supported source.

    ``data`` may be a pandas/polars DataFrame, a pyarrow Table, a dict of arrays, a path,
    directory or glob (or list of them) to CSV/Parquet files (read by
    :func:`modelsteward.io.read_table`: its null semantics and errors), or a prediction-log
    URL (``sqlite:///...``, ``postgresql://...``) read with ``PredictionLog.read_frame``.
    """
    if isinstance(data, pd.DataFrame):
        return data
    if is_log_url(data):
        return read_log(str(data), model_name, since=since, until=until)
    if is_dataset_source(data):
        return read_table(data).to_pandas()
    if hasattr(data, "to_pandas"):  # polars, pyarrow
        return data.to_pandas()
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame({k: np.asarray(v) for k, v in data.items()})
        except ValueError as exc:
            raise DataError(f"columns have different lengths ({exc}); align them") from exc
    raise UnsupportedInputError(
        f"cannot read production data of type {type(data).__name__}; pass a DataFrame, "
        "CSV/Parquet path(s) or glob, or a prediction-log URL"
    )


def read_log(url: str, model_name: str, *, since: Any = None,
             until: Any = None) -> pd.DataFrame:
    """The prediction log as a frame; rows it cannot decode are kept and marked.

    The store's fast reader fails on a single corrupt row (features that are not JSON, an
    outcome stored as text); then the rows are decoded one by one: a row whose features
    cannot be decoded gets a reason in :data:`SKIP_COLUMN`, a raw outcome is kept as it is
    (the monitor judges it), and a row without a readable time is dropped and counted.
    """
    _check_sqlite_log(url)
    log = PredictionLog(url)
    try:
        return log.read_frame(model_name, since=since, until=until)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return _read_log_tolerant(log, model_name, since=since, until=until)
    finally:
        log.close()


def _check_sqlite_log(url: str) -> None:
    """Reading must not create a database, nor tables in someone else's: a SQLite log must
    exist and hold the prediction log's tables (checked read-only)."""
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    if str(path) in ("", ":memory:"):
        return
    if not path.is_file():
        raise DataError(f"prediction log {path} does not exist; check the path (steward serve "
                        "creates it on its first prediction)")
    try:
        con = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path} is not a SQLite database ({exc}); pass the prediction log "
                        "that steward serve writes") from None
    if not {"predictions", "outcomes"} <= tables:
        raise DataError(f"{path} is not a modelsteward prediction log (no predictions table); "
                        "pass the log that steward serve writes")


def _read_log_tolerant(log: Any, model_name: str, *, since: Any,
                       until: Any) -> pd.DataFrame:
    lo, hi = to_epoch(since, "since"), to_epoch(until, "until")
    # every row of the model: a row whose time is unreadable is counted, not silently missed
    read = log.read_rows(model_name, ordered=False)
    raw, blobs = read.rows, read.blobs
    rows: list[tuple[Any, ...]] = []
    reasons: list[str | None] = []
    raw_outcomes: list[Any] = []
    bad_time = 0
    for r in raw:
        ts, outcome_ts = _as_float(r[1]), _as_float(r[7])
        if ts is None:
            bad_time += 1
            continue
        if (lo is not None and ts < lo) or (hi is not None and ts >= hi):
            continue
        reason = None
        features, prediction = r[4], r[5]
        if r[8] is None:  # features as JSON on the row (batched rows: in the Arrow block)
            try:
                decoded = json.loads(features)
                if not isinstance(decoded, dict):
                    raise TypeError("not an object")
            except (TypeError, ValueError, RecursionError):
                features, reason = "{}", "undecodable features JSON"
        try:
            json.loads(prediction)
        except (TypeError, ValueError, RecursionError):
            prediction = "null"
            reason = reason or "undecodable prediction JSON"
        rows.append((r[0], ts, r[2], r[3], features, prediction, None, outcome_ts, r[8], r[9]))
        reasons.append(reason)
        raw_outcomes.append(r[6])
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], str(rows[i][0])))
    rows = [rows[i] for i in order]
    frame = rows_to_frame(rows, blobs)
    frame["outcome"] = pd.Series([raw_outcomes[i] for i in order], dtype=object)
    frame[SKIP_COLUMN] = pd.Series([reasons[i] for i in order], dtype=object)
    if bad_time:
        frame.attrs["skipped_unplaced"] = {"unreadable timestamp": bad_time}
    return frame


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def attach_outcomes(frame: pd.DataFrame, outcomes: Any, column: str) -> pd.DataFrame:
    """Return ``frame`` with an outcome column named ``column``.

    ``outcomes`` may be None (use ``frame[column]`` if present), a column name, an array
    aligned with the rows, or a mapping / frame keyed by ``prediction_id``.
    """
    if outcomes is None:
        return frame
    if isinstance(outcomes, str):
        if outcomes not in frame.columns:
            raise DataError(f"outcome column {outcomes!r} is not in the data; "
                            f"columns are {', '.join(map(str, frame.columns[:20]))}")
        return frame.assign(**{column: frame[outcomes]})  # the monitor reads the values
    if isinstance(outcomes, pd.DataFrame) or isinstance(outcomes, Mapping):
        if "prediction_id" not in frame.columns:
            raise DataError("outcomes keyed by prediction_id need a prediction_id column in the "
                            "data; pass an aligned array instead")
        if isinstance(outcomes, pd.DataFrame):
            if not {"prediction_id", "outcome"} <= set(outcomes.columns):
                raise DataError("an outcomes frame needs columns prediction_id and outcome")
            mapping = dict(zip(outcomes["prediction_id"].astype(str), outcomes["outcome"],
                               strict=True))
        else:
            mapping = {str(k): v for k, v in outcomes.items()}
        values = frame["prediction_id"].astype(str).map(mapping)
        return frame.assign(**{column: values})
    arr = np.asarray(outcomes, dtype=object if not _all_numbers(outcomes) else float)
    if arr.shape != (len(frame),):
        raise DataError(f"outcomes has {arr.size} values but the data has {len(frame)} rows; "
                        "they must align")
    return frame.assign(**{column: arr})


def _all_numbers(values: Any) -> bool:
    try:
        np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return False
    return True
