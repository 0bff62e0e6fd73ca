"""Reading production data for the monitor: frames, CSV/Parquet files and globs, the
prediction log.

    >>> import pandas as pd
    >>> read_production(pd.DataFrame({"x": [1, 2]}), "m").shape
    (2, 1)
"""

from __future__ import annotations

import glob
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.errors import DataError, EmptyDataError, UnsupportedInputError

__all__ = ["LOG_URL_PREFIXES", "SKIP_COLUMN", "attach_outcomes", "is_log_url",
           "read_production"]

LOG_URL_PREFIXES = ("sqlite:", "postgresql:", "postgresql+", "postgres:", "mysql")
#: Column of a production frame naming why a row cannot be used (None when it can).
SKIP_COLUMN = "__steward_skip__"


def is_log_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(LOG_URL_PREFIXES)


def _read_file(path: Path) -> pd.DataFrame:
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow.ArrowInvalid, OSError: not a Parquet file
            raise DataError(f"cannot read {path} as Parquet ({_first_line(exc)}); check that "
                            "the file is complete and really Parquet") from None
    if suffix.endswith((".csv", ".csv.gz", ".tsv")):
        if path.stat().st_size == 0:
            raise EmptyDataError(f"{path} is empty (0 bytes); pass a CSV file with a header row "
                                 "and data")
        try:
            return pd.read_csv(path, sep="\t" if suffix.endswith(".tsv") else ",")
        except pd.errors.EmptyDataError:
            raise EmptyDataError(f"{path} has no columns; pass a CSV file with a header row "
                                 "and data") from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
            raise DataError(f"cannot read {path} as CSV ({_first_line(exc)}); check the file "
                            "(text, comma separated, one header row)") from None
    raise UnsupportedInputError(
        f"{path} is neither CSV nor Parquet; convert it or pass a DataFrame")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _expand(paths: Sequence[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        text = str(p)
        matches = sorted(glob.glob(text)) if any(c in text for c in "*?[") else [text]
        if not matches:
            raise DataError(f"no file matches {text!r}; check the path or the glob pattern")
        for m in matches:
            path = Path(m)
            if path.is_dir():
                out += sorted(x for x in path.iterdir() if x.suffix.lower() in (".csv", ".parquet"))
            elif not path.exists():
                raise DataError(f"file {m} does not exist; check the path")
            else:
                out.append(path)
    if not out:
        raise EmptyDataError("no CSV or Parquet files found; check the path")
    return out


def read_production(data: Any, model_name: str, *, since: Any = None,
                    until: Any = None) -> pd.DataFrame:
    """A pandas frame of production rows from any supported source.

    ``data`` may be a pandas/polars DataFrame, a pyarrow Table, a dict of arrays, a path or
    glob (or list of them) to CSV/Parquet files, or a prediction-log URL
    (``sqlite:///...``, ``postgresql://...``) read with ``PredictionLog.read_frame``.
    """
    if isinstance(data, pd.DataFrame):
        return data
    if is_log_url(data):
        return read_log(str(data), model_name, since=since, until=until)
    if isinstance(data, (str, Path)):
        files = _expand([data])
    elif isinstance(data, Sequence) and data and all(isinstance(x, (str, Path)) for x in data):
        files = _expand(list(data))
    elif hasattr(data, "to_pandas"):  # polars, pyarrow
        return data.to_pandas()
    elif isinstance(data, Mapping):
        try:
            return pd.DataFrame({k: np.asarray(v) for k, v in data.items()})
        except ValueError as exc:
            raise DataError(f"columns have different lengths ({exc}); align them") from exc
    else:
        raise UnsupportedInputError(
            f"cannot read production data of type {type(data).__name__}; pass a DataFrame, "
            "CSV/Parquet path(s) or glob, or a prediction-log URL"
        )
    return pd.concat([_read_file(f) for f in files], ignore_index=True)


def read_log(url: str, model_name: str, *, since: Any = None,
             until: Any = None) -> pd.DataFrame:
    """The prediction log as a frame; rows it cannot decode are kept and marked.

    The store's fast reader fails on a single corrupt row (features that are not JSON, an
    outcome stored as text); then the rows are decoded one by one: a row whose features
    cannot be decoded gets a reason in :data:`SKIP_COLUMN`, a raw outcome is kept as it is
    (the monitor judges it), and a row without a readable time is dropped and counted.
    """
    from modelsteward.store import PredictionLog

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
    import sqlite3
    from urllib.parse import quote

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
    from modelsteward.store.prediction_log import rows_to_frame, to_epoch

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
